"""BaseHashedMLP: parameters, validation, persistence and the public API of both
estimators; the epoch loop lives in ``_training``."""

import copy
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._budgets import check_rescalable, layer_budgets, plan_layers
from ._layers import METHODS, make_layer_once
from ._lbfgs import check_lbfgs_params, fit_lbfgs
from ._memory import check_trainable
from ._network import HEADS, forward
from ._optimizers import make_optimizer
from ._persistence import pack, unpack
from ._quantize import PRECISIONS, stored_bytes
from ._sklearn import to_sklearn
from ._threads import (
    PREDICT_MIN_WORK,
    blas_threads,
    training_threads,
    training_work,
)
from ._training import (
    TrainingState,
    batch_rows,
    fit_stochastic,
    split,
)


class BaseHashedMLP(BaseEstimator, metaclass=ABCMeta):
    """Base class for HashedNets multi-layer perceptrons.

    Warning: This class should not be used directly. Use derived classes
    instead.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "compression": [Interval(Real, 0, 1, closed="right")],
        "n_buckets": [None, Interval(Integral, 1, None, closed="left"), "array-like"],
        "method": [StrOptions(set(METHODS))],
        "quantize": [None, StrOptions(set(PRECISIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "solver": [StrOptions({"sgd", "adam", "lbfgs"})],
        "learning_rate": [
            StrOptions({"constant", "invscaling", "adaptive", "inverse_time"})
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "learning_rate_decay": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "rescale_grad": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.compression = compression
        self.n_buckets = n_buckets
        self.method = method
        self.quantize = quantize
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.alpha = alpha
        self.batch_size = batch_size
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.learning_rate_decay = learning_rate_decay
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_grad_norm = max_grad_norm
        self.rescale_grad = rescale_grad
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # ------------------------------------------------------------------
    # hooks for the subclasses
    # ------------------------------------------------------------------
    @abstractmethod
    def _prepare_targets(self, y, first_pass, classes, sample_weight):
        """Validate y; return ``(Y, target_state)``.

        ``Y`` holds the 2-D training targets. ``target_state`` holds the fitted
        attributes that describe the targets (classes, target scaling); it is
        committed with the rest of the model only when training succeeds.
        """

    @abstractmethod
    def _out_activation(self, target_state):
        """Output activation for the prepared targets: softmax, logistic or identity."""

    def _make_loss(self, out_activation):
        """The loss object for the output layer."""
        return HEADS[out_activation].loss()

    def _training_targets(self, X, y, Y, incremental, target_state):
        """The targets the trainer sees; the classifier appends soft targets."""
        return Y

    @abstractmethod
    def _validation_score(self, raw, y, sample_weight, targets):
        """Score of the output pre-activation ``raw`` against the original y.

        ``targets`` holds the target attributes of the run (the
        ``target_state`` of :meth:`_prepare_targets`), not yet committed.
        """

    #: fitted attributes that describe the targets (see ``_prepare_targets``)
    _target_attributes = ()

    def _split_stratify(self, y):
        return None

    # ------------------------------------------------------------------
    # architecture
    # ------------------------------------------------------------------
    def _hidden_sizes(self):
        hidden = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        hidden = list(hidden)
        if any(
            not isinstance(h, Integral) or isinstance(h, bool) or h <= 0
            for h in hidden
        ):
            raise ValueError(
                "hidden_layer_sizes must contain positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return [int(h) for h in hidden]

    def _layers(self, cache=False):
        """The parametrization of each fitted layer."""
        units = [self.n_features_in_] + [len(b) for b in self.intercepts_]
        return [
            self._make_layer(self._method, units[i], units[i + 1], len(w),
                             self.hash_seeds_[i], cache=cache)
            for i, w in enumerate(self.buckets_)
        ]

    def _make_layer(self, method, n_in, n_out, n_stored, seeds, cache=False):
        """``make_layer``, keeping the layers that are costly to build (random
        edges) in ``_edge_layers`` (never pickled) for every later fit,
        predict or read of ``coefs_``."""
        memo = self.__dict__.setdefault("_edge_layers", {})
        return make_layer_once(memo, method, n_in, n_out, n_stored, seeds, cache)

    # ------------------------------------------------------------------
    # public helpers
    # ------------------------------------------------------------------
    @property
    def coefs_(self):
        """Virtual weight matrices, built from ``buckets_`` each time this is read.

        A list with one ``(n_in, n_out)`` array per layer. It costs the memory
        the hashing saves; use it for inspection, not for inference.
        """
        check_is_fitted(self, "buckets_")
        return [layer.virtual(w) for layer, w in zip(self._layers(), self.buckets_)]

    def to_sklearn(self):
        """The equivalent fitted scikit-learn MLP, for serving.

        A :class:`~sklearn.neural_network.MLPClassifier` (for a
        :class:`HashedMLPClassifier`) or
        :class:`~sklearn.neural_network.MLPRegressor` whose ``coefs_`` are
        this model's virtual matrices ``coefs_`` (a regressor's target
        scaling folded into the last one) and whose biases, activations,
        classes and fitted history are this model's: it predicts what this
        model predicts (to rounding), with scikit-learn's own ``predict``,
        which on a few rows skips rebuilding V by hashing on every call, and
        every tool that reads scikit-learn's MLPs reads it. Hyperparameters
        scikit-learn shares are copied where it accepts their values.

        It holds every V densely: ``n_in * n_out`` numbers of the model's
        dtype per layer, the memory the hashing saves. Keep float32 inputs
        for a float32 model (a float64 X makes NumPy convert V on each call).

        Returns
        -------
        mlp : MLPClassifier or MLPRegressor
            A fitted model, independent of this one.

        Raises
        ------
        ValueError
            Where scikit-learn's MLPs have no equivalent: a classifier fitted
            on a single class, an output head they lack.
        """
        return to_sklearn(self)

    @property
    def n_stored_params_(self):
        """Stored parameters: all buckets plus all biases."""
        check_is_fitted(self, "buckets_")
        return int(sum(w.size for w in self.buckets_)
                   + sum(b.size for b in self.intercepts_))

    @property
    def n_stored_bytes_(self):
        """Bytes the model stores, as ``export_c`` stores it at the precision
        the buckets were trained for (``quantize``): each layer's buckets
        (float32, or int8, or two int4 buckets a byte), one float32 scale per
        quantized layer, and the float32 biases."""
        check_is_fitted(self, "buckets_")
        precision = getattr(self, "quantize_", None)
        return int(sum(stored_bytes(w.size, b.size, precision)
                       for w, b in zip(self.buckets_, self.intercepts_)))

    @property
    def n_virtual_params_(self):
        """Parameters of the equivalent dense network (virtual weights plus biases)."""
        check_is_fitted(self, "buckets_")
        units = [self.n_features_in_] + [len(b) for b in self.intercepts_]
        return int(sum(a * b + b for a, b in zip(units[:-1], units[1:])))

    def _forward(self, X):
        """Validate X and return the output layer's pre-activation."""
        check_is_fitted(self, "buckets_")
        dtype = self.buckets_[0].dtype
        _check_numeric(self, X)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=dtype,
                          reset=False)
        if sp.issparse(X):
            X = X.tocsr()
        layers = self._layers()
        work = X.shape[0] * max(layer.n_in * layer.n_out for layer in layers)
        with blas_threads(work, PREDICT_MIN_WORK):
            return forward(layers, self.buckets_, self.intercepts_, X,
                           self.activation_)

    # ------------------------------------------------------------------
    # persistence
    # ------------------------------------------------------------------
    def __getstate__(self):
        # object.__getstate__ is not a copy
        return pack(dict(super().__getstate__()))

    def __setstate__(self, state):
        super().__setstate__(unpack(type(self), state))

    def without_solver_state(self):
        """A copy of this estimator without the solver's moments, to ship.

        A saved or copied model keeps its solver's state (Adam's moments, or
        the momentum velocities), so that ``partial_fit`` on the copy
        continues exactly as on the original; after ``partial_fit`` that
        state is twice (Adam) or once (momentum SGD) the size of the stored
        parameters. The copy returned predicts exactly as this estimator and
        pickles without it; its next ``partial_fit`` warns and starts the
        solver afresh. ``fit`` drops the moments at its end anyway (a new fit
        starts from rest): after ``fit`` the copy equals this estimator.

        Returns
        -------
        copy : estimator
            A new estimator of the same class; this one is left unchanged.
        """
        twin = type(self).__new__(type(self))
        twin.__setstate__(copy.deepcopy(pack(dict(self.__dict__),
                                             solver_state=False)))
        return twin

    @classmethod
    def _check_target_state(cls, state):
        """Raise ``StateError`` where a loaded state's target attributes
        disagree with its output layer (``n_outputs_``, ``out_activation_``)."""

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental, classes=None):
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: it sees one "
                "batch at a time and has no validation set. Use fit, or set "
                "early_stopping=False."
            )
        lbfgs = self.solver == "lbfgs"
        if lbfgs:
            check_lbfgs_params(self)
        fitted = hasattr(self, "buckets_")
        first_pass = not fitted or not (incremental or self.warm_start)
        hidden = self._hidden_sizes()
        saved = {k: v for k, v in self.__dict__.items()
                 if k in ("n_features_in_", "feature_names_in_")}
        try:
            X, Y, y, sample_weight, target_state = self._validate_fit_input(
                X, y, sample_weight, first_pass, incremental, classes
            )
            virtual_units = [X.shape[1], *hidden, Y.shape[1]]
            budgets = layer_budgets(
                virtual_units, self.compression, self.n_buckets,
                sparse_input=sp.issparse(X),
                hidden_layer_sizes=self.hidden_layer_sizes)
            layer_units, budgets = plan_layers(self.method, virtual_units, budgets)
            if self.rescale_grad:
                check_rescalable(self.method)
            if not first_pass:
                self._check_same_architecture(layer_units, budgets)
            check_trainable(self, layer_units, budgets, X, y, incremental)
            Y = self._training_targets(X, y, Y, incremental, target_state)
            if first_pass:
                state = TrainingState.fresh(self, layer_units, budgets, X.dtype)
                state.targets = target_state
                state.out_activation_ = self._out_activation(target_state)
            else:
                state = TrainingState.of(self)
            state.quantize_ = self.quantize
            early_stopping = self.early_stopping and not (incremental or lbfgs)
            train, validation = split(self, state, X, Y, y, sample_weight,
                                      early_stopping)
        except Exception:
            for k in ("n_features_in_", "feature_names_in_"):
                if k not in saved:  # keep the others in place: pickles stay equal
                    self.__dict__.pop(k, None)
            self.__dict__.update(saved)
            raise

        # With sparse X, the first layer hashes on the fly: no index cache,
        # whose size (one int per virtual weight) grows with n_features.
        layers = [
            self._make_layer(state._method, a, b, k, state.hash_seeds_[i],
                             cache=not (i == 0 and sp.issparse(X)))
            for i, (a, b, k) in enumerate(zip(layer_units[:-1], layer_units[1:],
                                               budgets))
        ]
        batch = X.shape[0] if lbfgs else batch_rows(self.batch_size, X.shape[0])
        with training_threads(training_work(batch, layer_units)):
            if lbfgs:
                fit_lbfgs(self, state, layers, *train)
                return self
            if first_pass or not incremental or state._optimizer is None:
                state._optimizer = make_optimizer(self, state.params())
            fit_stochastic(self, state, layers, train, validation, incremental)
        return self

    def _check_solver(self):
        """``available_if`` predicate of ``partial_fit``, as scikit-learn's."""
        if self.solver == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                "lbfgs is not stochastic."
            )
        return True

    def _validate_fit_input(self, X, y, sample_weight, first_pass, incremental,
                            classes):
        _check_numeric(self, X)
        X, y = validate_data(
            self, X, y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32) if first_pass else self.buckets_[0].dtype,
            y_numeric=not is_classifier(self),
            reset=first_pass,
        )
        if sp.issparse(X):
            X = X.tocsr()
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
            if not sample_weight.sum() > 0:
                raise ValueError(
                    "Sample weights must contain at least one non-zero number."
                )
        Y, target_state = self._prepare_targets(y, first_pass, classes, sample_weight)
        Y = np.ascontiguousarray(Y, dtype=X.dtype)
        return X, Y, y, sample_weight, target_state

    def _check_same_architecture(self, layer_units, budgets):
        units = [self.n_features_in_] + [len(b) for b in self.intercepts_]
        stored = [len(w) for w in self.buckets_]
        if (units, stored, self._method) != (layer_units, budgets, self.method):
            raise ValueError(
                f"The fitted model has method={self._method!r}, layer sizes {units} "
                f"and {stored} stored weights per layer, but the current "
                f"parameters ask for method={self.method!r}, {layer_units} and "
                f"{budgets}. "
                "Set warm_start=False (or call fit instead of partial_fit) to "
                "start over with the new architecture."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _check_numeric(estimator, X):
    """Raise a clear error for strings or other non-numeric values in X.

    Without it the user sees only numpy's "could not convert string to float".
    A numeric array or DataFrame costs one dtype lookup; lists, and object,
    string or category data, are converted here and again by ``validate_data``.
    The error keeps the type numpy raised (TypeError for e.g. a dict in an
    object array), as scikit-learn's estimator checks expect.
    """
    if sp.issparse(X):
        return
    dtypes = getattr(X, "dtypes", None)  # a pandas DataFrame: one per column
    if dtypes is None:
        try:
            dtypes = [X.dtype if hasattr(X, "dtype") else np.asarray(X).dtype]
        except ValueError:  # ragged nested lists: validate_data says so
            return
    if all(getattr(dtype, "kind", "O") in "biufc" for dtype in dtypes):
        return
    try:
        np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"{type(estimator).__name__} needs numeric input, but X contains "
            f"non-numeric values ({exc}). Encode strings and categories first, "
            "e.g. with sklearn.preprocessing.OneHotEncoder or OrdinalEncoder."
        ) from exc
