"""Robustness: bad input gets a clear error before any work, a diverging step
loses nothing, fits are reproducible across threads and processes, concurrent
use is safe, and Ctrl-C leaves a usable model."""

import _thread
import itertools
import json
import os
import pickle
import re
import subprocess
import sys
import threading
import tracemalloc
import warnings
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import SGD
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from sk_hashednets import (
    HashedMLPClassifier,
    HashedMLPRegressor,
    _layers,
    _memory,
    _network,
    _training,
)
from sk_hashednets._layers import METHODS

TESTS = Path(__file__).resolve().parent

rng = np.random.RandomState(0)
X = rng.randn(30, 4)
y = np.arange(30) % 3
y_reg = X @ [1.0, -2.0, 0.5, 0.0]

CLF, REG = HashedMLPClassifier, HashedMLPRegressor


def make(Est, method, **params):
    """A small estimator of the given weight parametrization."""
    return Est(**{"hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0,
                  "method": method, **params})


def target(Est):
    return y if Est is CLF else y_reg


def unfitted(Est, **params):
    return lambda method: make(Est, method, **params)


def fitted(Est, **params):
    def setup(method):
        est = make(Est, method, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, target(Est))
    return setup


def started_online(Est):
    """After one partial_fit call (the classifier with classes 0, 1, 2)."""
    def setup(method):
        est = make(Est, method)
        kwargs = {"classes": [0, 1, 2]} if Est is CLF else {}
        return est.partial_fit(X, target(Est), **kwargs)
    return setup


def with_value(array, value, where=(0, 0)):
    array = np.array(array, dtype=float)
    array[where] = value
    return array


def param_error(name, Est, constraint, got):
    """scikit-learn's InvalidParameterError message, exactly."""
    return re.escape(f"The '{name}' parameter of {Est.__name__} must be {constraint}. "
                     f"Got {got!r} instead.")


def too_large(n_in, n_out):
    return re.escape(
        f"Layer 0 would have {n_in} x {n_out} = {n_in * n_out:.3g} virtual weights; "
        "at most 2147483647 (2**31 - 1) are supported per layer"
    )


def fit_on_machine_with(nbytes, X_, y_):
    """fit as if the machine had only ``nbytes`` of memory."""
    def call(est):
        with mock.patch.object(_memory, "_physical_memory", return_value=nbytes):
            est.fit(X_, y_)
    return call


Case = namedtuple("Case", "setup call exc match")


def case(id, setup, call, match, exc=ValueError, marks=()):
    return pytest.param(Case(setup, call, exc, match), id=id, marks=marks)


X_wide = rng.randn(30, 60)
huge_sparse = sp.csr_matrix((np.ones(30), (np.arange(30), np.zeros(30, int))),
                            shape=(30, 10**11))
string_X = np.array([["a", "b"]] * 30)
object_X = X.astype(object)
object_X[3, 1] = {"not": "a number"}
frame_X = pd.DataFrame({"size": X[:, 0], "colour": ["red", "blue", "green"] * 10})
NAN, INF = np.nan, np.inf
NAN_MSG = re.escape("Input X contains NaN.")
INF_MSG = re.escape(
    "Input X contains infinity or a value too large for dtype('float64')")
NON_NUMERIC = "needs numeric input, but X contains non-numeric values"

