"""HashedMLPRegressor: its targets (standardized for the squared error),
output activation, loss and predictions."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import BaseHashedMLP
from ._docstrings import ATTRIBUTES, PARAMETERS
from ._errors import StateError
from ._network import HEADS, heads_of


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


def _unscale(raw, mean, scale):
    """Regression predictions on the original target scale."""
    pred = (raw * scale + mean).astype(raw.dtype, copy=False)
    return pred.ravel() if pred.shape[1] == 1 else pred
