"""BaseHashedMLP: parameters, validation, and the epoch loop of both estimators."""

import copy
import inspect
import os
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from . import __version__
from ._layers import MAX_VIRTUAL, METHODS, make_layer, plan_layers
from ._network import LOSSES, Trainer, forward
from ._optimizers import make_optimizer

#: Version of the pickled state; bump it when the meaning of a stored
#: attribute changes, and teach ``__setstate__`` to read the older ones.
STATE_FORMAT = 1


# warnings raised in the epoch loop point at the user's fit call: the loop, _fit,
# fit and scikit-learn's _fit_context wrapper lie in between
_USER_FRAME = 5


class DivergenceError(ValueError):
    """Training produced a non-finite loss or non-finite parameters."""


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
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "solver": [StrOptions({"sgd", "adam"})],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
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
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.compression = compression
        self.n_buckets = n_buckets
        self.method = method
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.alpha = alpha
        self.batch_size = batch_size
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
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
        return LOSSES[out_activation]()

    def _training_targets(self, X, y, Y, incremental, target_state):
        """The targets the trainer sees; the classifier appends soft targets."""
        return Y

    @abstractmethod
    def _validation_score(self, raw, y, sample_weight, state):
        """Score of the output pre-activation ``raw`` against the original y.

        ``state`` holds the fitted attributes of the run, not yet committed.
        """

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

    def _budgets(self, layer_units, sparse_input=False):
        """Number of stored weights of each layer.

        With sparse input no method materialises the first layer, so only its
        stored weights count against the size limit.
        """
        shapes = list(zip(layer_units[:-1], layer_units[1:]))
        n_layers = len(shapes)
        if self.n_buckets is None:
            budgets = [max(1, round(self.compression * a * b)) for a, b in shapes]
        else:
            if np.ndim(self.n_buckets) == 0:
                requested = [self.n_buckets] * n_layers
            else:
                requested = list(self.n_buckets)
                if len(requested) != n_layers:
                    raise ValueError(
                        f"n_buckets has {len(requested)} entries but the network "
                        f"has {n_layers} weight layers (hidden_layer_sizes="
                        f"{self.hidden_layer_sizes!r} plus the output layer); give "
                        f"one int per layer or a single int."
                    )
            if not all(
                isinstance(k, Integral) and not isinstance(k, bool) and k >= 1
                for k in requested
            ):
                raise ValueError(
                    "n_buckets must be an int >= 1 or one int >= 1 per layer, got "
                    f"{self.n_buckets!r}."
                )
            budgets = [min(int(k), a * b) for k, (a, b) in zip(requested, shapes)]
        for idx, ((a, b), k) in enumerate(zip(shapes, budgets)):
            on_the_fly = idx == 0 and sparse_input
            if on_the_fly and k > MAX_VIRTUAL:
                raise ValueError(
                    f"Layer 0 would store {k:.3g} weights; at most {MAX_VIRTUAL} "
                    "(2**31 - 1) are supported per layer. Use a smaller "
                    "compression or n_buckets."
                )
            if not on_the_fly and a * b > MAX_VIRTUAL:
                raise ValueError(
                    f"Layer {idx} would have {a} x {b} = {a * b:.3g} virtual "
                    f"weights; at most {MAX_VIRTUAL} (2**31 - 1) are supported "
                    "per layer, because training materialises each layer's "
                    "virtual matrix. Use smaller hidden_layer_sizes or fewer "
                    "input features."
                )
        return budgets

    def _layers(self, cache=False):
        """The parametrization of each fitted layer."""
        units = [self.n_features_in_] + [len(b) for b in self.intercepts_]
        return [
            make_layer(self._method, units[i], units[i + 1], len(w),
                       self.hash_seeds_[i], cache=cache)
            for i, w in enumerate(self.buckets_)
        ]

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

    @property
    def n_stored_params_(self):
        """Stored parameters: all buckets plus all biases."""
        check_is_fitted(self, "buckets_")
        return int(sum(w.size for w in self.buckets_)
                   + sum(b.size for b in self.intercepts_))

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
        return forward(self._layers(), self.buckets_, self.intercepts_, X,
                       self.activation_)

    # ------------------------------------------------------------------
    # persistence
    # ------------------------------------------------------------------
    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ is not a copy
        # The optimizer's velocities are as large as the model: a saved model
        # resumes partial_fit with fresh momentum instead.
        state.pop("_optimizer", None)
        if "buckets_" in state:
            # one flat array instead of 2 per layer keeps small models small
            weights = state.pop("buckets_")
            biases = state.pop("intercepts_")
            state["_packed_params"] = np.concatenate(weights + biases)
            state["_packed_sizes"] = [a.size for a in weights + biases]
        state["_sk_hashednets_state_format"] = STATE_FORMAT
        state["_sk_hashednets_version"] = __version__
        return state

    def __setstate__(self, state):
        fmt = state.pop("_sk_hashednets_state_format", None)
        version = state.pop("_sk_hashednets_version", None)
        if fmt is not None and fmt > STATE_FORMAT:
            raise ValueError(
                f"This {type(self).__name__} was saved by sk_hashednets {version} "
                f"with state format {fmt}; this sk_hashednets ({__version__}) reads "
                f"formats up to {STATE_FORMAT}. Upgrade sk_hashednets to load it."
            )
        if "buckets_" in state or "_packed_params" in state:
            state.setdefault("_method", "hashing")  # models saved before `method`
        if "_packed_params" in state:
            packed = state.pop("_packed_params")
            sizes = state.pop("_packed_sizes")
            arrays = np.split(packed, np.cumsum(sizes)[:-1])
            n_layers = len(sizes) // 2
            state["buckets_"] = [a.copy() for a in arrays[:n_layers]]
            state["intercepts_"] = [a.copy() for a in arrays[n_layers:]]
        # A parameter added after the model was saved takes its default value:
        # new parameters default to the earlier behaviour, so the model
        # predicts as it did when it was saved.
        for name, param in inspect.signature(type(self)).parameters.items():
            if param.default is not param.empty:
                state.setdefault(name, param.default)
        super().__setstate__(state)

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental, classes=None):
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
            layer_units, budgets = plan_layers(
                self.method, virtual_units,
                self._budgets(virtual_units, sparse_input=sp.issparse(X)))
            if self.rescale_grad and self.method == "low_rank":
                raise ValueError(
                    "rescale_grad=True divides each stored weight's gradient by "
                    "the number of virtual weights that share it, which "
                    "method='low_rank' does not define (its stored weights are "
                    "factors). Use it with method='hashing' (with 'random_edges' "
                    "and 'shrunk' every load is 1), or set rescale_grad=False."
                )
            if not first_pass:
                self._check_same_architecture(layer_units, budgets)
            self._check_trainable(layer_units, budgets, X, incremental)
            Y = self._training_targets(X, y, Y, incremental, target_state)
        except Exception:
            for k in ("n_features_in_", "feature_names_in_"):
                if k not in saved:  # keep the others in place: pickles stay equal
                    self.__dict__.pop(k, None)
            self.__dict__.update(saved)
            raise

        if first_pass:
            state = self._fresh_state(layer_units, budgets, X.dtype)
            state.update(target_state)
            state["out_activation_"] = self._out_activation(target_state)
        else:
            state = self._current_state()
        # With sparse X, the first layer hashes on the fly: no index cache,
        # whose size (one int per virtual weight) grows with n_features.
        layers = [
            make_layer(state["_method"], a, b, k, state["hash_seeds_"][i],
                       cache=not (i == 0 and sp.issparse(X)))
            for i, (a, b, k) in enumerate(zip(layer_units[:-1], layer_units[1:],
                                               budgets))
        ]
        if first_pass or not incremental or state["_optimizer"] is None:
            state["_optimizer"] = make_optimizer(
                self, state["buckets_"] + state["intercepts_"])
        self._run_epochs(state, layers, X, Y, y, sample_weight, incremental)
        return self

    def _validate_fit_input(self, X, y, sample_weight, first_pass, incremental,
                            classes):
        _check_numeric(self, X)
        X, y = validate_data(
            self, X, y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32) if first_pass else self.buckets_[0].dtype,
            y_numeric=not is_classifier(self),
            ensure_min_samples=1 if incremental else 2,
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

    def _check_trainable(self, layer_units, budgets, X, incremental):
        """Fail before any work on a run that cannot succeed: an early-stopping
        split too small to use, or a network whose training does not fit in
        this machine's memory (it would end in a MemoryError or the OOM killer).
        """
        n_samples, n_val = X.shape[0], 0
        if self._uses_early_stopping(incremental):
            n_val = int(np.ceil(self.validation_fraction * n_samples))
            if n_val < 2 or n_val >= n_samples:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} of "
                    f"{n_samples} samples gives a validation set of {n_val} "
                    f"and a training set of {n_samples - n_val} sample(s); early "
                    "stopping needs at least 2 and 1. Change validation_fraction "
                    "or disable early_stopping."
                )
            n_samples -= n_val
        batch_size = min(200 if self.batch_size == "auto" else self.batch_size,
                         n_samples)
        need = _training_bytes(self.method, layer_units, budgets, X.dtype,
                               batch_size, n_val, sp.issparse(X), self.solver)
        have = _physical_memory()
        if have is not None and need > have:
            n_virtual = [a * b for a, b in zip(layer_units[:-1], layer_units[1:])]
            raise ValueError(
                f"Training this network needs about {need / 2**30:.3g} GiB, more "
                f"than the {have / 2**30:.3g} GiB of memory of this machine: its "
                f"layers {layer_units} have {n_virtual} virtual weights, and "
                "training materialises each layer's virtual matrix. Use smaller "
                "hidden_layer_sizes, fewer input features or a smaller batch_size."
            )

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

    def _fresh_state(self, layer_units, budgets, dtype):
        rng = check_random_state(self.random_state)
        n_layers = len(layer_units) - 1
        hash_seeds = rng.randint(0, 2**32, size=(n_layers, 2), dtype=np.uint64)
        hash_seeds = hash_seeds.astype(np.uint32)
        # equal seeds would tie each connection's sign to its bucket
        same = hash_seeds[:, 0] == hash_seeds[:, 1]
        hash_seeds[same, 1] ^= np.uint32(1)
        seed = int(rng.randint(0, 2**32, dtype=np.uint64))
        # Glorot-uniform on the virtual matrix; each bucket is one virtual weight.
        factor = 2.0 if self.activation == "logistic" else 6.0
        weights, biases = [], []
        for i, k in enumerate(budgets):
            a, b = layer_units[i], layer_units[i + 1]
            bound = np.sqrt(factor / (a + b))
            layer = make_layer(self.method, a, b, k, hash_seeds[i])
            weights.append(layer.init_weights(bound, rng, dtype))
            biases.append(rng.uniform(-bound, bound, b).astype(dtype))
        return {
            "hash_seeds_": hash_seeds,
            "buckets_": weights,
            "intercepts_": biases,
            "_seed": seed,
            "_optimizer": None,
            "_step": 0,
            "n_iter_": 0,
            "t_": 0,
            "loss_curve_": [],
            "validation_scores_": [] if self._uses_early_stopping(False) else None,
            "best_validation_score_": -np.inf if self._uses_early_stopping(False)
            else None,
            "best_loss_": None if self._uses_early_stopping(False) else np.inf,
            "_no_improvement_count": 0,
            "n_clipped_steps_": 0,
            "_method": self.method,
            "n_layers_": len(layer_units),
            "n_outputs_": layer_units[-1],
            "activation_": self.activation,
        }

    def _current_state(self):
        """A private copy of the fitted state, so that a failed call changes nothing."""
        keys = ("hash_seeds_", "_seed", "_optimizer", "_method",
                "_step", "n_iter_", "t_", "loss_curve_", "validation_scores_",
                "best_validation_score_", "best_loss_", "_no_improvement_count",
                "n_clipped_steps_",
                "n_layers_", "n_outputs_", "activation_", "out_activation_")
        state = {k: copy.deepcopy(getattr(self, k, None)) for k in keys}
        state["buckets_"] = [w.copy() for w in self.buckets_]
        state["intercepts_"] = [b.copy() for b in self.intercepts_]
        if state["_optimizer"] is not None:  # None after unpickling
            # the deep copy holds copies of the old arrays: point it at ours
            state["_optimizer"].params = state["buckets_"] + state["intercepts_"]
        if state["best_loss_"] is None and not self._uses_early_stopping(False):
            state["best_loss_"] = np.inf
        if state["validation_scores_"] is None and self._uses_early_stopping(False):
            state["validation_scores_"] = []
            state["best_validation_score_"] = -np.inf
        return state

    def _uses_early_stopping(self, incremental):
        return self.early_stopping and not incremental

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is "
                "going to be clipped", stacklevel=_USER_FRAME + 1,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _run_epochs(self, state, layers, X, Y, y, sample_weight, incremental):
        early_stopping = self._uses_early_stopping(incremental)
        seed = state["_seed"]
        if sample_weight is None:
            sample_weight = np.ones(X.shape[0], dtype=X.dtype)
        X_val = y_val = sw_val = None
        if early_stopping:
            split = train_test_split(
                X, Y, y, sample_weight,
                random_state=_rng(seed, state["n_iter_"], 1).integers(2**31),
                test_size=self.validation_fraction,
                stratify=self._split_stratify(y),
            )
            X, X_val, Y, _, _, y_val, sample_weight, sw_val = split
            if sp.issparse(X):
                X = X.tocsr()
                X_val = X_val.tocsr()
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        optimizer = state["_optimizer"]
        weights, biases = state["buckets_"], state["intercepts_"]
        trainer = Trainer(
            layers, weights, biases,
            activation=state["activation_"],
            loss=self._make_loss(state["out_activation_"]),
            alpha=self.alpha,
            dropout=self.dropout,
            input_dropout=self.input_dropout,
            dropout_seed=seed,
            batch_size=batch_size,
            n_outputs=Y.shape[1],
            dtype=X.dtype,
            sparse_input=sp.issparse(X),
            grad_scales=_grad_scales(layers, X.dtype) if self.rescale_grad else None,
        )
        grads = trainer.weight_grads + trainer.bias_grads
        sw_total = float(sample_weight.sum(dtype=np.float64))
        best = None
        state["n_clipped_steps_"] = 0
        first_step = state["_step"]
        committed = state
        error = None
        try:
            for _ in range(1 if incremental else self.max_iter):
                tic = time.perf_counter()
                committed = _snapshot(state)
                if self.shuffle:
                    order = _rng(seed, state["n_iter_"]).permutation(n_samples)
                else:
                    order = np.arange(n_samples)
                accumulated = 0.0
                for start in range(0, n_samples, batch_size):
                    idx = order[start:start + batch_size]
                    Xb, Yb, swb = trainer.take(X, Y, sample_weight, idx)
                    batch_loss = trainer.step(Xb, Yb, swb, state["_step"])
                    if not np.isfinite(batch_loss):
                        raise DivergenceError("loss", batch_loss)
                    if self.max_grad_norm is not None:
                        state["n_clipped_steps_"] += _clip_grad_norm(
                            grads, self.max_grad_norm)
                    optimizer.update(grads)
                    state["_step"] += 1
                    accumulated += batch_loss * float(swb.sum(dtype=np.float64))
                if not all(np.isfinite(p).all() for p in weights + biases):
                    raise DivergenceError("parameters", np.nan)
                state["n_iter_"] += 1
                state["t_"] += n_samples
                loss = accumulated / sw_total
                state["loss_"] = float(loss)
                state["loss_curve_"].append(float(loss))
                if early_stopping:
                    raw = forward(layers, weights, biases, X_val, state["activation_"])
                    score = self._validation_score(raw, y_val, sw_val, state)
                    state["validation_scores_"].append(float(score))
                    improved = score >= state["best_validation_score_"] + self.tol
                    if score > state["best_validation_score_"]:
                        state["best_validation_score_"] = float(score)
                        best = ([w.copy() for w in weights], [b.copy() for b in biases])
                else:
                    improved = loss <= state["best_loss_"] - self.tol
                    state["best_loss_"] = float(min(state["best_loss_"], loss))
                state["_no_improvement_count"] = (
                    0 if improved else state["_no_improvement_count"] + 1
                )
                if incremental and self.verbose:
                    self._print_chunk(state, n_samples, time.perf_counter() - tic)
                elif self.verbose:
                    self._print_epoch(state, early_stopping, time.perf_counter() - tic)
                optimizer.iteration_ends(state["t_"])
                if state["_no_improvement_count"] > self.n_iter_no_change:
                    what = ("Validation score" if early_stopping else "Training loss")
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    state["_no_improvement_count"] = 0
                if incremental:
                    break
                if state["n_iter_"] == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet.",
                        ConvergenceWarning, stacklevel=_USER_FRAME,
                    )
            committed = state
            n_clipped = state["n_clipped_steps_"]
            if n_clipped:
                n_steps = state["_step"] - first_step
                advice = (  # a rare large batch gradient is no sign of bad scaling
                    "The input features are probably not standardized (put a "
                    f"StandardScaler before {type(self).__name__}), or "
                    f"learning_rate_init={self.learning_rate_init} is too large."
                    if n_clipped > 0.01 * n_steps else
                    "Clipping that rare changes little; if it recurs, lower "
                    f"learning_rate_init (currently {self.learning_rate_init}).")
                warnings.warn(
                    f"The gradient norm exceeded max_grad_norm={self.max_grad_norm:g} "
                    "and was clipped "
                    f"in {n_clipped} of {n_steps} steps. {advice}",
                    UserWarning, stacklevel=_USER_FRAME,
                )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=_USER_FRAME)
            committed = state
        except DivergenceError as exc:
            error = exc
        if best is not None:  # early stopping keeps the best epoch's parameters
            for w, saved in zip(committed["buckets_"], best[0]):
                w[...] = saved
            for b, saved in zip(committed["intercepts_"], best[1]):
                b[...] = saved
        kept = committed["n_iter_"] > self._n_iter_before(incremental)
        if error is None or kept:
            self._commit(committed)
            if not incremental:  # fit starts from rest; only partial_fit resumes
                self._optimizer.drop_state()
        if error is not None:
            raise DivergenceError(self._divergence_message(error, state, kept))

    def _n_iter_before(self, incremental):
        if incremental or self.warm_start:
            return getattr(self, "n_iter_", 0)
        return 0

    def _commit(self, state):
        for key, value in state.items():
            setattr(self, key, value)
        self._optimizer.params = self.buckets_ + self.intercepts_

    def _divergence_message(self, exc, state, kept):
        what, value = exc.args
        outcome = (
            f"Training stopped; the model keeps the result of its "
            f"{state['n_iter_']} completed epoch(s)." if kept
            else "The model is left as it was before this call."
        )
        return (
            f"Training diverged in epoch {state['n_iter_'] + 1}: the {what} became "
            f"non-finite ({value}). {outcome} "
            f"Lower learning_rate_init (currently {self.learning_rate_init}) or "
            "scale the input features (e.g. with StandardScaler)."
        )

    def _print_epoch(self, state, early_stopping, seconds):
        line = f"Iteration {state['n_iter_']}, loss = {state['loss_']:.8f}"
        if early_stopping:
            line += f", validation score = {state['validation_scores_'][-1]:.6f}"
        print(f"{line}, time = {seconds:.2f}s", flush=True)

    def _print_chunk(self, state, n_samples, seconds):
        """partial_fit's progress on a stream: one line per ``verbose`` calls."""
        if state["n_iter_"] % int(self.verbose) == 0:
            print(f"Chunk {state['n_iter_']}: {state['t_']} rows seen, loss = "
                  f"{state['loss_']:.8f}, {n_samples / seconds:.0f} rows/s", flush=True)

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