# Each entry: id, how to build the estimator, the bad call, and the message.
# Every entry runs for every weight parametrization in METHODS.
BAD_INPUTS = [
    # -- non-finite values ----------------------------------------------------
    case("nan-X-fit", unfitted(CLF), lambda e: e.fit(with_value(X, NAN), y), NAN_MSG),
    case("inf-X-fit", unfitted(CLF), lambda e: e.fit(with_value(X, INF), y), INF_MSG),
    case("nan-X-fit-regressor", unfitted(REG),
         lambda e: e.fit(with_value(X, NAN), y_reg), NAN_MSG),
    case("nan-X-sparse", unfitted(CLF),
         lambda e: e.fit(sp.csr_matrix(with_value(X, NAN)), y), NAN_MSG),
    case("nan-X-predict", fitted(CLF), lambda e: e.predict(with_value(X, NAN)),
         NAN_MSG),
    case("inf-X-predict_proba", fitted(CLF),
         lambda e: e.predict_proba(with_value(X, -INF)), INF_MSG),
    case("nan-X-partial_fit", started_online(REG),
         lambda e: e.partial_fit(with_value(X, NAN), y_reg), NAN_MSG),
    case("nan-y-regressor", unfitted(REG),
         lambda e: e.fit(X, with_value(y_reg, NAN, 3)),
         re.escape("Input y contains NaN.")),
    case("inf-y-regressor", unfitted(REG),
         lambda e: e.fit(X, with_value(y_reg, INF, 3)),
         re.escape("Input y contains infinity or a value too large")),
    case("inf-y-regressor-partial_fit", started_online(REG),
         lambda e: e.partial_fit(X, with_value(y_reg, -INF, 3)),
         re.escape("Input y contains infinity or a value too large")),
    # -- number of features ---------------------------------------------------
    case("n_features-predict", fitted(CLF), lambda e: e.predict(X[:, :3]),
         re.escape("X has 3 features, but HashedMLPClassifier is expecting 4 "
                   "features as input.")),
    case("n_features-predict-regressor", fitted(REG), lambda e: e.predict(X_wide),
         re.escape("X has 60 features, but HashedMLPRegressor is expecting 4 "
                   "features as input.")),
    case("n_features-partial_fit", started_online(CLF),
         lambda e: e.partial_fit(X[:, :3], y),
         re.escape("X has 3 features, but HashedMLPClassifier is expecting 4")),
    case("no-features", unfitted(CLF), lambda e: e.fit(np.empty((30, 0)), y),
         re.escape("Found array with 0 feature(s) (shape=(30, 0)) while a minimum "
                   "of 1 is required by HashedMLPClassifier.")),
    # -- too few samples ------------------------------------------------------
    case("empty-X-fit", unfitted(CLF), lambda e: e.fit(np.empty((0, 4)), []),
         re.escape("Found array with 0 sample(s) (shape=(0, 4)) while a minimum of "
                   "1 is required by HashedMLPClassifier.")),
    case("empty-X-partial_fit", unfitted(REG),
         lambda e: e.partial_fit(np.empty((0, 4)), []),
         re.escape("Found array with 0 sample(s) (shape=(0, 4)) while a minimum of "
                   "1 is required by HashedMLPRegressor.")),
    case("empty-X-predict", fitted(CLF), lambda e: e.predict(np.empty((0, 4))),
         re.escape("Found array with 0 sample(s) (shape=(0, 4)) while a minimum of "
                   "1 is required by HashedMLPClassifier.")),
    case("continuous-y-classifier", unfitted(CLF), lambda e: e.fit(X, y_reg),
         re.escape("Unknown label type: continuous.")),
    # -- non-numeric X and y --------------------------------------------------
    case("complex-X", unfitted(CLF), lambda e: e.fit(X + 1j, y),
         re.escape("Complex data not supported")),
    case("complex-X-predict", fitted(REG), lambda e: e.predict(X + 1j),
         re.escape("Complex data not supported")),
    case("object-X", unfitted(CLF), lambda e: e.fit(object_X, y),
         re.escape(f"HashedMLPClassifier {NON_NUMERIC} (float() argument must be a "
                   "string or a real number, not 'dict')"), exc=TypeError),
    case("string-X", unfitted(CLF), lambda e: e.fit(string_X, y),
         re.escape(f"HashedMLPClassifier {NON_NUMERIC} (could not convert string "
                   "to float")),
    case("string-X-list", unfitted(REG), lambda e: e.fit(string_X.tolist(), y_reg),
         re.escape(f"HashedMLPRegressor {NON_NUMERIC}")),
    case("string-X-dataframe", unfitted(CLF), lambda e: e.fit(frame_X, y),
         re.escape(f"{NON_NUMERIC} (could not convert string to float: 'red'). "
                   "Encode strings and categories first")),
    case("string-X-predict", fitted(CLF),
         lambda e: e.predict(string_X[:, [0, 1, 0, 1]]),
         re.escape(f"HashedMLPClassifier {NON_NUMERIC}")),
    case("string-y-regressor", unfitted(REG), lambda e: e.fit(X, ["a", "b"] * 15),
         re.escape("HashedMLPRegressor needs numeric targets, but y has dtype <U1.")),
    # -- compression ----------------------------------------------------------
    *[case(f"compression={c!r}", unfitted(CLF, compression=c), lambda e: e.fit(X, y),
           param_error("compression", CLF, "a float in the range (0.0, 1.0]", c))
      for c in (0, 0.0, -0.5, 1.5, "abc", None)],
    # -- n_buckets ------------------------------------------------------------
    *[case(f"n_buckets={k!r}", unfitted(CLF, n_buckets=k), lambda e: e.fit(X, y),
           param_error("n_buckets", CLF,
                       "None, an int in the range [1, inf) or an array-like", k))
      for k in (0, -3, 2.5, "abc")],
    *[case(f"n_buckets={k!r}", unfitted(CLF, n_buckets=k), lambda e: e.fit(X, y),
           re.escape(f"n_buckets has {n} entries but the network has 2 weight "
                     "layers (hidden_layer_sizes=(8,) plus the output layer)"))
      for k, n in (([5], 1), ([5, 5, 5], 3), ([[5, 5]], 1))],
    *[case(f"n_buckets={k!r}", unfitted(CLF, n_buckets=k), lambda e: e.fit(X, y),
           re.escape(f"n_buckets must be an int >= 1 or one int >= 1 per layer, "
                     f"got {k!r}."))
      for k in ([5, 0], [5, -1], [5, 2.5], True)],
    # -- architecture ---------------------------------------------------------
    *[case(f"hidden_layer_sizes={h!r}", unfitted(CLF, hidden_layer_sizes=h),
           lambda e: e.fit(X, y),
           re.escape(f"hidden_layer_sizes must contain positive integers, got {h!r}."))
      for h in ((0,), (10, 0), (-4,), (2.5,))],
    case("hidden_layer_sizes=0", unfitted(CLF, hidden_layer_sizes=0),
         lambda e: e.fit(X, y),
         param_error("hidden_layer_sizes", CLF,
                     "an array-like or an int in the range [1, inf)", 0)),
    *[case(f"{name}={p!r}", unfitted(CLF, **{name: p}), lambda e: e.fit(X, y),
           param_error(name, CLF, "a float in the range [0.0, 1.0)", p))
      for name, p in itertools.product(("dropout", "input_dropout"), (1.0, 1, 1.5))],
    case("activation", unfitted(CLF, activation="softplus"), lambda e: e.fit(X, y),
         r"The 'activation' parameter of HashedMLPClassifier must be a str among "
         r"\{.*'relu'.*\}\. Got 'softplus' instead\."),
    # -- solver -----------------------------------------------------------------
    case("solver", unfitted(CLF, solver="newton"), lambda e: e.fit(X, y),
         r"The 'solver' parameter of HashedMLPClassifier must be a str among "
         r"\{.*'lbfgs'.*\}\. Got 'newton' instead\."),
    *[case(f"lbfgs-{name}", unfitted(REG, solver="lbfgs", **{name: 0.2}),
           lambda e: e.fit(X, y_reg),
           re.escape(f"solver='lbfgs' needs {name}=0 (got 0.2): L-BFGS's line "
                     "search needs the same loss at every evaluation, and "
                     f"dropout draws new masks each time. Set {name}=0.0 or "
                     "use solver='adam' or 'sgd'."))
      for name in ("dropout", "input_dropout")],
    case("lbfgs-rescale_grad", unfitted(CLF, solver="lbfgs", rescale_grad=True),
         lambda e: e.fit(X, y),
         re.escape("solver='lbfgs' needs rescale_grad=False: L-BFGS needs the "
                   "gradient of the loss, and rescaling changes it.")),
    case("max_fun=0", unfitted(CLF, solver="lbfgs", max_fun=0),
         lambda e: e.fit(X, y),
         param_error("max_fun", CLF, "an int in the range [1, inf)", 0)),
    *[case(f"{name}={p!r}", unfitted(REG, solver="adam", **{name: p}),
           lambda e: e.fit(X, y_reg),
           param_error(name, REG, "a float in the range [0.0, 1.0)", p))
      for name, p in itertools.product(("beta_1", "beta_2"), (1.0, -0.1))],
    *[case(f"epsilon={p!r}", unfitted(CLF, solver="adam", epsilon=p),
           lambda e: e.fit(X, y), param_error("epsilon", CLF,
                                              "a float in the range (0.0, inf)", p))
      for p in (0.0, -1e-8)],
    *[case(f"max_grad_norm={p!r}", unfitted(CLF, max_grad_norm=p),
           lambda e: e.fit(X, y),
           param_error("max_grad_norm", CLF, "None or a float in the range "
                       "(0.0, inf)", p))
      for p in (0, -1.0, "big")],
    case("rescale_grad='yes'", unfitted(CLF, rescale_grad="yes"),
         lambda e: e.fit(X, y), param_error("rescale_grad", CLF,
                                            "an instance of 'bool' or an instance "
                                            "of 'numpy.bool'", "yes")),
    case("rescale_grad-low_rank",
         lambda method: CLF(method="low_rank", rescale_grad=True),
         lambda e: e.fit(X, y),
         re.escape("rescale_grad=True divides each stored weight's gradient by the "
                   "number of virtual weights that share it, which "
                   "method='low_rank' does not define")),
    case("method", lambda method: CLF(method="bogus"), lambda e: e.fit(X, y),
         r"The 'method' parameter of HashedMLPClassifier must be a str among "
         r"\{.*'hashing'.*\}\. Got 'bogus' instead\."),
    case("early_stopping-validation_fraction=0",
         unfitted(REG, early_stopping=True, validation_fraction=0.0),
         lambda e: e.fit(X, y_reg),
         re.escape("The validation set is too small. Increase 'validation_fraction' "
                   "or the size of your dataset: validation_fraction=0.0 of 30 "
                   "samples holds out 0, and early stopping needs at least 2.")),
    # -- partial_fit ----------------------------------------------------------
    case("partial_fit-no-classes", unfitted(CLF), lambda e: e.partial_fit(X, y),
         re.escape("classes must be passed on the first call to partial_fit.")),
    case("partial_fit-unseen-class", started_online(CLF),
         lambda e: e.partial_fit(X, np.where(y == 2, 5, y)),
         r"`y` has classes not in `self\.classes_`\. `self\.classes_` has \[0 1 2\]\. "
         r".*unseen: \[5\]\."),
    case("partial_fit-classes-outside-first-call", unfitted(CLF),
         lambda e: e.partial_fit(X, y, classes=[0, 1]),
         r"`y` has classes not in `self\.classes_`\..*unseen: \[2\]\."),
    case("partial_fit-other-classes", started_online(CLF),
         lambda e: e.partial_fit(X, y, classes=[0, 1, 2, 3]),
         re.escape("classes=[0, 1, 2, 3] is not the same as on the first call to "
                   "partial_fit")),
    case("partial_fit-other-n_outputs", started_online(REG),
         lambda e: e.partial_fit(X, np.c_[y_reg, y_reg]),
         re.escape("y has 2 outputs but the model was fitted with 1.")),
    case("predict-unfitted", unfitted(CLF), lambda e: e.predict(X),
         re.escape("This HashedMLPClassifier instance is not fitted yet."),
         exc=NotFittedError),
    # -- sample weights -------------------------------------------------------
    case("sample_weight-nan", unfitted(CLF),
         lambda e: e.fit(X, y, sample_weight=with_value(np.ones(30), NAN, 0)),
         re.escape("Input sample_weight contains NaN.")),
    case("sample_weight-negative", unfitted(REG),
         lambda e: e.fit(X, y_reg, sample_weight=-np.ones(30)),
         re.escape("Negative values in data passed to `sample_weight`.")),
    # -- sizes that cannot be materialised ------------------------------------
    case("hidden_layer_sizes=(10**10,)", unfitted(CLF, hidden_layer_sizes=(10**10,)),
         lambda e: e.fit(X, y), too_large(4, 10**10)),
    case("10**13-virtual-weights-hidden",
         unfitted(CLF, hidden_layer_sizes=(25 * 10**11,)),
         lambda e: e.fit(X, y), too_large(4, 25 * 10**11)),
    # no method materialises the first layer on sparse input: the limit is on
    # its stored weights (shrunk: all of its 10**11 x 1 dense weights)
    case("10**13-virtual-weights-n_features", unfitted(CLF, hidden_layer_sizes=(100,)),
         lambda e: e.fit(huge_sparse, y),
         r"Layer 0 would store 1\.25e\+12 weights; at most 2147483647 \(2\*\*31 - "
         r"1\) are supported per layer"),
    case("more-memory-than-the-machine", unfitted(CLF, hidden_layer_sizes=(2000,)),
         fit_on_machine_with(2**16, X_wide, y),
         r"Training this network needs about [\d.e-]+ GiB, more than the 6\.1e-05 GiB "
         r"of memory of this machine: its layers \[60, \d+, 3\] have \[\d+, \d+\] "
         r"virtual weights, and training materialises each layer's virtual matrix\. "
         r"Use smaller hidden_layer_sizes, fewer input features or a smaller "
         r"batch_size\."),
]


