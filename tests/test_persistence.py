"""Saving and loading fitted models: skops, pickle, joblib, and models saved by
earlier versions (tests/fixtures/<version>[-format<N>]/, written by
make_fixtures.py)."""

import pickle
import re
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor
from sk_hashednets._persistence import STATE_FORMAT

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.pkl"))


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.fixture(scope="module")
def fitted(small_digits):
    """One fitted model of each kind, with the data to predict on."""
    X, y = small_digits
    X_ml, Y_ml = make_multilabel_classification(n_samples=120, n_features=8,
                                                n_classes=3, random_state=0)
    X_ml = StandardScaler().fit_transform(X_ml)
    kwargs = dict(hidden_layer_sizes=(24, 12), max_iter=15, random_state=0)
    return {
        "multiclass": (_fit(HashedMLPClassifier(**kwargs), X, y), X),
        "binary-float32": (
            _fit(HashedMLPClassifier(**kwargs), X.astype(np.float32),
                 np.where(y < 5, "low", "high")),
            X.astype(np.float32),
        ),
        "multilabel": (_fit(HashedMLPClassifier(**kwargs), X_ml, Y_ml), X_ml),
        "regressor": (_fit(HashedMLPRegressor(**kwargs), X, X[:, :3] * 10 + 5), X),
        "pipeline": (
            _fit(make_pipeline(StandardScaler(), HashedMLPClassifier(**kwargs)),
                 X * 16 + 3, y),
            X * 16 + 3,
        ),
    }


def _outputs(model, X):
    methods = ("predict", "predict_proba", "predict_log_proba")
    return {m: getattr(model, m)(X) for m in methods if hasattr(model, m)}


def _assert_same_outputs(model, twin, X):
    expected = _outputs(model, X)
    got = _outputs(twin, X)
    assert got.keys() == expected.keys()
    for method in expected:
        # equal to the bit: same dtype, same values
        assert got[method].dtype == expected[method].dtype
        np.testing.assert_array_equal(got[method], expected[method], err_msg=method)


KINDS = ["multiclass", "binary-float32", "multilabel", "regressor", "pipeline"]


@pytest.mark.parametrize("kind", KINDS)
def test_skops_round_trip_trusts_only_our_estimators(fitted, kind):
    model, X = fitted[kind]
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    ours = type(model[-1] if kind == "pipeline" else model)
    assert untrusted == [f"sk_hashednets.{ours.__name__}"]
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)
    twin = sio.loads(data, trusted=untrusted)
    _assert_same_outputs(model, twin, X)


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_and_joblib_round_trips(fitted, kind, tmp_path):
    model, X = fitted[kind]
    joblib.dump(model, tmp_path / "model.joblib")
    for twin in (pickle.loads(pickle.dumps(model)),
                 joblib.load(tmp_path / "model.joblib")):
        _assert_same_outputs(model, twin, X)


def test_loaded_model_resumes_training(fitted):
    model, X = fitted["multiclass"]
    twin = pickle.loads(pickle.dumps(model))
    twin.partial_fit(X, model.predict(X))
    assert twin.n_iter_ == 1
    assert len(twin.loss_curve_) == len(model.loss_curve_) + 1


@pytest.mark.parametrize("kind", ["multiclass", "regressor"])
def test_pickled_state_holds_only_buckets_biases_and_seeds(fitted, kind):
    model, _ = fitted[kind]
    state = model.__getstate__()
    assert state["_sk_hashednets_state_format"] == STATE_FORMAT
    assert "_optimizer" not in state
    # fit drops the solver's moments at its end; its settings are numbers
    assert state["_solver_state"]["moments"] is None
    assert all(isinstance(v, (int, float, str)) for v in
               state["_solver_state"]["scalars"].values())
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    assert arrays["_packed_params"].size == model.n_stored_params_
    assert arrays["hash_seeds_"].shape == (model.n_layers_ - 1, 2)
    # besides those two, only per-output bookkeeping (classes, target scaling)
    others = {k: v.size for k, v in arrays.items()
              if k not in ("_packed_params", "hash_seeds_")}
    assert all(size <= model.n_outputs_ for size in others.values()), others


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_models_saved_by_earlier_versions_still_predict_the_same(path):
    with warnings.catch_warnings():
        # the fixtures were saved under some scikit-learn version; only our
        # own state format matters here
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        with open(path, "rb") as f:
            model = pickle.load(f)
    expected = np.load(path.with_suffix(".npz"), allow_pickle=False)
    X = expected["X"]
    methods = [m for m in expected.files if m in ("predict", "predict_proba")]
    assert "predict" in methods
    _assert_close_outputs(model, X, expected, methods)
    # a loaded model is a full estimator: its parameters, a clone, more training
    assert clone(model).get_params() == model.get_params()
    if path.parent.name == "0.1.0":  # it goes on training as it was trained,
        assert (model.solver, model.max_grad_norm) == ("sgd", 10.0)
        # from a fresh solver state: format 1 kept none
        with pytest.warns(UserWarning, match="has no solver state"):
            model.partial_fit(X, model.predict(X))
    elif "resume_X" in expected.files:  # exactly as the model that was saved
        model.partial_fit(expected["resume_X"], expected["resume_y"])
        _assert_close_outputs(model, X, expected, methods, prefix="resumed_")
    else:
        model.partial_fit(X, model.predict(X))


