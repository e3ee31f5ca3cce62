"""HashedMLPClassifier: its targets (labels, classes, a teacher's
probabilities), output activation, loss and predictions."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseHashedMLP
from ._docstrings import ATTRIBUTES, PARAMETERS
from ._errors import StateError
from ._network import HEADS, Distillation


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