def _no_work(*args, **kwargs):
    raise AssertionError("a layer was built before the bad input was rejected")


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_rejected_before_any_work(case, method, monkeypatch):
    est = case.setup(method)
    before = pickle.dumps(est)
    monkeypatch.setattr(_layers, "make_layer", _no_work)
    with pytest.raises(case.exc, match=case.match):
        case.call(est)
    assert pickle.dumps(est) == before  # a fitted model is exactly as before


def test_partial_fit_of_a_single_row_is_an_online_update():
    for Est, kwargs in ((CLF, {"classes": [0, 1, 2]}), (REG, {})):
        est = make(Est, "hashing").partial_fit(X, target(Est), **kwargs)
        before = [w.copy() for w in est.buckets_]
        est.partial_fit(X[:1], target(Est)[:1])
        assert est.t_ == 31
        assert any(not np.array_equal(a, b) for a, b in zip(before, est.buckets_))
        assert np.isfinite(est.predict(X[:2]).astype(float)).all()


def test_object_X_of_numbers_trains_like_float_X():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = make(CLF, "hashing").fit(X.astype(object), y)
        b = make(CLF, "hashing").fit(X, y)
    for wa, wb in zip(a.buckets_, b.buckets_):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(X.astype(object)), b.predict_proba(X))


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("method, sparse",
                         [(m, s) for m in sorted(METHODS) for s in (False, True)])
