"""HashedMLPClassifier and HashedMLPRegressor: output activation, loss and targets."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseHashedMLP
from ._network import LOSSES, Distillation

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer: the
        width of the *virtual* network.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation of the hidden layers.

    compression : float in (0, 1], default=1/8
        Stored weights per virtual weight. Layer ``l`` stores
        ``K_l = max(1, round(compression * n_in * n_out))`` buckets. Ignored
        when ``n_buckets`` is given.

    n_buckets : int or array-like of int, default=None
        Number of buckets: one int for every layer, or one per weight layer
        (hidden layers plus output layer). Capped at the layer's
        ``n_in * n_out`` virtual weights. Overrides ``compression``.

    method : {'hashing', 'low_rank', 'random_edges', 'shrunk'}, default='hashing'
        How a layer stores its weights, at equal storage (the paper's
        comparisons). ``'hashing'``: HashedNets buckets. ``'low_rank'``: the
        paper's low-rank decomposition (Denil et al., 2013): one factor fixed
        (a random sign matrix recomputed from the layer's seed, never stored),
        the other learned along the layer's smaller side, of rank
        ``r = round(budget / min(n_in, n_out))``, between 1 and
        ``max(n_in, n_out)``. ``'random_edges'``: a fixed random subset of
        ``budget`` connections, chosen by a hash of the layer's seed and never
        stored. ``'shrunk'``: a dense network whose hidden widths are scaled
        down (by one common factor, rounded down) until its weights and biases
        fit the hashed network's storage.

    dropout : float in [0, 1), default=0.0
        Dropout probability on the hidden layers' outputs during training.
        Dropout is inverted (kept units are scaled by ``1 / (1 - p)``), so
        prediction needs no rescaling. Masks come from a counter-based hash
        of (seed, step, row, unit), so they never depend on threads.

    input_dropout : float in [0, 1), default=0.0
        Dropout probability on the input features during training.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the stored weights (the buckets), scaled
        per batch as in scikit-learn's MLP. Biases are not penalized.

    batch_size : int or 'auto', default='auto'
        Size of minibatches; ``'auto'`` means ``min(200, n_samples)``.

    solver : {'sgd', 'adam'}, default='sgd'
        ``'sgd'``: momentum SGD (``momentum``, ``nesterovs_momentum`` and the
        ``learning_rate`` schedule apply). ``'adam'``: Adam with scikit-learn's
        update (``beta_1``, ``beta_2``, ``epsilon``), which scales each stored
        weight's step by its own gradient history; it suits the unequal loads
        of hash buckets, and wants a smaller ``learning_rate_init`` (1e-3, as
        scikit-learn's default).

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of ``solver='sgd'``, with the meanings of
        scikit-learn's MLP:
        ``'invscaling'`` uses ``learning_rate_init / (t + 1) ** power_t`` after
        each epoch (``t`` counts samples); ``'adaptive'`` divides the rate by 5
        each time progress stalls for ``n_iter_no_change`` epochs, and stops
        once it falls below 1e-6.

    learning_rate_init : float, default=0.01
        Initial learning rate (step size) of the solver. The default suits
        ``solver='sgd'``; with ``solver='adam'`` use about 1e-3.

    power_t : float, default=0.5
        Exponent of the ``'invscaling'`` schedule.

    momentum : float in [0, 1], default=0.9
        Momentum of the SGD updates.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum.

    beta_1 : float in [0, 1), default=0.9
        Decay rate of Adam's first-moment estimate (``solver='adam'``).

    beta_2 : float in [0, 1), default=0.999
        Decay rate of Adam's second-moment estimate (``solver='adam'``).

    epsilon : float, default=1e-8
        Adam's numerical-stability constant (``solver='adam'``).

    max_grad_norm : float or None, default=10.0
        Global L2 norm above which a batch gradient (all stored weights and
        biases together) is scaled down to it before the solver's step; None
        never clips. Well-scaled data stay below the default: it acts on
        badly scaled input, where it turns a blow-up into slow progress and a
        warning (which says how many steps were clipped; ``n_clipped_steps_``
        keeps the count).

    rescale_grad : bool, default=False
        Divide each bucket's gradient by its load, the number of virtual
        weights that share it (the option of the HashedNets authors' code), so
        that a bucket's step no longer grows with ``1 / compression``. With
        ``method='random_edges'`` or ``'shrunk'`` every load is 1 and nothing
        changes; ``method='low_rank'`` refuses it.

    max_iter : int, default=200
        Maximum number of epochs.

    shuffle : bool, default=True
        Shuffle the samples at each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the hash functions, the weight initialization, the dropout masks,
        the shuffling and the validation split. Pass an int for identical
        ``buckets_`` on every refit.

    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch
        counts as no progress.

    verbose : bool or int, default=False
        ``fit`` prints one line per epoch: loss, validation score when early
        stopping, and time. ``partial_fit`` prints one line per call (a chunk
        of a stream), or per ``verbose`` calls when it is an int above 1: the
        rows seen so far, the chunk's loss and its rows per second, as in
        ``Chunk 12: 120000 rows seen, loss = 0.31415926, 5123 rows/s``.

    warm_start : bool, default=False
        Reuse the previous solution as the start of the next ``fit``.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when its
        score stops improving, and keep the parameters of the best epoch.

    validation_fraction : float in [0, 1), default=0.1
        Share of the training data held out when ``early_stopping`` is set.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping (or, with the
        ``'adaptive'`` schedule, before dividing the learning rate).
"""

