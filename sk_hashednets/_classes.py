"""HashedMLPClassifier and HashedMLPRegressor: output activation, loss and targets."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseHashedMLP
from ._docstrings import ATTRIBUTES, PARAMETERS
from ._network import HEADS, Distillation, heads_of
from ._persistence import StateError


class HashedMLPClassifier(ClassifierMixin, BaseHashedMLP):
    # Saved models (pickle, joblib, skops) name a class by its module: the
    # public one keeps them loadable whatever private module the class moves to.
    __module__ = "sk_hashednets"
    __doc__ = (
        """HashedNets multi-layer perceptron classifier.

    A multi-layer perceptron whose weight matrices are virtual: connection
    ``(i, j)`` of a layer reads ``xi(i, j) * w[h(i, j)]`` from a small vector
    of hash buckets ``w`` (Chen et al., "Compressing Neural Networks with the
    Hashing Trick", ICML 2015). Trained with Adam or momentum SGD on the
    log-loss: softmax for multiclass targets, logistic for binary and
    multilabel ones.
"""
        + PARAMETERS
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.
"""
        + ATTRIBUTES.format(out_activation="'softmax' or 'logistic'")
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_hashednets import HashedMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), HashedMLPClassifier(
    ...     hidden_layer_sizes=(256,), compression=1/8, max_iter=20,
    ...     random_state=0)).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
