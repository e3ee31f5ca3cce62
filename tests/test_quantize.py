"""Training as stored: ``quantize="int8"`` / ``"int4"`` rounds each layer's
buckets in the forward pass with the export's rule, so the fitted model is the
quantized model (its C export computes its predictions)."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from export_c_helpers import (
    N_TRAIN,
    Compiled,
    assert_matches_model,
    fit_quietly,
    fitted,
    make_problems,
    needs_cc,
)
from sklearn.model_selection import GridSearchCV

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor
from sk_hashednets._persistence import StateError
from sk_hashednets._quantize import LEVELS, quantize_layer, rounded, stored_bytes
from sk_hashednets._training import split

METHODS = ["hashing", "hashing_blocks"]
PRECISIONS = ["int8", "int4"]


@pytest.fixture(scope="session")
def problems():
    return make_problems()


def assert_on_grid(model, precision):
    """buckets_ are the rounding of the float buckets, with at most 2L + 1
    values per layer, the largest a full level."""
    assert model.quantize_ == precision
    for w, latent in zip(model.buckets_, model._latent_buckets):
        np.testing.assert_array_equal(w, rounded(latent, precision))
        q, scale = quantize_layer(latent, precision)
        np.testing.assert_array_equal(w, (np.float64(scale) * q).astype(w.dtype))
        assert len(np.unique(w)) <= 2 * LEVELS[precision] + 1
        assert not np.array_equal(w, latent)  # the float buckets are kept


def _supports(buckets):
    """Whether export_c writes this precision yet."""
    from sk_hashednets._export import _BUCKET_TYPES

    return buckets in _BUCKET_TYPES


@needs_cc
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind, dtype", [("multiclass", np.float64),
                                         ("binary", np.float32),
                                         ("regressor", np.float64)])
def test_predict_is_the_export(problems, tmp_path, kind, dtype, method, precision):
    """The C file at the trained precision computes predict_proba / predict
    to 1e-5; its float32 export too (the rounded values are the model)."""
    model, X = fitted(problems, kind, dtype=dtype, method=method,
                      quantize=precision)
    assert_on_grid(model, precision)
    assert_matches_model(model, X, Compiled(model, tmp_path, "f32")(X))
    if not _supports(precision):
        pytest.skip(f"export_c has no buckets={precision!r} yet")
    c_out = Compiled(model, tmp_path, "q", buckets=precision)(X)
    assert_matches_model(model, X, c_out)
    assert f"{precision} buckets" in (tmp_path / "q.h").read_text()


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("precision", PRECISIONS)
def test_every_solver_trains_the_rounded_model(problems, solver, precision):
    model, X = fitted(problems, "multiclass", solver=solver, quantize=precision,
                      max_iter=40, learning_rate_init=0.01)
    assert_on_grid(model, precision)
    assert model.loss_curve_[-1] < 0.85 * model.loss_curve_[0]
    _, X_all, y_all = problems["multiclass"]
    chance = np.bincount(y_all).max() / len(y_all)  # 0.25; float models: 0.45-0.52
    assert model.score(X_all[N_TRAIN:], y_all[N_TRAIN:]) > chance + 0.1


def test_sparse_input(problems):
    _, X, y = problems["binary"]
    X = np.where(np.abs(X) > 1, X, 0)[:N_TRAIN]
    model = HashedMLPClassifier((16,), quantize="int4", max_iter=10,
                                random_state=0)
    fit_quietly(model, sp.csr_matrix(X), y[:N_TRAIN])
    assert_on_grid(model, "int4")
    np.testing.assert_allclose(model.predict_proba(sp.csr_matrix(X)),
                               model.predict_proba(X), rtol=1e-12, atol=1e-12)


def test_float_training_is_unchanged(problems):
    """quantize=None keeps no float copy and reports float32 bytes (the fits
    themselves are pinned bit for bit by tests/test_refactor_golden.py)."""
    model, _ = fitted(problems, "binary", max_iter=5)
    assert model.quantize_ is None and not hasattr(model, "_latent_buckets")
    sizes = [(w.size, b.size) for w, b in zip(model.buckets_, model.intercepts_)]
    assert model.n_stored_bytes_ == 4 * model.n_stored_params_
    for precision in PRECISIONS:
        q_model, _ = fitted(problems, "binary", max_iter=5, quantize=precision)
        assert q_model.n_stored_bytes_ == sum(stored_bytes(k, n, precision)
                                              for k, n in sizes)
    # int4 holds two buckets a byte: about half a byte less per bucket than int8
    int8 = sum(stored_bytes(k, n, "int8") for k, n in sizes)
    int4 = sum(stored_bytes(k, n, "int4") for k, n in sizes)
    assert int8 - int4 == sum(k - (k + 1) // 2 for k, _ in sizes)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_partial_fit_resumes_from_the_float_buckets(problems, precision):
    _, X, y = problems["multiclass"]
    # plain SGD keeps no solver state: a saved copy resumes exactly as the model
    model = HashedMLPClassifier((24,), quantize=precision, random_state=0,
                                solver="sgd", momentum=0.0, learning_rate_init=0.01)
    classes = np.unique(y)
    for chunk in np.array_split(np.arange(N_TRAIN), 4)[:2]:
        model.partial_fit(X[chunk], y[chunk], classes=classes)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.quantize_ == precision
    before = [w.copy() for w in model._latent_buckets]
    last = np.array_split(np.arange(N_TRAIN), 4)[2]
    model.partial_fit(X[last], y[last])
    copy.partial_fit(X[last], y[last])
    assert_on_grid(model, precision)
    # small steps accumulate in the float buckets between calls
    assert any(not np.array_equal(a, b) for a, b in zip(before,
                                                        model._latent_buckets))
    for a, b in zip(model.buckets_ + model._latent_buckets,
                    copy.buckets_ + copy._latent_buckets):
        np.testing.assert_array_equal(a, b)


def test_warm_start_switches_precision(problems):
    _, X, y = problems["regressor"]
    X, y = X[:N_TRAIN], y[:N_TRAIN]
    model = fit_quietly(HashedMLPRegressor((24,), max_iter=20, random_state=0),
                        X, y)
    floats = [w.copy() for w in model.buckets_]
    model.set_params(warm_start=True, quantize="int4", max_iter=1)
    fit_quietly(model, X, y)
    assert_on_grid(model, "int4")
    assert len(model.loss_curve_) == 21
    # one epoch from the float model's buckets, not from fresh ones
    assert max(np.abs(a - b).max() for a, b in zip(floats,
                                                   model._latent_buckets)) < 0.05
    model.set_params(quantize=None)
    fit_quietly(model, X, y)
    assert model.quantize_ is None and not hasattr(model, "_latent_buckets")
    assert len(np.unique(model.buckets_[0])) > 2 * LEVELS["int4"] + 1


@pytest.mark.parametrize("method", METHODS)
def test_early_stopping_scores_the_rounded_model(problems, method):
    _, X, y = problems["multiclass"]
    X, y = X[:N_TRAIN], y[:N_TRAIN]
    model = fit_quietly(HashedMLPClassifier(
        (24,), quantize="int4", method=method, early_stopping=True, max_iter=30,
        n_iter_no_change=3, random_state=0), X, y)
    assert_on_grid(model, "int4")
    _, (X_val, y_val, _) = split(model, model, X, X, y, None, True)
    # the model kept is the best epoch's, scored as stored
    assert model.score(X_val, y_val) == model.best_validation_score_


def test_grid_search_over_compression_and_precision(problems):
    _, X, y = problems["binary"]
    search = GridSearchCV(
        HashedMLPClassifier((16,), max_iter=15, random_state=0),
        {"compression": [1 / 8, 1 / 32], "quantize": [None, "int8", "int4"]},
        cv=2, error_score="raise")
    with pytest.warns(Warning):  # ConvergenceWarning at 15 epochs
        search.fit(X[:200], y[:200])
    assert len(search.cv_results_["params"]) == 6
    best = search.best_estimator_
    assert best.quantize_ == search.best_params_["quantize"]


def test_unknown_precision_is_refused(problems):
    _, X, y = problems["binary"]
    model = HashedMLPClassifier(quantize="int2")
    with pytest.raises(ValueError, match=r"'quantize' parameter.*'int(8|4)'"):
        model.fit(X, y)
    assert not hasattr(model, "buckets_")


def test_saved_state_is_checked(problems):
    model, _ = fitted(problems, "binary", max_iter=5, quantize="int8")
    state = model.__getstate__()
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.buckets_[0], model.buckets_[0])
    assert loaded.n_stored_bytes_ == model.n_stored_bytes_
    bad = dict(state, _latent_buckets=[w + 1 for w in model._latent_buckets])
    with pytest.raises(StateError, match="not the int8 rounding"):
        HashedMLPClassifier().__setstate__(bad)
    with pytest.raises(StateError, match="quantize_ must be one of"):
        HashedMLPClassifier().__setstate__(dict(state, quantize_="int2"))