def test_memory_estimate_bounds_what_a_fit_allocates(method, sparse, early_stopping):
    """The up-front memory check is only as good as its estimate: measure the
    peak of what a fit allocates (numpy arrays are traced by tracemalloc).
    Dense input: 100 features, 1000 hidden units, compression 1. Sparse input:
    20,000 features at 1% density, 200 hidden units, compression 1/8, the
    first layer never materialised."""
    r = np.random.RandomState(0)
    if sparse:
        X_ = sp.random(300, 20_000, density=0.01, format="csr", random_state=r)
        hidden, compression = 200, 1 / 8
    else:
        X_, hidden, compression = r.randn(300, 100), 1000, 1
    y_ = np.arange(300) % 5
    clf = make(CLF, method, hidden_layer_sizes=(hidden,), compression=compression,
               max_iter=2, early_stopping=early_stopping, **SGD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_[:100], y_[:100])  # compile the kernels outside the measurement
        clf = clone(clf)  # a first fit: random-edge masks are built in it
        tracemalloc.start()
        try:
            clf.fit(X_, y_)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    units = [X_.shape[1], len(clf.intercepts_[0]), 5]
    budgets = [len(w) for w in clf.buckets_]
    estimate = _network.training_bytes(method, units, budgets, np.float64, 200,
                                       30 if early_stopping else 0, sparse)
    assert peak <= estimate <= 1.4 * peak