"""
    )

    _parameter_constraints: dict = {
        **BaseHashedMLP._parameter_constraints,
        "teacher": [None, HasMethods(["fit", "predict_proba"])],
        "distillation_temperature": [Interval(Real, 0, None, closed="neither")],
        "distillation_weight": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        compression=1 / 8,
        n_buckets=None,
        method="hashing",
        quantize=None,
        dropout=0.0,
        input_dropout=0.0,
        alpha=1e-4,
        batch_size="auto",
        solver="adam",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        learning_rate_decay=1e-4,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_grad_norm=100.0,
        rescale_grad=False,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_fun=15000,
        teacher=None,
        distillation_temperature=4.0,
        distillation_weight=0.5,
    ):
        super().__init__(
            hidden_layer_sizes, activation, compression=compression,
            n_buckets=n_buckets, method=method, quantize=quantize, dropout=dropout,
            input_dropout=input_dropout, alpha=alpha, batch_size=batch_size,
            solver=solver, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            learning_rate_decay=learning_rate_decay,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            max_grad_norm=max_grad_norm, rescale_grad=rescale_grad,
            max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun,
        )
        self.teacher = teacher
        self.distillation_temperature = distillation_temperature
        self.distillation_weight = distillation_weight

    # -- targets ---------------------------------------------------------
    def _prepare_targets(self, y, first_pass, classes, sample_weight):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y_type = type_of_target(y, input_name="y")
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"Unknown label type: {y_type}. HashedMLPClassifier supports "
                "binary, multiclass and multilabel-indicator targets; use "
                "HashedMLPRegressor for continuous targets."
            )
        multilabel = y_type == "multilabel-indicator"
        if first_pass:
            if multilabel:
                labels = np.arange(y.shape[1])
            elif classes is not None:
                labels = np.unique(np.asarray(classes))
            else:
                labels = unique_labels(y)
            # a single class is fitted as MLPClassifier does: a binary model
            # that always predicts it
            y_type = "multilabel-indicator" if multilabel else (
                "binary" if len(labels) <= 2 else "multiclass")
            state = {"classes_": labels, "_y_type": y_type}
        else:
            labels, state = self.classes_, {}
            if (self._y_type == "multilabel-indicator") != multilabel:
                raise ValueError(
                    f"y is {y_type} but the model was fitted on {self._y_type} "
                    "targets."
                )
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), labels
            ):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to "
                    f"partial_fit, which was {labels!r}."
                )
            if self.warm_start and classes is None and not multilabel:
                seen = unique_labels(y)
                if set(seen) != set(labels):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes "
                        f"as in the previous call to fit. Previously got {labels}, "
                        f"`y` has {seen}."
                    )
        if multilabel:
            if y.shape[1] != len(labels):
                raise ValueError(
                    f"y has {y.shape[1]} labels but the model was fitted with "
                    f"{len(labels)}."
                )
            return (y.toarray() if sp.issparse(y) else np.asarray(y)), state
        unseen = np.setdiff1d(unique_labels(y), labels)
        if len(unseen):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{labels}. 'y' has {unique_labels(y)}; unseen: {unseen}."
            )
        codes = np.searchsorted(labels, y)
        if len(labels) == 1:  # the only class is certain
            return np.ones((len(y), 1)), state
        if len(labels) == 2:
            return (codes == 1).astype(np.float64)[:, None], state
        return (codes[:, None] == np.arange(len(labels))).astype(np.float64), state

    def _out_activation(self, target_state):
        return "softmax" if target_state["_y_type"] == "multiclass" else "logistic"

    @classmethod
    def _check_target_state(cls, state):
        y_type, classes = state.get("_y_type"), state.get("classes_")
        n_out, act = state["n_outputs_"], state.get("out_activation_")
        n_classes = (len(classes) if isinstance(classes, np.ndarray)
                     and classes.ndim == 1 else None)
        expected = {"binary": (n_classes if n_classes == 1 else 2, 1, "logistic"),
                    "multiclass": (n_out, max(n_out, 3), "softmax"),
                    "multilabel-indicator": (n_out, n_out, "logistic")}
        if expected.get(y_type) != (n_classes, n_out, act):
            raise StateError(
                f"its targets (_y_type={y_type!r}, classes_={classes!r}, "
                f"out_activation_={act!r}) disagree with its {n_out} output "
                "unit(s)."
            )

    # -- dark knowledge --------------------------------------------------
    def _training_targets(self, X, y, Y, incremental, target_state):
        if self.teacher is None:
            return Y
        y_type = target_state.get("_y_type", getattr(self, "_y_type", None))
        classes = target_state.get("classes_", getattr(self, "classes_", None))
        if y_type == "multilabel-indicator":
            raise ValueError(
                "teacher is supported for binary and multiclass targets, not "
                "multilabel ones."
            )
        teacher = self.teacher
        try:
            check_is_fitted(teacher)
        except NotFittedError:
            if incremental:
                raise ValueError(
                    "partial_fit needs a fitted teacher; fit the teacher first "
                    "(fit, unlike partial_fit, fits an unfitted teacher itself)."
                ) from None
            teacher = clone(teacher).fit(X, y)
        proba = np.asarray(teacher.predict_proba(X), dtype=np.float64)
        teacher_classes = np.asarray(getattr(teacher, "classes_", []))
        if set(teacher_classes.tolist()) != set(classes.tolist()):
            raise ValueError(
                f"The teacher's classes {teacher_classes} differ from the classes "
                f"of y {classes}; train the teacher on the same labels."
            )
        order = np.argsort(teacher_classes)
        proba = proba[:, order[np.searchsorted(teacher_classes, classes, sorter=order)]]
        soft = proba ** (1.0 / self.distillation_temperature)
        soft /= soft.sum(axis=1, keepdims=True)
        if y_type == "binary":
            soft = soft[:, 1:]
        return np.hstack([Y, soft.astype(Y.dtype)])

    def _make_loss(self, out_activation):
        loss = super()._make_loss(out_activation)
        if self.teacher is None:
            return loss
        return Distillation(loss, self.distillation_temperature,
                            self.distillation_weight)

    _target_attributes = ("classes_", "_y_type")

    def _split_stratify(self, y):
        # As MLPClassifier, stratify single-output targets, not multilabel
        # ones. A binary y is stratified as MLPClassifier's binarized one, a
        # column of bools: the same split as on the labels, and the errors of
        # a split that cannot be stratified name the classes as it does.
        y_type = type_of_target(y)
        if y_type == "binary":
            return (np.ravel(y) == unique_labels(y)[-1])[:, None]
        return y if y_type == "multiclass" else None

    def _validation_score(self, raw, y, sample_weight, targets):
        labels = _labels(raw, targets["_y_type"], targets["classes_"])
        return accuracy_score(y, labels, sample_weight=sample_weight)

    # -- public API ------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. float32 input trains in float32; sparse CSR/CSC
            input is never densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or a label indicator matrix for multilabel problems.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : object
            Trained classifier.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one pass over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        classes : array of shape (n_classes,), default=None
            All the classes that can appear in any call. Required on the first
            call (unless y is a label indicator matrix); may be omitted later.

        Returns
        -------
        self : object
            Trained classifier.
        """
        if not hasattr(self, "classes_") and classes is None:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X):
        """Predict class labels for X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        return _labels(self._forward(X), self._y_type, self.classes_)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, in the order of ``classes_``. Binary problems
            get two columns; multilabel problems one probability per label.
        """
        raw = self._forward(X)
        if len(self.classes_) == 1:  # fitted on a single class
            return np.ones_like(raw)
        proba = HEADS[self.out_activation_].link(raw)
        if self._y_type == "binary":
            proba = proba.ravel()
            return np.vstack([1 - proba, proba]).T
        return proba

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class HashedMLPRegressor(RegressorMixin, BaseHashedMLP):
    # Saved models (pickle, joblib, skops) name a class by its module: the
    # public one keeps them loadable whatever private module the class moves to.
    __module__ = "sk_hashednets"
    __doc__ = (
        """HashedNets multi-layer perceptron regressor.

    The regressor of the :class:`HashedMLPClassifier` family: hashed virtual
    weights, Adam or momentum SGD, single or multiple outputs, the squared
    error or (for counts) the Poisson loss.

    With ``loss='squared_error'`` the targets are standardized internally
    (``target_mean_``, ``target_scale_``), so raw, unscaled targets train
    well; ``predict`` returns values on the original scale, while ``loss_``
    and ``loss_curve_`` are on the standardized scale. With ``loss='poisson'``
    the targets must be non-negative and are used as they are (shifting them
    would break that, and the log link already adapts to their scale:
    ``target_mean_`` is 0 and ``target_scale_`` 1); ``predict`` returns
    ``exp`` of the output layer, and ``loss_`` is the half Poisson deviance,
    as in :class:`~sklearn.neural_network.MLPRegressor`.
"""
        + PARAMETERS
        + """
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss: half the squared error with an identity output, or half
        the Poisson deviance with an exponential output (log link), for
        non-negative targets such as counts.

    Attributes
    ----------
    target_mean_ : ndarray of shape (`n_outputs_`,)
        Mean of the training targets (0 with ``loss='poisson'``).

    target_scale_ : ndarray of shape (`n_outputs_`,)
        Standard deviation of the training targets (1 where it is 0, and
        with ``loss='poisson'``).
"""
        + ATTRIBUTES.format(out_activation="'identity' or 'exp'")
        + """
    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sk_hashednets import HashedMLPRegressor
    >>> X, y = make_friedman1(n_samples=1000, random_state=0)
    >>> reg = HashedMLPRegressor(hidden_layer_sizes=(64,), max_iter=50,
    ...                          random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.8
    True
"""
    )

    _parameter_constraints: dict = {
        **BaseHashedMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        compression=1 / 8,
        n_buckets=None,
        method="hashing",
        quantize=None,
        dropout=0.0,
        input_dropout=0.0,
        alpha=1e-4,
        batch_size="auto",
        solver="adam",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        learning_rate_decay=1e-4,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_grad_norm=100.0,
        rescale_grad=False,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_fun=15000,
        loss="squared_error",
    ):
        super().__init__(
            hidden_layer_sizes, activation, compression=compression,
            n_buckets=n_buckets, method=method, quantize=quantize, dropout=dropout,
            input_dropout=input_dropout, alpha=alpha, batch_size=batch_size,
            solver=solver, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            learning_rate_decay=learning_rate_decay,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            max_grad_norm=max_grad_norm, rescale_grad=rescale_grad,
            max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun,
        )
        self.loss = loss

    def _prepare_targets(self, y, first_pass, classes, sample_weight):
        if np.iscomplexobj(y):
            raise ValueError("Complex data not supported: y is complex.")
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"HashedMLPRegressor needs numeric targets, but y has dtype "
                f"{y.dtype}. Use HashedMLPClassifier for class labels."
            )
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        Y = Y.astype(np.float64)
        poisson = self.loss == "poisson"
        if poisson and not (Y >= 0).all():
            raise ValueError(
                "loss='poisson' needs non-negative targets (counts or rates), "
                f"but y has values down to {Y.min():g}. Use "
                "loss='squared_error' for targets that can be negative."
            )
        if not first_pass and self._out_activation({}) != self.out_activation_:
            raise ValueError(
                f"The model was fitted with out_activation_="
                f"{self.out_activation_!r}, but loss={self.loss!r} asks for "
                f"{self._out_activation({})!r}. Set warm_start=False (or call fit "
                "instead of partial_fit) to start over with the new loss."
            )
        if first_pass and poisson:  # exp(z) must meet the counts as they are
            ones = np.ones(Y.shape[1])
            state = {"target_mean_": 0 * ones, "target_scale_": ones}
            return Y, state
        if first_pass:
            mean = np.average(Y, axis=0, weights=sample_weight)
            scale = np.sqrt(np.average((Y - mean) ** 2, axis=0, weights=sample_weight))
            scale[~(scale > 0)] = 1.0
            state = {"target_mean_": mean, "target_scale_": scale}
        else:
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y has {Y.shape[1]} outputs but the model was fitted with "
                    f"{self.n_outputs_}."
                )
            mean, scale, state = self.target_mean_, self.target_scale_, {}
        return (Y - mean) / scale, state

    def _out_activation(self, target_state):
        return "exp" if self.loss == "poisson" else "identity"

    @classmethod
    def _check_target_state(cls, state):
        shape = (state["n_outputs_"],)
        for name in cls._target_attributes:
            value = state.get(name)
            if not (isinstance(value, np.ndarray) and value.shape == shape
                    and value.dtype == np.float64):
                raise StateError(f"{name} must be a float64 ndarray of shape "
                                 f"{shape}, got {value!r}.")
        heads = heads_of("regressor")
        if state.get("out_activation_") not in heads:
            raise StateError(f"out_activation_ must be one of {heads}, got "
                             f"{state.get('out_activation_')!r}.")

    _target_attributes = ("target_mean_", "target_scale_")

    def _validation_score(self, raw, y, sample_weight, targets):
        pred = _unscale(HEADS[self._out_activation(targets)].link(raw),
                        targets["target_mean_"],
                        targets["target_scale_"])
        return r2_score(y, pred, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. float32 input trains in float32; sparse CSR/CSC
            input is never densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets, on any scale.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : object
            Trained regressor.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one pass over the given data.

        The target scaling is fixed by the first call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : object
            Trained regressor.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the hashed multi-layer perceptron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        raw = self._forward(X)
        return _unscale(HEADS[self.out_activation_].link(raw), self.target_mean_,
                        self.target_scale_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _labels(raw, y_type, classes):
    """Predicted labels from the output layer's pre-activation."""
    if y_type == "multiclass":
        return classes[np.argmax(raw, axis=1)]
    positive = raw > 0  # probability above 0.5
    if y_type == "binary" and len(classes) == 1:
        return np.repeat(classes, len(raw))
    if y_type == "binary":
        return classes[positive[:, 0].astype(np.intp)]
    return positive.astype(int)


def _unscale(raw, mean, scale):
    """Regression predictions on the original target scale."""
    pred = (raw * scale + mean).astype(raw.dtype, copy=False)
    return pred.ravel() if pred.shape[1] == 1 else pred
