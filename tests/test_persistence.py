"""Saving and loading fitted models: skops, pickle, joblib, and models saved by
earlier versions (tests/fixtures/<version>/, written by make_fixtures.py)."""

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
from sk_hashednets._base import STATE_FORMAT

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
    assert twin.n_iter_ == model.n_iter_ + 1
    assert len(twin.loss_curve_) == len(model.loss_curve_) + 1


@pytest.mark.parametrize("kind", ["multiclass", "regressor"])
def test_pickled_state_holds_only_buckets_biases_and_seeds(fitted, kind):
    model, _ = fitted[kind]
    state = model.__getstate__()
    assert state["_sk_hashednets_state_format"] == STATE_FORMAT
    assert "_optimizer" not in state
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
    methods = [m for m in expected.files if m != "X"]
    assert "predict" in methods
    for method in methods:
        got = getattr(model, method)(X)
        if method == "predict" and got.dtype.kind in "iUO":
            np.testing.assert_array_equal(got, expected[method])
        else:
            np.testing.assert_allclose(got, expected[method], rtol=1e-5, atol=1e-6,
                                       err_msg=method)
    # a loaded model is a full estimator: its parameters, a clone, more training
    assert clone(model).get_params() == model.get_params()
    model.partial_fit(X, model.predict(X))


def test_fixture_models_exist():
    versions = {p.parent.name for p in FIXTURES}
    assert "0.1.0" in versions
    assert {p.stem for p in FIXTURES if p.parent.name == "0.1.0"} == {
        "multiclass_classifier", "binary_classifier", "regressor"}


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