def _assert_close_outputs(model, X, expected, methods, prefix=""):
    for method in methods:
        got = getattr(model, method)(X)
        if method == "predict" and got.dtype.kind in "iUO":
            np.testing.assert_array_equal(got, expected[prefix + method])
        else:
            np.testing.assert_allclose(got, expected[prefix + method], rtol=1e-5,
                                       atol=1e-6, err_msg=prefix + method)


def test_low_rank_model_of_state_format_1_is_refused_with_a_reason(fitted):
    """Format 1's low rank learned both factors: its arrays have other sizes."""
    model = fitted["multiclass"][0]
    state = model.__getstate__()
    state["_sk_hashednets_state_format"] = 1
    state["_method"] = "low_rank"
    for name in ("solver", "max_grad_norm", "_solver_state"):
        state.pop(name)
    twin = object.__new__(type(model))
    with pytest.raises(ValueError, match=re.escape(
            "with state format 1): it was fitted with method='low_rank' before "
            "state format 2: it learned both factors of each layer then")):
        twin.__setstate__(state)
    state["_method"] = "hashing"
    twin.__setstate__(state)
    assert (twin.solver, twin.max_grad_norm) == ("sgd", 10.0)


def test_fixture_models_exist():
    versions = {p.parent.name for p in FIXTURES}
    assert {"0.1.0", "0.1.0-format3"} <= versions
    assert {p.stem for p in FIXTURES if p.parent.name == "0.1.0"} == {
        "multiclass_classifier", "binary_classifier", "regressor"}
    assert {p.stem for p in FIXTURES if p.parent.name == "0.1.0-format3"} == {
        "multiclass_classifier", "binary_classifier", "regressor",
        "partial_fit_classifier", "partial_fit_regressor"}


def test_parameter_added_later_takes_its_default(fitted, monkeypatch):
    """A model saved before a parameter existed loads with that parameter's default."""
    model, X = fitted["multiclass"]
    original = HashedMLPClassifier.__getstate__

    def older_getstate(self):  # as saved by a version without these parameters
        state = original(self)
        del state["n_iter_no_change"], state["input_dropout"]
        return state

    monkeypatch.setattr(HashedMLPClassifier, "__getstate__", older_getstate)
    data = pickle.dumps(model)
    monkeypatch.undo()
    twin = pickle.loads(data)
    assert twin.get_params()["n_iter_no_change"] == 10
    assert twin.get_params()["input_dropout"] == 0.0
    assert repr(clone(twin)) == repr(clone(model))
    _assert_same_outputs(model, twin, X)


def test_state_from_a_newer_version_is_refused(fitted):
    model, _ = fitted["multiclass"]
    state = model.__getstate__()
    state["_sk_hashednets_state_format"] = STATE_FORMAT + 1
    state["_sk_hashednets_version"] = "99.0"
    twin = HashedMLPClassifier.__new__(HashedMLPClassifier)
    with pytest.raises(ValueError, match=re.escape(
            f"saved by sk_hashednets 99.0 with state format {STATE_FORMAT + 1}")):
        twin.__setstate__(state)


