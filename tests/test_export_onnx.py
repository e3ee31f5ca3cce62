"""export_onnx: every head, method and activation reproduced by onnxruntime,
a file that grows with the buckets, nothing left to hash after folding, and
bad input refused with nothing written."""

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, export_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from sk_hashednets import _export_onnx  # noqa: E402

METHODS = ["hashing", "hashing_blocks"]
HASH_OPS = {"BitShift", "BitwiseXor", "BitwiseOr", "BitwiseAnd", "BitwiseNot"}
TOL = {"float32": 1e-5, "float64": 1e-12}


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def session(path, **options):
    so = ort.SessionOptions()
    for key, value in options.items():
        setattr(so, key, value)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def problem(kind, dtype):
    """(X, y, estimator class, estimator params) of a small problem."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 9)).astype(dtype)
    if kind == "multilabel":
        X, y = make_multilabel_classification(80, 9, n_classes=4, random_state=0)
        return X.astype(dtype), y, HashedMLPClassifier, {}
    if kind == "multiclass":
        return X, np.array(["ant", "bee", "cat"])[rng.randint(0, 3, 80)], \
            HashedMLPClassifier, {}
    if kind == "binary":
        return X, np.where(X[:, 0] + X[:, 1] > 0, 7, -2), HashedMLPClassifier, {}
    if kind == "poisson":
        return X, rng.poisson(np.exp(0.5 * X[:, :2])), HashedMLPRegressor, \
            {"loss": "poisson"}
    n_targets = 3 if kind == "regression-3" else 1
    y = X[:, :n_targets] * 100.0 + 1000.0 * np.arange(n_targets)
    return X, y.ravel() if n_targets == 1 else y, HashedMLPRegressor, {}


def reference(model, X):
    """What the ONNX graph must reproduce: (label, probabilities) or
    (variable,), shaped as skl2onnx shapes them."""
    if hasattr(model, "predict_proba"):
        return model.predict(X), model.predict_proba(X)
    pred = model.predict(X)
    return (pred.reshape(len(X), -1),)


def check_outputs(path, model, X, dtype):
    sess = session(path)
    assert [i.name for i in sess.get_inputs()] == ["X"]
    got = sess.run(None, {"X": X.astype(dtype)})
    expected = reference(model, X)
    names = [o.name for o in sess.get_outputs()]
    if len(expected) == 2:
        assert names == ["label", "probabilities"]
        np.testing.assert_array_equal(got[0], expected[0])
        assert got[1].dtype == dtype
        np.testing.assert_allclose(got[1], expected[1], rtol=0, atol=TOL[dtype])
    else:
        assert names == ["variable"]
        assert got[0].dtype == dtype
        # on the scale of the standardized targets the network predicts
        # (that of the counts for the Poisson loss)
        scale = model[-1].target_scale_ if hasattr(model, "steps") else \
            model.target_scale_
        np.testing.assert_allclose(got[0], expected[0], rtol=TOL[dtype],
                                   atol=TOL[dtype] * scale.max())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression",
                                  "regression-3", "poisson"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_head_matches_the_model(kind, method, dtype, tmp_path):
    X, y, cls, params = problem(kind, dtype)
    model = fit(cls(hidden_layer_sizes=(70, 13), n_buckets=[200, 64, 9],
                    method=method, max_iter=30, random_state=0, **params), X, y)
    path = export_onnx(model, tmp_path / "model.onnx", dtype=dtype)
    assert path == tmp_path / "model.onnx"
    check_outputs(path, model, X, dtype)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("activation", ["identity", "relu", "tanh", "logistic"])
def test_every_hidden_activation(activation, method, tmp_path):
    X, y, cls, params = problem("multiclass", "float32")
    model = fit(HashedMLPClassifier(hidden_layer_sizes=(20,), activation=activation,
                                    compression=1 / 4, method=method, max_iter=20,
                                    random_state=0), X, y)
    check_outputs(export_onnx(model, tmp_path / "m.onnx"), model, X, "float32")


@pytest.mark.parametrize("method", METHODS)
def test_float32_export_of_a_float64_model(method, tmp_path):
    X, y, cls, params = problem("regression-3", "float64")
    model = fit(cls(hidden_layer_sizes=(15,), method=method, max_iter=30,
                    random_state=0), X, y)
    check_outputs(export_onnx(model, tmp_path / "m.onnx"), model, X, "float32")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pipeline_scaler_is_folded(method, dtype, tmp_path):
    X, y = load_digits(return_X_y=True)
    X = X[:300].astype(dtype)
    pipe = fit(make_pipeline(StandardScaler(), HashedMLPClassifier(
        hidden_layer_sizes=(40,), compression=1 / 8, method=method, max_iter=20,
        random_state=0)), X, y[:300])
    path = export_onnx(pipe, tmp_path / "pipe.onnx", dtype=dtype)
    check_outputs(path, pipe, X, dtype)


@pytest.mark.parametrize("method", METHODS)
def test_graph_v_is_coefs(method, tmp_path):
    """The V that the exported file computes, read out of onnxruntime."""
    X, y, cls, params = problem("multiclass", "float32")
    model = fit(HashedMLPClassifier(hidden_layer_sizes=(130,), n_buckets=[300, 50],
                                    method=method, max_iter=5, random_state=0), X, y)
    path = export_onnx(model, tmp_path / "m.onnx")
    proto = onnx.load(path)
    calls = [n for n in proto.graph.node if n.domain == "sk_hashednets"]
    assert len(calls) == 2
    for node in calls:
        proto.graph.output.append(onnx.helper.make_tensor_value_info(
            node.output[0], onnx.TensorProto.FLOAT, None))
    onnx.save(proto, path)
    values = session(path).run([n.output[0] for n in calls], {"X": X})
    for V, coef in zip(values, model.coefs_):
        np.testing.assert_array_equal(V, coef)


def largest_allowed(model):
    units = [model.n_features_in_] + [len(b) for b in model.intercepts_]
    return max([len(w) for w in model.buckets_] + units)


@pytest.mark.parametrize("method", METHODS)
def test_file_grows_with_the_buckets(method, tmp_path):
    X, y = load_digits(return_X_y=True)
    pipe = fit(make_pipeline(StandardScaler(), HashedMLPClassifier(
        hidden_layer_sizes=(1000,), compression=1 / 64, method=method, max_iter=2,
        random_state=0)), X.astype(np.float32), y)
    path = export_onnx(pipe, tmp_path / "digits.onnx")
    est = pipe[-1]
    proto = onnx.load(path)
    tensors = list(proto.graph.initializer) + [
        a.t for f in proto.functions for n in f.node for a in n.attribute
        if a.type == onnx.AttributeProto.TENSOR]
    # no index, no V: no tensor larger than a layer's K, n_in or n_out
    assert max(int(np.prod(t.dims)) for t in tensors) <= largest_allowed(est)
    scaler = 2 * 64 * 8  # mean and scale, float64
    size = path.stat().st_size
    assert size <= 4 * est.n_stored_params_ + scaler + 4096
    assert size <= 13 * 1024
    # ... where a dense float32 graph of 64-1000-10 holds 75,010 floats
    assert est.n_virtual_params_ * 4 > 20 * size


@pytest.mark.parametrize("method", METHODS)
def test_onnxruntime_folds_every_hash(method, tmp_path):
    X, y, cls, params = problem("binary", "float32")
    model = fit(HashedMLPClassifier(hidden_layer_sizes=(30, 20), compression=1 / 4,
                                    method=method, max_iter=5, random_state=0), X, y)
    path = export_onnx(model, tmp_path / "m.onnx")
    source = onnx.load(path)
    assert HASH_OPS & {n.op_type for f in source.functions for n in f.node}
    for level in (ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                  ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        optimized = tmp_path / f"optimized-{int(level)}.onnx"
        session(path, graph_optimization_level=level,
                optimized_model_filepath=str(optimized))
        folded = onnx.load(optimized)
        ops = {n.op_type for n in folded.graph.node}
        assert not ops & (HASH_OPS | {"xxh32", "hashed", "blocks", "Range"})
        assert "MatMul" in ops or "FusedMatMul" in ops or "Gemm" in ops


@pytest.mark.parametrize("opset", [18, 21])
def test_target_opset(opset, tmp_path):
    X, y, cls, params = problem("multiclass", "float32")
    model = fit(HashedMLPClassifier(hidden_layer_sizes=(10,), max_iter=5,
                                    random_state=0), X, y)
    path = export_onnx(model, tmp_path / "m.onnx", target_opset=opset)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert {o.domain: o.version for o in proto.opset_import}[""] == opset
    check_outputs(path, model, X, "float32")


def test_creation_memory_warning(tmp_path, monkeypatch):
    X, y, cls, params = problem("multiclass", "float32")
    model = fit(HashedMLPClassifier(hidden_layer_sizes=(50,), max_iter=5,
                                    random_state=0), X, y)
    # counted on the graph: hashing keeps far more per weight than blocks,
    # and each method at least V itself
    per_weight = {m: _export_onnx.bytes_per_weight(m, 4) for m in METHODS}
    assert 4 < per_weight["hashing_blocks"] < per_weight["hashing"]
    estimate = (9 * 50 + 50 * 3) * per_weight["hashing"]
    monkeypatch.setattr(_export_onnx, "CREATION_WARNING_BYTES", estimate)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_onnx(model, tmp_path / "quiet.onnx")  # at the limit: no warning
    monkeypatch.setattr(_export_onnx, "CREATION_WARNING_BYTES", estimate - 1)
    with pytest.warns(UserWarning, match="Creating an onnxruntime session on this "
                      "model will need about"):
        export_onnx(model, tmp_path / "loud.onnx")
    assert (tmp_path / "loud.onnx").exists()


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    X, y, cls, params = problem("multiclass", "float32")
    return fit(HashedMLPClassifier(hidden_layer_sizes=(10,), max_iter=5,
                                   random_state=0), X, y)


@pytest.mark.parametrize("kwargs, message", [
    ({"path": "model.onx"}, "path must name an ONNX file ending with '.onnx', got "
                            "'model.onx'."),
    ({"dtype": "float16"}, "dtype must be 'float32' or 'float64', got 'float16'."),
    ({"dtype": "double precision"}, "dtype must be 'float32' or 'float64'"),
    ({"dtype": None}, "dtype must be 'float32' or 'float64', got None."),
    ({"target_opset": 17}, "target_opset must be an int of at least 18: the hash "
                           "needs the uint32 bitwise operators"),
    ({"target_opset": "18"}, "target_opset must be an int of at least 18"),
    ({"target_opset": True}, "target_opset must be an int of at least 18"),
    ({"target_opset": 10**4}, "target_opset must be at most"),
])
def test_bad_arguments_write_nothing(fitted, kwargs, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kwargs = {"path": "model.onnx", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        export_onnx(fitted, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_bad_models_write_nothing(tmp_path):
    X, y, cls, params = problem("multiclass", "float32")
    target = tmp_path / "m.onnx"
    target.write_bytes(b"what the user had")
    with pytest.raises(NotFittedError):
        export_onnx(HashedMLPClassifier(), target)
    with pytest.raises(NotFittedError):
        export_onnx(make_pipeline(StandardScaler(), HashedMLPClassifier()), target)
    low_rank = fit(HashedMLPClassifier(hidden_layer_sizes=(10,), method="low_rank",
                                       max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match=re.escape(
            "export_onnx exports hashed layers only (method='hashing' or "
            "'hashing_blocks'); this model uses method='low_rank'.")):
        export_onnx(low_rank, target)
    with pytest.raises(TypeError, match="export_onnx expects a fitted "
                       "HashedMLPClassifier or HashedMLPRegressor"):
        export_onnx(StandardScaler().fit(X), target)
    assert target.read_bytes() == b"what the user had"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_labels_onnx_cannot_hold():
    from sk_hashednets._onnx_model import label_values

    np.testing.assert_array_equal(label_values(np.array([1.0, 3.0])), [1, 3])
    with pytest.raises(ValueError, match="An ONNX label is an int64 or a string "
                       "tensor; this model's classes_ hold float, int values"):
        label_values(np.array([1, 0.5], dtype=object))


@pytest.mark.slow  # a fresh interpreter
def test_importing_the_package_does_not_import_onnx():
    code = ("import sys, sk_hashednets; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('onnx', 'onnxruntime', 'skl2onnx')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_file_permissions_are_the_users(fitted, tmp_path):
    reference = tmp_path / "plain"
    reference.write_bytes(b"")
    path = export_onnx(fitted, tmp_path / "m.onnx")
    assert path.stat().st_mode == reference.stat().st_mode
