"""``sk_hashednets.quantize(model, buckets)``: a fitted copy whose buckets hold
exactly what an export stores, the board's reference; the original untouched."""

import copy

import numpy as np
import pytest
from export_c_helpers import (
    Compiled,
    assert_matches_model,
    fitted,
    make_problems,
    needs_cc,
)
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import sk_hashednets
from sk_hashednets import HashedMLPClassifier, quantize
from sk_hashednets._quantize import quantize_layer

PRECISIONS = ["int8", "int4"]


@pytest.fixture(scope="session")
def problems():
    return make_problems()


def _exported_values(w, precision):
    q, scale = quantize_layer(w, precision)
    return (np.float64(scale) * q).astype(w.dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("method", ["hashing", "hashing_blocks"])
def test_buckets_hold_what_the_export_stores(problems, method, precision, dtype):
    model, X = fitted(problems, "multiclass", dtype=dtype, method=method,
                      max_iter=20)
    saved = copy.deepcopy(model)
    out = quantize(model, precision)
    assert out is not model and out.quantize_ == precision
    for w, w_out in zip(model.buckets_, out.buckets_):
        np.testing.assert_array_equal(w_out, _exported_values(w, precision))
        assert w_out.dtype == dtype
    assert out.n_stored_bytes_ < model.n_stored_bytes_
    # the original is untouched
    for a, b in zip(model.buckets_ + model.intercepts_,
                    saved.buckets_ + saved.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert model.quantize_ is None and not hasattr(model, "_latent_buckets")
    # the copy is a model: it predicts, and the same precision again is itself
    assert out.score(X, out.predict(X)) == 1
    again = quantize(out, precision)
    for a, b in zip(again.buckets_, out.buckets_):
        np.testing.assert_array_equal(a, b)


@needs_cc
@pytest.mark.parametrize("kind", ["multiclass", "regressor"])
def test_the_copy_predicts_what_the_int8_file_computes(problems, tmp_path, kind):
    model, X = fitted(problems, kind, max_iter=20)
    c_out = Compiled(model, tmp_path, buckets="int8")(X)
    assert_matches_model(model, X, c_out, reference=quantize(model, "int8"))


def test_a_trained_model_comes_back_as_it_is(problems):
    model, _ = fitted(problems, "binary", max_iter=10, quantize="int4")
    out = quantize(model, "int4")
    for a, b in zip(out.buckets_ + out._latent_buckets,
                    model.buckets_ + model._latent_buckets):
        np.testing.assert_array_equal(a, b)
    # to another precision: the stored int4 values are what gets rounded
    out8 = quantize(model, "int8")
    for w, w8 in zip(model.buckets_, out8.buckets_):
        np.testing.assert_array_equal(w8, _exported_values(w, "int8"))


@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler])
def test_pipeline(problems, scaler):
    _, X, y = problems["binary"]
    pipe = make_pipeline(scaler(), HashedMLPClassifier((16,), max_iter=10,
                                                       random_state=0))
    with pytest.warns(Warning):
        pipe.fit(X[:300], y[:300])
    out = quantize(pipe, "int4")
    assert out is not pipe and out[-1].quantize_ == "int4"
    assert pipe[-1].quantize_ is None
    expected = make_pipeline(pipe[0], quantize(pipe[-1], "int4"))
    np.testing.assert_array_equal(out.predict_proba(X[300:]),
                                  expected.predict_proba(X[300:]))


def test_bad_input(problems):
    model, _ = fitted(problems, "binary", max_iter=5)
    for bad in ("int2", "float32", None, 8):
        with pytest.raises(ValueError,
                           match=rf"buckets must be 'int8' or 'int4', got {bad!r}"):
            quantize(model, bad)
    with pytest.raises(NotFittedError):
        quantize(HashedMLPClassifier(), "int8")
    low_rank, _ = fitted(problems, "binary", max_iter=5, method="low_rank")
    with pytest.raises(ValueError, match=r"method='hashing' or 'hashing_blocks'.*"
                                         r"method='low_rank'"):
        quantize(low_rank, "int8")
    with pytest.raises(TypeError, match="got StandardScaler"):
        quantize(make_pipeline(StandardScaler()), "int8")
    assert sk_hashednets.quantize is quantize