def _physical_memory():
    """Total physical memory in bytes, or None where the OS does not tell."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # e.g. Windows
        return None


def _training_bytes(method, layer_units, budgets, dtype, batch_size, n_val,
                    sparse, solver="sgd"):
    """An upper estimate of the memory one fit allocates for a network.

    Per layer: the virtual matrix (reused for dL/dV) and the parametrization's
    workspace (hashing: an index cache of one code per virtual weight, and a
    signed table of twice the buckets), none of which a first layer needs on
    sparse input (only its ``sparse_workspace_bytes``); 8 vectors of the
    stored weights' size (weights,
    gradients, velocities, the previous fit's weights, and the weights and
    velocities of two epoch snapshots, the new one taken while the old one is
    alive), 11 with Adam (two moments instead of one velocity), 2 more with
    early stopping (two best epochs); 3 activation-sized
    buffers per batch row; a dense input batch 3 times (its buffer, np.take's
    temporary, the dropout buffer). Early stopping's validation pass builds
    one more virtual matrix and two layers of activations of its ``n_val``
    rows. Copies of the data (the split, targets, sample weights, the epoch's
    order) are not counted.
    """
    item = np.dtype(dtype).itemsize
    n_vectors = (11 if solver == "adam" else 8) + (2 if n_val else 0)
    workspace = METHODS[method].workspace_bytes
    total = 0 if sparse else 3 * batch_size * layer_units[0] * item
    validation = 0
    for idx, (a, b, k) in enumerate(zip(layer_units[:-1], layer_units[1:], budgets)):
        on_the_fly = idx == 0 and sparse
        if on_the_fly:
            total += METHODS[method].sparse_workspace_bytes(a, b, k, item, batch_size)
        else:
            total += a * b * item * METHODS[method].materialises
            total += workspace(a, b, k, item, batch_size)
        total += n_vectors * k * item + 3 * batch_size * b * item
        validation = max(validation, (0 if on_the_fly else a * b) + 2 * n_val * b)
    if n_val:
        total += validation * item
    return total


def _rng(seed, *counters):
    """Random generator for one use (an epoch's shuffle, a split) of a fit's seed.

    Deriving generators from (seed, counters) instead of carrying one along
    keeps the model's state to a single integer, and makes an epoch's order
    independent of what ran before it.
    """
    return np.random.default_rng([seed, *counters])


def _clip_grad_norm(grads, max_norm):
    """Scale the gradients in place so that their global L2 norm is at most max_norm.

    Returns 1 when it clipped, 0 otherwise.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.sqrt(sum(float(np.dot(g, g)) for g in grads))
    if not np.isfinite(norm):
        raise DivergenceError("gradient", norm)
    if norm <= max_norm:
        return 0
    for g in grads:
        g *= g.dtype.type(max_norm / norm)
    return 1


def _snapshot(state):
    """A copy of the training state at an epoch boundary, to roll back to."""
    snap = dict(state)
    snap["buckets_"] = [w.copy() for w in state["buckets_"]]
    snap["intercepts_"] = [b.copy() for b in state["intercepts_"]]
    snap["loss_curve_"] = list(state["loss_curve_"])
    if state["validation_scores_"] is not None:
        snap["validation_scores_"] = list(state["validation_scores_"])
    params = snap["buckets_"] + snap["intercepts_"]
    snap["_optimizer"] = state["_optimizer"].copy(params)
    return snap


def _grad_scales(layers, dtype):
    """``rescale_grad``: the inverse of each stored weight's load, per layer
    (None where every stored weight is one virtual weight)."""
    scales = []
    for layer in layers:
        loads = layer.loads()
        scales.append(None if loads is None
                      else (1.0 / np.maximum(loads, 1)).astype(dtype))
    return scales
