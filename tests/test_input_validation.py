"""Bad input gets a clear error, worded like scikit-learn's and naming the
parameter, before any work; a fitted model it reaches is left exactly as it
was. Every case runs for every weight parametrization."""

import itertools
import pickle
import re
import warnings
from collections import namedtuple
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from small_problems import CLF, REG, X, X_wide, make, target, y, y_reg

from sk_hashednets import _layers, _memory
from sk_hashednets._layers import METHODS


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
