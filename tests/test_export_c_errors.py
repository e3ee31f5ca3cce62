"""export_c: bad input gets a clear error naming what is wrong, and nothing is
written."""

import copy
import re

import numpy as np
import pytest
from export_c_helpers import fitted, make_problems
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, export_c


@pytest.fixture(scope="session")
def problems():
    return make_problems()


@pytest.fixture(scope="module")
def small_model(problems):
    return fitted(problems, "binary", hidden_layer_sizes=(8,), max_iter=5)[0]


def test_pipeline_with_other_preprocessing_is_rejected(small_model, problems,
                                                       tmp_path):
    _, X, _ = problems["binary"]
    pipe = make_pipeline(PCA(20).fit(X), small_model)
    with pytest.raises(ValueError, match=re.escape(
            "export_c can fold only a single StandardScaler placed before the model "
            "into the exported model; this Pipeline has 'pca' (PCA).")):
        export_c(pipe, tmp_path / "m.c")
    pipe = make_pipeline(StandardScaler().fit(X), PCA(20).fit(X), small_model)
    with pytest.raises(ValueError, match=re.escape(
            "this Pipeline has 'standardscaler' (StandardScaler), 'pca' (PCA).")):
        export_c(pipe, tmp_path / "m.c")
    assert not (tmp_path / "m.c").exists()


@pytest.mark.parametrize("method", ["low_rank", "random_edges", "shrunk"])
@pytest.mark.parametrize("is_fitted", [True, False])
def test_other_methods_are_rejected(problems, tmp_path, method, is_fitted):
    if is_fitted:
        model = fitted(problems, "binary", hidden_layer_sizes=(8,), max_iter=2,
                       method=method)[0]
    else:
        model = HashedMLPClassifier(method=method)
    with pytest.raises(ValueError, match=re.escape(
            "export_c exports hashed layers only (method='hashing' or "
            f"'hashing_blocks'); this model uses method={method!r}.")):
        export_c(make_pipeline(StandardScaler(), model), tmp_path / "m.c")
    assert not (tmp_path / "m.c").exists()


def test_the_fitted_method_decides(problems, small_model, tmp_path):
    # a hashed model whose parameter changed after fit still exports ...
    export_c(copy.deepcopy(small_model).set_params(method="low_rank"),
             tmp_path / "m.c")
    # ... and a low-rank model does not, whatever its parameter says now
    low_rank = fitted(problems, "binary", hidden_layer_sizes=(8,), max_iter=2,
                      method="low_rank")[0]
    with pytest.raises(ValueError, match="method='low_rank'"):
        export_c(low_rank.set_params(method="hashing"), tmp_path / "m.c")


def test_unfitted_and_foreign_models_are_rejected(small_model, tmp_path):
    with pytest.raises(NotFittedError):
        export_c(HashedMLPClassifier(), tmp_path / "m.c")
    with pytest.raises(NotFittedError):
        export_c(make_pipeline(StandardScaler(), HashedMLPRegressor()),
                 tmp_path / "m.c")
    with pytest.raises(NotFittedError, match="StandardScaler"):
        export_c(make_pipeline(StandardScaler(), small_model), tmp_path / "m.c")
    with pytest.raises(TypeError, match="got LogisticRegression"):
        export_c(LogisticRegression(), tmp_path / "m.c")


@pytest.mark.parametrize("name", ["1model", "my-model", "int", "", "modèle", None])
def test_bad_name(small_model, tmp_path, name):
    with pytest.raises(ValueError, match="name must be a valid C identifier"):
        export_c(small_model, tmp_path / "m.c", name=name)


def test_bad_path_and_options(small_model, tmp_path):
    with pytest.raises(ValueError, match=re.escape(
            "path must name a C source file ending with '.c'")):
        export_c(small_model, tmp_path / "m.h")
    with pytest.raises(ValueError, match=re.escape(
            "buckets must be 'float32', 'int8' or 'int4', got 'int2'.")):
        export_c(small_model, tmp_path / "m.c", buckets="int2")


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e39])  # 1e39 overflows float32
def test_non_finite_parameters_are_rejected(small_model, tmp_path, value):
    model = copy.deepcopy(small_model)
    model.buckets_[1] = model.buckets_[1].copy()
    model.buckets_[1][0] = value
    with pytest.raises(ValueError, match="Layer 1 of the model has buckets or biases "
                       "that are not finite in float32"):
        export_c(model, tmp_path / "m.c")


