"""register_skl2onnx: skl2onnx.to_onnx converts Pipelines ending with a hashed
estimator, with ZipMap on and off, and the regressor."""

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    load_digits,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, register_skl2onnx

ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")


@pytest.fixture(scope="module", autouse=True)
def registered():
    register_skl2onnx()
    register_skl2onnx()  # twice changes nothing


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def run(onx, X):
    sess = ort.InferenceSession(onx.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    return [o.name for o in sess.get_outputs()], sess.run(None, {"X": X})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400].astype(np.float32), y[:400]


@pytest.mark.parametrize("method", ["hashing", "hashing_blocks"])
@pytest.mark.parametrize("zipmap", [True, False])
def test_pipeline_classifier(digits, method, zipmap):
    X, y = digits
    pipe = fit(make_pipeline(StandardScaler(), HashedMLPClassifier(
        hidden_layer_sizes=(40,), compression=1 / 8, method=method, max_iter=20,
        random_state=0)), X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1], target_opset=18,
                           options={id(pipe[-1]): {"zipmap": zipmap}})
    names, (label, proba) = run(onx, X)
    # skl2onnx's names, as for its own classifiers
    assert names == (["output_label", "output_probability"] if zipmap
                     else ["label", "probabilities"])
    if zipmap:
        assert isinstance(proba, list) and sorted(proba[0]) == list(range(10))
        proba = np.array([[row[c] for c in range(10)] for row in proba])
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-5)


def test_other_transformers_and_binary_string_labels(digits):
    X, y = digits
    labels = np.where(y < 5, "low", "high")
    pipe = fit(make_pipeline(MinMaxScaler(), HashedMLPClassifier(
        hidden_layer_sizes=(20,), max_iter=20, random_state=0)), X, labels)
    onx = skl2onnx.to_onnx(pipe, X[:1], target_opset=21,
                           options={id(pipe[-1]): {"zipmap": False}})
    names, (label, proba) = run(onx, X)
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-5)


def test_multilabel():
    X, Y = make_multilabel_classification(120, 8, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    model = fit(HashedMLPClassifier(hidden_layer_sizes=(16,), max_iter=20,
                                    random_state=0), X, Y)
    onx = skl2onnx.to_onnx(model, X[:1], target_opset=18,
                           options={id(model): {"zipmap": False}})
    names, (label, proba) = run(onx, X)
    np.testing.assert_array_equal(label, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor(dtype):
    X, y = make_regression(150, 8, n_targets=2, random_state=0)
    X = X.astype(dtype)
    pipe = fit(make_pipeline(StandardScaler(), HashedMLPRegressor(
        hidden_layer_sizes=(30,), method="hashing_blocks", max_iter=50,
        random_state=0)), X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1], target_opset=18)
    names, (variable,) = run(onx, X)
    assert names == ["variable"] and variable.dtype == dtype
    # on the scale of the standardized targets the network predicts
    tol = (1e-5 if dtype == np.float32 else 1e-12) * pipe[-1].target_scale_.max()
    np.testing.assert_allclose(variable, pipe.predict(X), rtol=0, atol=tol)


def test_old_opset_is_refused(digits):
    X, y = digits
    model = fit(HashedMLPClassifier(hidden_layer_sizes=(5,), max_iter=2,
                                    random_state=0), X, y)
    with pytest.raises(ValueError, match=re.escape(
            "Converting a HashedMLPClassifier needs target_opset 18 or newer")):
        skl2onnx.to_onnx(model, X[:1], target_opset=17)


@pytest.mark.slow  # fresh processes
@pytest.mark.parametrize("block", range(2))
def test_guide_snippets_run(block, tmp_path):
    from test_guide_snippets import GUIDE, python_blocks, run_script

    blocks = python_blocks((GUIDE / "onnx.md").read_text())
    assert len(blocks) == 2
    result = run_script(blocks[block], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    if block == 0:
        size = int(result.stdout.split()[0])
        assert size <= 13 * 1024
        assert (tmp_path / "digits.onnx").stat().st_size == size
