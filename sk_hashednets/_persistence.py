"""The pickled state of a fitted estimator: packed small, checked on load.

Pickle, joblib and skops all pass through ``__getstate__`` and
``__setstate__``. A loaded state is checked before the estimator takes it:
the kernels take each layer's sizes from the arrays they are handed, so a
state whose arrays disagree with its architecture would otherwise predict
garbage, or crash in a kernel, instead of failing with a message.

The solver's state (Adam's moments and step count, momentum's velocities,
the learning rate its schedule reached) is part of the state, so that a copy
of a model continues ``partial_fit`` exactly as the model would: a saved
model is the model, not only its predictions. :func:`pack` with
``solver_state=False`` leaves the moments out, for a small file.
"""

import inspect
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np

from ._budgets import layer_budgets, plan_layers
from ._errors import StateError
from ._layers import METHODS
from ._optimizers import make_optimizer
from ._quantize import PRECISIONS, rounded
from ._version import __version__

#: Version of the pickled state; bump it when the meaning of a stored
#: attribute changes, and teach :func:`unpack` to read the older ones.
#: Format 2: Adam became the default solver, the clipping limit a parameter,
#: and ``method="low_rank"`` stores one learned factor instead of two.
#: Format 3: the solver's state (``_solver_state``) is kept; older formats
#: load with a fresh one, and their first ``partial_fit`` says so.
STATE_FORMAT = 3

#: Parameters a format-1 state does not hold, with the behaviour it had: the
#: only solver and the fixed clipping limit of then (their defaults now differ).
_FORMAT_1_PARAMETERS = {"solver": "sgd", "max_grad_norm": 10.0}


def pack(state, solver_state=True):
    """The state to pickle: the parameters in one array, the solver's state
    in ``_solver_state`` (its moments only if ``solver_state``)."""
    optimizer = state.pop("_optimizer", None)
    # a solver other than the model's is replaced at the next partial_fit
    if optimizer is not None and optimizer.solver == state.get("solver"):
        scalars = optimizer.scalars()
        moments = optimizer.moments()
        if not solver_state and moments is not None:
            moments = None
            scalars["state_lost"] = True
        state["_solver_state"] = {"solver": optimizer.solver, "scalars": scalars,
                                  "moments": moments}
    state.pop("_edge_layers", None)  # rebuilt from the seeds when needed
    if "buckets_" in state:
        # one flat array instead of 2 per layer keeps small models small
        weights = state.pop("buckets_")
        biases = state.pop("intercepts_")
        state["_packed_params"] = np.concatenate(weights + biases)
        state["_packed_sizes"] = [a.size for a in weights + biases]
    state["_sk_hashednets_state_format"] = STATE_FORMAT
    state["_sk_hashednets_version"] = __version__
    return state


def unpack(cls, state):
    """The attributes of a ``cls`` instance from a pickled ``state``.

    Raises
    ------
    StateError
        If the state comes from a newer state format, or if its arrays do not
        agree with each other and with the architecture its parameters
        describe (sizes, dtypes, method, seeds).
    """
    state = dict(state)
    fmt = state.pop("_sk_hashednets_state_format", None)
    version = state.pop("_sk_hashednets_version", None)
    saved_by = f"saved by sk_hashednets {version} with state format {fmt}"
    if fmt is not None and (not isinstance(fmt, Integral) or fmt > STATE_FORMAT):
        raise StateError(
            f"This {cls.__name__} was {saved_by}; this sk_hashednets "
            f"({__version__}) reads formats up to {STATE_FORMAT}. Upgrade "
            "sk_hashednets to load it."
        )
    fitted = "buckets_" in state or "_packed_params" in state
    if fmt is None or fmt < 2:
        for name, value in _FORMAT_1_PARAMETERS.items():
            state.setdefault(name, value)
    layer_class = METHODS.get(state.get("_method"))
    if fitted and layer_class is not None and (
            (fmt or 1) < layer_class.first_state_format):
        raise StateError(
            f"Cannot load this {cls.__name__} ({saved_by}): it was fitted with "
            f"method={layer_class.method!r} before state format "
            f"{layer_class.first_state_format}: {layer_class.state_format_change}. "
            "Refit the model, or load it with the sk_hashednets that saved it."
        )
    # A parameter added after the model was saved takes its default value:
    # new parameters default to the earlier behaviour, so the model predicts
    # as it did when it was saved.
    for name, param in inspect.signature(cls).parameters.items():
        if param.default is not param.empty:
            state.setdefault(name, param.default)
    if not fitted:
        return state  # an unfitted estimator
    state.setdefault("_method", "hashing")  # models saved before `method`
    try:
        if "_packed_params" in state:
            _unpack_params(state)
        _check_fitted_state(cls, state)
        _unpack_solver_state(state, fmt)
    except StateError as exc:
        raise StateError(
            f"Cannot load this {cls.__name__} ({saved_by}): {exc} The file is "
            "corrupted, or was not written by sk_hashednets."
        ) from None
    return state