# ---------------------------------------------------------------------------
# corrupted or crafted states are refused at load, with a message
# ---------------------------------------------------------------------------
def _digits_model():
    """The issue's example: a 64-512-10 digits model (4,096 first-layer buckets)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _fit(HashedMLPClassifier(hidden_layer_sizes=(512,), max_iter=2,
                                    random_state=0), X / 16, y), X / 16


def _three_buckets(state):
    sizes = state["_packed_sizes"]
    packed = state["_packed_params"]
    state["_packed_params"] = np.concatenate([packed[:3], packed[sizes[0]:]])
    state["_packed_sizes"] = [3, *sizes[1:]]


def _shortened(state):
    state["_packed_params"] = state["_packed_params"][:-5]


def _int_params(state):
    state["_packed_params"] = state["_packed_params"].astype(np.int64)


def _int_seeds(state):
    state["hash_seeds_"] = state["hash_seeds_"].astype(np.int64)


def _unknown_method(state):
    state["_method"] = "pruning"


def _missing_seeds(state):
    state["hash_seeds_"] = state["hash_seeds_"][:1]


def _wrong_classes(state):
    state["classes_"] = state["classes_"][:4]


CORRUPTIONS = [
    (_three_buckets, "its layers have sizes [64, 512, 10] and store [3, 640] "
                     "weights, but method='hashing' with its parameters "
                     "(hidden_layer_sizes=(512,), compression=0.125, "
                     "n_buckets=None) gives sizes [64, 512, 10] storing [4096, 640]."),
    (_shortened, "_packed_params holds 5253 values but _packed_sizes adds up to 5258."),
    (_int_params, "_packed_params must be an ndarray of dtype float32 or float64 "
                  "and 1 dimension(s), got int64 of shape (5258,)."),
    (_int_seeds, "hash_seeds_ must be an ndarray of dtype uint32 and shape (2, 2), "
                 "got int64 of shape (2, 2)."),
    (_missing_seeds, "hash_seeds_ must be an ndarray of dtype uint32 and shape "
                     "(2, 2), got uint32 of shape (1, 2)."),
    (_unknown_method, "_method must be one of ['hashing', 'hashing_blocks', "
                      "'low_rank', 'random_edges', 'shrunk'], got 'pruning'."),
    (_wrong_classes, "its targets (_y_type='multiclass', classes_=array([0, 1, 2, "
                     "3]), out_activation_='softmax') disagree with its 10 output "
                     "unit(s)."),
]


@pytest.fixture(scope="module")
def digits_model():
    return _digits_model()


@pytest.mark.parametrize("corrupt, problem", CORRUPTIONS,
                         ids=[c.__name__.strip("_") for c, _ in CORRUPTIONS])
@pytest.mark.parametrize("via", ["pickle", "skops"])
def test_inconsistent_state_is_refused_at_load(digits_model, monkeypatch, corrupt,
                                               problem, via):
    model, X = digits_model
    original = HashedMLPClassifier.__getstate__

    def corrupted_getstate(self):
        state = original(self)
        corrupt(state)
        return state

    monkeypatch.setattr(HashedMLPClassifier, "__getstate__", corrupted_getstate)
    if via == "pickle":
        data, load = pickle.dumps(model), pickle.loads
    else:
        data = sio.dumps(model)
        def load(data):
            return sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    monkeypatch.undo()
    from sk_hashednets import __version__

    with pytest.raises(ValueError, match=re.escape(
            f"Cannot load this HashedMLPClassifier (saved by sk_hashednets "
            f"{__version__} with state format {STATE_FORMAT}): {problem} The file "
            "is corrupted, or was not written by sk_hashednets.")):
        load(data)
    assert pickle.loads(pickle.dumps(model)).score(X, model.predict(X)) == 1.0


def test_newer_state_format_is_refused_through_skops(digits_model, monkeypatch):
    model, _ = digits_model
    original = HashedMLPClassifier.__getstate__

    def newer(self):
        state = original(self)
        state["_sk_hashednets_state_format"] = STATE_FORMAT + 1
        state["_sk_hashednets_version"] = "99.0"
        return state

    monkeypatch.setattr(HashedMLPClassifier, "__getstate__", newer)
    data = sio.dumps(model)
    monkeypatch.undo()
    with pytest.raises(ValueError, match=re.escape(
            f"saved by sk_hashednets 99.0 with state format {STATE_FORMAT + 1}; "
            f"this sk_hashednets (")):
        sio.loads(data, trusted=sio.get_untrusted_types(data=data))