# --------------------------------------------------------------------------
# divergence
# --------------------------------------------------------------------------
@pytest.mark.parametrize("Est", [CLF, REG])
def test_failed_partial_fit_changes_nothing(Est):
    """A diverging partial_fit leaves the model exactly as it was: predictions,
    pickled state and the result of the following updates."""
    kwargs = {"classes": [0, 1, 2]} if Est is CLF else {}
    model = make(Est, "hashing", batch_size=10, **SGD).partial_fit(X, target(Est),
                                                                    **kwargs)
    twin = make(Est, "hashing", batch_size=10, **SGD).partial_fit(X, target(Est),
                                                                   **kwargs)
    before = model.predict(X)
    state = pickle.dumps(model)
    with np.errstate(all="ignore"), pytest.raises(ValueError) as info:
        model.partial_fit(X * 1e200, target(Est))
    assert isinstance(info.value, _training.DivergenceError)
    assert re.match(
        r"Training diverged in epoch 2: the (loss|gradient|parameters) became "
        r"non-finite \(.*\)\. The model is left as it was before this call\. Lower "
        r"learning_rate_init \(currently 0\.01\) or scale the input features \(e\.g\. "
        r"with StandardScaler\)\.$", str(info.value))
    np.testing.assert_array_equal(model.predict(X), before)
    assert pickle.dumps(model) == state
    model.partial_fit(X, target(Est))
    twin.partial_fit(X, target(Est))
    for a, b in zip(model.buckets_ + model.intercepts_,
                    twin.buckets_ + twin.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_fit_diverging_in_a_later_epoch_keeps_the_completed_epochs(monkeypatch):
    """The loss turns NaN in epoch 3: the model is the one of 2 epochs, bit for bit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = make(REG, "hashing", batch_size=10, max_iter=2, **SGD).fit(X, y_reg)
    original = _network.Trainer.step
    calls = itertools.count(1)

    def step(self, *args):
        loss = original(self, *args)
        return np.nan if next(calls) == 8 else loss  # 3 steps per epoch

    monkeypatch.setattr(_network.Trainer, "step", step)
    model = make(REG, "hashing", batch_size=10, max_iter=50, **SGD)
    with pytest.raises(ValueError, match=re.escape(
            "Training diverged in epoch 3: the loss became non-finite (nan). Training "
            "stopped; the model keeps the result of its 2 completed epoch(s). Lower "
            "learning_rate_init (currently 0.01)")):
        model.fit(X, y_reg)
    assert model.n_iter_ == 2
    assert model.loss_curve_ == reference.loss_curve_
    for a, b in zip(model.buckets_ + model.intercepts_,
                    reference.buckets_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


@pytest.mark.parametrize("Est", [CLF, REG])
def test_absurd_learning_rate_fails_clearly_and_warm_start_keeps_the_model(Est):
    with np.errstate(all="ignore"):
        fresh = make(Est, "hashing", batch_size=10, learning_rate_init=1e300,
                     solver="sgd")
        with pytest.raises(ValueError, match=re.escape(
                "The model is left as it was before this call. Lower "
                "learning_rate_init (currently 1e+300)")):
            fresh.fit(X, target(Est))
        assert not hasattr(fresh, "buckets_")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = make(Est, "hashing", batch_size=10, warm_start=True, **SGD).fit(
                X, target(Est))
        state = pickle.dumps(model)
        model.set_params(learning_rate_init=1e300)
        with pytest.raises(ValueError, match="Training diverged in epoch 4"):
            model.fit(X, target(Est))
    model.set_params(learning_rate_init=0.01)
    assert pickle.dumps(model) == state


# --------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------
FIT_IN_A_FRESH_PROCESS = """
import json, sys, warnings
import numba, numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from sklearn.exceptions import ConvergenceWarning
sys.path.insert(0, sys.argv[1])
from test_robustness import reproducibility_fits
warnings.simplefilter("ignore", ConvergenceWarning)
blas = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
with threadpool_limits(1, "blas"):
    pinned = reproducibility_fits()
free = reproducibility_fits()  # BLAS on the threads of the environment
np.savez(sys.argv[2], *pinned)
np.savez(sys.argv[3], *free)
print(json.dumps({"numba_threads": numba.get_num_threads(), "blas_threads": blas}))
"""


def reproducibility_fits():
    """All fitted parameters of fits that exercise dropout, shuffling, early
    stopping, float32 and float64, every method, and a 1000-unit layer whose
    products are long enough for a threaded BLAS to block them differently."""
    r = np.random.RandomState(0)
    X_ = r.randn(400, 64)
    y_ = (X_[:, :9] > 0).sum(axis=1)  # 10 classes
    target_ = X_[:, :4] @ [1.0, -2.0, 0.5, 3.0]
    fits = [
        (CLF(hidden_layer_sizes=(1000,), dropout=0.3, input_dropout=0.2,
             max_iter=2, random_state=0), X_.astype(np.float32), y_),
        (REG(hidden_layer_sizes=(128, 64), dropout=0.2, early_stopping=True,
             max_iter=2, random_state=0), X_, target_),
    ] + [
        (CLF(hidden_layer_sizes=(128,), method=method, dropout=0.2, max_iter=2,
             random_state=0), X_.astype(np.float32), y_)
        for method in sorted(METHODS) if method != "hashing"
    ]
    params = []
    for est, X_fit, y_fit in fits:
        est.fit(X_fit, y_fit)
        params += est.buckets_ + est.intercepts_
    return params


def _load(path):
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.slow
def test_fits_are_bit_identical_across_numba_threads_and_processes(tmp_path):
    """Two fresh processes, NUMBA_NUM_THREADS (and the BLAS env) 1 and 2: with
    the BLAS pinned to one thread every parameter is bit-identical, between
    the processes and with this one. Numba's threads never matter (the
    kernels are serial); OpenBLAS's may: on more threads it blocks long
    products differently, so those fits agree to rounding only (see the
    user guide, "Robustness and reproducibility")."""
    runs = {}
    for n in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n),
                   OMP_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
        paths = [str(tmp_path / f"{n}-{kind}.npz") for kind in ("pinned", "free")]
        runs[n] = (subprocess.Popen(
            [sys.executable, "-c", FIT_IN_A_FRESH_PROCESS, str(TESTS), *paths],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), paths)
    fits = {}
    for n, (run, paths) in runs.items():
        stdout, stderr = run.communicate()
        assert run.returncode == 0, stderr
        info = json.loads(stdout.strip().splitlines()[-1])
        assert info == {"numba_threads": n, "blas_threads": [n]}  # settings took
        fits[n] = [_load(path) for path in paths]
    with warnings.catch_warnings(), threadpool_limits(1, "blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        here = reproducibility_fits()

    for a, b, c in zip(fits[1][0], fits[2][0], here):
        np.testing.assert_array_equal(a, b)  # NUMBA_NUM_THREADS 1 vs 2
        np.testing.assert_array_equal(a, c)  # another process
    for a, b in zip(fits[1][1], fits[1][0]):
        np.testing.assert_array_equal(a, b)  # one BLAS thread either way
    for a, b in zip(fits[2][1], fits[2][0]):  # BLAS on 2 threads vs 1
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_clone_is_an_unfitted_twin():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make(CLF, "hashing", dropout=0.2).fit(X, y)
        twin = clone(model)
        assert twin.get_params() == model.get_params()
        assert not any(k.endswith("_") and not k.startswith("_")
                       for k in vars(twin))
        with pytest.raises(NotFittedError):
            twin.predict(X)
        twin.fit(X, y)
    for a, b in zip(model.buckets_, twin.buckets_):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------
# concurrency
# --------------------------------------------------------------------------
def _at_once(n_threads, func):
    """Run func in n_threads threads released together; return their results."""
    barrier = threading.Barrier(n_threads)

    def run(_):
        barrier.wait()
        return func()

    with ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(run, range(n_threads)))


@pytest.mark.parametrize("sparse", [False, True])
def test_eight_threads_predict_like_a_serial_call(sparse):
    r = np.random.RandomState(1)
    X_ = r.randn(2000, 64)
    y_ = (X_[:, 0] > 0).astype(int) + (X_[:, 1] > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CLF(hidden_layer_sizes=(128, 64), max_iter=2, random_state=0)
        model.fit(X_, y_)
    X_in = sp.csr_matrix(np.where(np.abs(X_) > 1, X_, 0)) if sparse else X_
    serial = model.predict_proba(X_in)
    for proba in _at_once(8, lambda: model.predict_proba(X_in)):
        np.testing.assert_array_equal(proba, serial)


def test_concurrent_fits_with_dropout_match_serial_fits():
    """Dropout masks are a hash of (seed, step, row, unit): threads running
    other fits at the same time change nothing."""
    params = dict(hidden_layer_sizes=(32,), dropout=0.3, input_dropout=0.1,
                  max_iter=3, random_state=0)

    def fit():
        return CLF(**params).fit(X_wide, y)

    with warnings.catch_warnings():  # filters are process-wide: set them here
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = fit()
        models = _at_once(4, fit)
    for model in models:
        for a, b in zip(model.buckets_, serial.buckets_):
            np.testing.assert_array_equal(a, b)


def test_grid_search_with_the_threading_backend():
    grid = {"compression": [1, 1 / 8], "dropout": [0.0, 0.2]}
    base = CLF(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = GridSearchCV(base, grid, cv=3).fit(X_wide, y)
        with parallel_backend("threading", n_jobs=2):
            threaded = GridSearchCV(base, grid, cv=3, n_jobs=2).fit(X_wide, y)
    np.testing.assert_array_equal(threaded.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert threaded.best_params_ == serial.best_params_
    np.testing.assert_array_equal(threaded.predict_proba(X_wide),
                                  serial.predict_proba(X_wide))


# --------------------------------------------------------------------------
# interruption
# --------------------------------------------------------------------------
def test_ctrl_c_mid_epoch_leaves_a_usable_model(monkeypatch):
    """A real SIGINT, delivered by the interpreter wherever the fit happens to
    be once the second epoch is under way."""
    X_ = np.random.RandomState(2).randn(400, 16)
    y_ = (X_[:, 0] + X_[:, 1] > 0).astype(int)
    original = _network.Trainer.step
    calls = itertools.count(1)
    second_epoch = threading.Event()

    def step(self, *args):
        if next(calls) == 25:  # 20 steps per epoch
            second_epoch.set()
        return original(self, *args)

    def press_ctrl_c():
        second_epoch.wait()
        _thread.interrupt_main()

    monkeypatch.setattr(_network.Trainer, "step", step)
    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    model = CLF(hidden_layer_sizes=(32,), batch_size=20, max_iter=500, tol=0,
                n_iter_no_change=500, random_state=0)
    try:
        with pytest.warns(UserWarning, match="Training interrupted by user"):
            model.fit(X_, y_)
    finally:
        second_epoch.set()
        presser.join()
    assert 1 <= model.n_iter_ < 500
    assert model._step >= 24  # the signal came after 24 completed steps
    proba = model.predict_proba(X_)
    assert np.isfinite(proba).all()
    np.testing.assert_array_equal(model.predict(X_), model.classes_[proba.argmax(1)])
    model.partial_fit(X_, y_)  # and training can go on
    assert pickle.loads(pickle.dumps(model)).predict(X_).shape == (400,)


# --------------------------------------------------------------------------
# memory: the machine's, or a container's limit
# --------------------------------------------------------------------------
def _fake_cgroups(tmp_path, membership, mounts, limits):
    (tmp_path / "cgroup").write_text(membership)
    (tmp_path / "mountinfo").write_text(
        "".join(f"3{i} 1 0:3{i} / {tmp_path / folder} rw - {fstype} cgroup "
                f"{options}\n" for i, (folder, fstype, options) in enumerate(mounts)))
    for path, value in limits.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(value + "\n")
    return _memory.cgroup_memory_limit(tmp_path / "cgroup", tmp_path / "mountinfo")


def test_cgroup_v1_limit_is_the_tightest_of_the_ancestors(tmp_path):
    limit = _fake_cgroups(
        tmp_path, "5:cpu:/\n4:memory:/jobs/one\n0::/\n",
        [("cpu", "cgroup", "rw,cpu"), ("memory", "cgroup", "rw,memory")],
        {"memory/memory.limit_in_bytes": "9223372036854771712",
         "memory/jobs/memory.limit_in_bytes": "500000",
         "memory/jobs/one/memory.limit_in_bytes": "900000",
         "cpu/jobs/one/memory.limit_in_bytes": "7"})
    assert limit == 500000


def test_cgroup_v2_memory_max(tmp_path):
    limit = _fake_cgroups(
        tmp_path, "0::/user/job\n", [("unified", "cgroup2", "rw")],
        {"unified/user/job/memory.max": "max", "unified/user/memory.max": "2048"})
    assert limit == 2048
    assert _fake_cgroups(tmp_path, "0::/user/job\n", [("unified", "cgroup2", "rw")],
                         {"unified/user/memory.max": "max"}) is None


def test_no_cgroup_means_no_limit(tmp_path):
    assert _memory.cgroup_memory_limit(tmp_path / "none", tmp_path / "none") is None


def test_memory_check_reads_the_cgroup_limit(monkeypatch):
    monkeypatch.setattr(_memory, "cgroup_memory_limit", lambda: 2**16)
    est = HashedMLPClassifier(hidden_layer_sizes=(2000,))
    with pytest.raises(ValueError, match=re.escape(
            "GiB of memory of this process's cgroup (its memory limit): its layers "
            "[60, 2000, 3]")):
        est.fit(X_wide, y)
    assert _memory.available_memory()[0] == 2**16