def _unpack_params(state):
    packed = state.pop("_packed_params")
    sizes = state.pop("_packed_sizes")
    _check_array("_packed_params", packed, ndim=1)
    if (not isinstance(sizes, (list, tuple)) or len(sizes) < 2 or len(sizes) % 2
            or not all(isinstance(n, Integral) and n >= 1 for n in sizes)):
        raise StateError(
            "_packed_sizes must list a positive size for each layer's weights "
            f"and biases, got {sizes!r}."
        )
    if sum(sizes) != packed.size:
        raise StateError(
            f"_packed_params holds {packed.size} values but _packed_sizes "
            f"adds up to {sum(sizes)}."
        )
    arrays = np.split(packed, np.cumsum(sizes)[:-1])
    n_layers = len(sizes) // 2
    state["buckets_"] = [a.copy() for a in arrays[:n_layers]]
    state["intercepts_"] = [a.copy() for a in arrays[n_layers:]]


def _unpack_solver_state(state, fmt):
    """``_optimizer`` from ``_solver_state``, checked against the model.

    A state of an older format had none: a stochastic solver then starts
    afresh (as when it was saved) and its first ``partial_fit`` warns.
    """
    saved = state.pop("_solver_state", None)
    if state["solver"] == "lbfgs" and saved is None:
        return  # L-BFGS keeps nothing between calls
    # a model trained as quantized resumes from its float buckets
    params = (state.get("_latent_buckets") or state["buckets_"]) + state["intercepts_"]
    try:
        optimizer = make_optimizer(SimpleNamespace(**state), params)
    except (TypeError, ValueError) as exc:
        raise StateError(f"its solver parameters are invalid ({exc})") from None
    if saved is None:
        if fmt is None or fmt < 3:
            optimizer.state_lost = True
            state["_optimizer"] = optimizer
        return
    keys = ("solver", "scalars", "moments")
    if not isinstance(saved, dict) or sorted(saved) != sorted(keys):
        got = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise StateError(
            f"_solver_state must be a dict of {list(keys)}, got {got!r}.")
    if saved["solver"] != state["solver"]:
        raise StateError(
            f"_solver_state holds the state of solver={saved['solver']!r}, but "
            f"the model's solver is {state['solver']!r}.")
    state["_optimizer"] = optimizer
    optimizer.restore(_checked_scalars(optimizer, saved["scalars"]),
                      _checked_moments(optimizer, saved["moments"]))


def _checked_scalars(optimizer, scalars):
    """The saved scalars, each of the kind of the fresh solver's; one the
    fresh solver has and the saved state lacks keeps its fresh value."""
    expected = optimizer.scalars()
    if not isinstance(scalars, dict) or not set(scalars) <= set(expected):
        got = sorted(scalars) if isinstance(scalars, dict) else type(scalars).__name__
        raise StateError(
            f"_solver_state['scalars'] of solver={optimizer.solver!r} must be a "
            f"dict with entries among {sorted(expected)}, got {got!r}.")
    for name, value in scalars.items():
        kind = _kind(expected[name])
        if _kind(value) != kind or (kind == "a number" and not np.isfinite(value)):
            raise StateError(
                f"_solver_state['scalars'][{name!r}] must be {kind}, got "
                f"{value!r}.")
    return scalars


def _kind(value):
    if isinstance(value, (bool, np.bool_)):
        return "a bool"
    if isinstance(value, Real):
        return "a number"
    return "a str" if isinstance(value, str) else type(value).__name__


def _checked_moments(optimizer, moments):
    if moments is not None:
        shape = (optimizer.n_moments, sum(p.size for p in optimizer.params))
        _check_array("_solver_state['moments']", moments, ndim=2,
                     dtype=optimizer.params[0].dtype, shape=shape)
    return moments