_ATTRIBUTES = """
    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit; only when X has string feature names.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Output activation: {out_activation}.

    activation_ : str
        Hidden activation the model was fitted with.

    buckets_ : list of ndarray of shape (K_l,)
        The stored weights of each layer: the hash buckets.

    intercepts_ : list of ndarray of shape (n_out_l,)
        The dense biases of each layer.

    hash_seeds_ : ndarray of shape (n_layers_ - 1, 2), dtype uint32
        ``(seed_h, seed_xi)`` of each layer: the bucket hash and the sign hash
        seeds. With ``buckets_`` they define the virtual weights exactly (see
        the hash recipe in the README).

    coefs_ : list of ndarray of shape (n_in, n_out)
        The virtual weight matrices, built from the buckets when read.

    n_stored_params_ : int
        Stored parameters: buckets plus biases.

    n_virtual_params_ : int
        Parameters of the dense network with the same architecture.

    loss_ : float
        Training loss of the last epoch (L2 penalty included).

    loss_curve_ : list of float
        Training loss of each epoch.

    best_loss_ : float or None
        Lowest training loss; None with early stopping.

    validation_scores_ : list of float or None
        Validation score of each epoch with early stopping, else None.

    best_validation_score_ : float or None
        Best validation score with early stopping, else None.

    n_iter_ : int
        Number of epochs run.

    n_clipped_steps_ : int
        Steps of the last ``fit`` or ``partial_fit`` call whose gradient was
        clipped to ``max_grad_norm``.

    t_ : int
        Number of training samples seen.
"""


class HashedMLPClassifier(ClassifierMixin, BaseHashedMLP):
    __doc__ = (
        """HashedNets multi-layer perceptron classifier.

    A multi-layer perceptron whose weight matrices are virtual: connection
    ``(i, j)`` of a layer reads ``xi(i, j) * w[h(i, j)]`` from a small vector
    of hash buckets ``w`` (Chen et al., "Compressing Neural Networks with the
    Hashing Trick", ICML 2015). Trained with momentum SGD on the log-loss:
    softmax for multiclass targets, logistic for binary and multilabel ones.
"""
        + _PARAMETERS
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels.
"""
        + _ATTRIBUTES.format(out_activation="'softmax' or 'logistic'")
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
        dropout=0.0,
        input_dropout=0.0,
        alpha=1e-4,
        batch_size="auto",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=0.01,
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_grad_norm=10.0,
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
        teacher=None,
        distillation_temperature=4.0,
        distillation_weight=0.5,
    ):
        super().__init__(
            hidden_layer_sizes, activation, compression=compression,
            n_buckets=n_buckets, method=method, dropout=dropout,
            input_dropout=input_dropout, alpha=alpha, batch_size=batch_size,
            solver=solver, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            max_grad_norm=max_grad_norm, rescale_grad=rescale_grad,
            max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
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
            if not multilabel and len(labels) < 2:
                where = "the data contains" if classes is None else "classes has"
                raise ValueError(
                    "HashedMLPClassifier needs at least 2 classes, but "
                    f"{where} only one: {labels.tolist()}."
                )
            y_type = "multilabel-indicator" if multilabel else (
                "binary" if len(labels) == 2 else "multiclass")
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
        if len(labels) == 2:
            return (codes == 1).astype(np.float64)[:, None], state
        return (codes[:, None] == np.arange(len(labels))).astype(np.float64), state

    def _out_activation(self, target_state):
        return "softmax" if target_state["_y_type"] == "multiclass" else "logistic"

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

    def _split_stratify(self, y):
        return y if type_of_target(y) == "multiclass" else None

    def _validation_score(self, raw, y, sample_weight, state):
        labels = _labels(raw, state["_y_type"], state["classes_"])
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
        proba = LOSSES[self.out_activation_]().link(raw)
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
    __doc__ = (
        """HashedNets multi-layer perceptron regressor.

    The regressor of the :class:`HashedMLPClassifier` family: hashed virtual
    weights, momentum SGD, squared-error loss, single or multiple outputs.
    The targets are standardized internally (``target_mean_``,
    ``target_scale_``), so raw, unscaled targets train well; ``predict``
    returns values on the original scale, while ``loss_`` and
    ``loss_curve_`` are on the standardized scale.
"""
        + _PARAMETERS
        + """
    Attributes
    ----------
    target_mean_ : ndarray of shape (n_outputs_,)
        Mean of the training targets.

    target_scale_ : ndarray of shape (n_outputs_,)
        Standard deviation of the training targets (1 where it is 0).
"""
        + _ATTRIBUTES.format(out_activation="'identity'")
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
        return "identity"

    def _validation_score(self, raw, y, sample_weight, state):
        pred = _unscale(raw, state["target_mean_"], state["target_scale_"])
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
        return _unscale(self._forward(X), self.target_mean_, self.target_scale_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _labels(raw, y_type, classes):
    """Predicted labels from the output layer's pre-activation."""
    if y_type == "multiclass":
        return classes[np.argmax(raw, axis=1)]
    positive = raw > 0  # probability above 0.5
    if y_type == "binary":
        return classes[positive[:, 0].astype(np.intp)]
    return positive.astype(int)


def _unscale(raw, mean, scale):
    """Regression predictions on the original target scale."""
    pred = (raw * scale + mean).astype(raw.dtype, copy=False)
    return pred.ravel() if pred.shape[1] == 1 else pred