def _check_array(name, a, ndim, dtype=None, shape=None):
    if not isinstance(a, np.ndarray) or a.ndim != ndim or (
            a.dtype not in (np.float32, np.float64) if dtype is None
            else a.dtype != dtype) or (shape is not None and a.shape != shape):
        kind = np.dtype(dtype).name if dtype else "float32 or float64"
        size = f"shape {shape}" if shape is not None else f"{ndim} dimension(s)"
        what = f"an ndarray of dtype {kind} and {size}"
        got = (f"{a.dtype} of shape {a.shape}" if isinstance(a, np.ndarray)
               else type(a).__name__)
        raise StateError(f"{name} must be {what}, got {got}.")


def _check_fitted_state(cls, state):
    """The arrays agree with each other, the method and the parameters."""
    method = state["_method"]
    if method not in METHODS:
        raise StateError(f"_method must be one of {sorted(METHODS)}, got {method!r}.")
    weights, biases = state["buckets_"], state["intercepts_"]
    if (not isinstance(weights, list) or not isinstance(biases, list)
            or len(weights) != len(biases) or not weights):
        raise StateError("buckets_ and intercepts_ must be lists of one array "
                         "per layer.")
    _check_array("buckets_[0]", weights[0], ndim=1)
    for name, arrays in (("buckets_", weights), ("intercepts_", biases)):
        for i, a in enumerate(arrays):
            _check_array(f"{name}[{i}]", a, ndim=1, dtype=weights[0].dtype)
    n_layers = len(weights)
    _check_array("hash_seeds_", state.get("hash_seeds_"), ndim=2,
                 dtype=np.uint32, shape=(n_layers, 2))
    n_features = state.get("n_features_in_")
    if not isinstance(n_features, Integral) or n_features < 1:
        raise StateError(f"n_features_in_ must be a positive int, got {n_features!r}.")
    units = [int(n_features), *(b.size for b in biases)]
    stored = [w.size for w in weights]
    if state.get("n_layers_") != n_layers + 1 or state.get("n_outputs_") != units[-1]:
        raise StateError(
            f"n_layers_={state.get('n_layers_')!r} and n_outputs_="
            f"{state.get('n_outputs_')!r} disagree with the {n_layers} layers of "
            f"sizes {units}."
        )
    expected = _architecture(state, method, units)
    if expected != (units, stored):
        raise StateError(
            f"its layers have sizes {units} and store {stored} weights, but "
            f"method={method!r} with its parameters (hidden_layer_sizes="
            f"{state.get('hidden_layer_sizes')!r}, compression="
            f"{state.get('compression')!r}, n_buckets={state.get('n_buckets')!r}) "
            f"gives sizes {expected[0]} storing {expected[1]}."
        )
    _check_quantized(state, weights)
    cls._check_target_state(state)


def _architecture(state, method, units):
    """Layer sizes and stored weights the saved parameters give."""
    hidden = state.get("hidden_layer_sizes")
    hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
    virtual = [units[0], *hidden, units[-1]]
    try:
        budgets = layer_budgets(virtual, state.get("compression"),
                                state.get("n_buckets"), sparse_input=True)
        planned, stored = plan_layers(method, virtual, budgets)
    except (TypeError, ValueError) as exc:
        raise StateError(f"its parameters describe no network ({exc})") from None
    return [int(n) for n in planned], [int(k) for k in stored]


def _check_quantized(state, weights):
    """A model trained as quantized stores the rounding of its float buckets
    (``_latent_buckets``, where training resumes) to ``quantize_``."""
    precision = state.get("quantize_")
    latent = state.get("_latent_buckets")
    if precision is None and latent is None:
        return
    if precision not in PRECISIONS or not isinstance(latent, list):
        raise StateError(
            f"quantize_ must be one of {list(PRECISIONS)} with a list "
            f"_latent_buckets, got {precision!r} and {type(latent).__name__}.")
    if len(latent) != len(weights):
        raise StateError(f"_latent_buckets has {len(latent)} layers, not "
                         f"{len(weights)}.")
    for i, (w, float_w) in enumerate(zip(weights, latent)):
        _check_array(f"_latent_buckets[{i}]", float_w, ndim=1, dtype=w.dtype,
                     shape=w.shape)
        if not np.array_equal(rounded(float_w, precision), w, equal_nan=True):
            raise StateError(
                f"buckets_[{i}] is not the {precision} rounding of "
                f"_latent_buckets[{i}].")
