"""benchmarks/export_onnx.py compares like with like: its dense references
have the shape of the hashed model, compute what they claim to, and its
memory probe reports a session's memory (timings stay in benchmarks/)."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sk_hashednets import HashedMLPClassifier, export_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
pytest.importorskip("threadpoolctl")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import export_onnx as bench  # noqa: E402


def weight_shapes(path):
    """Shapes of the 2-D tensors the optimized graph multiplies by."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = str(path.with_suffix(".folded.onnx"))
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    folded = onnx.load(so.optimized_model_filepath)
    return sorted(tuple(t.dims) for t in folded.graph.initializer
                  if len(t.dims) == 2 and min(t.dims) > 1)  # not a (1, n) bias


def test_dense_reference_has_the_hashed_models_shape(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((60, 20), dtype=np.float32)
    y = np.arange(60) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = MLPClassifier(hidden_layer_sizes=(30,), max_iter=2).fit(X, y)
        hashed = HashedMLPClassifier(hidden_layer_sizes=(30,), compression=1 / 4,
                                     max_iter=2).fit(X, y)
    dense_path = bench.dense_onnx(dense, X, tmp_path / "dense.onnx")
    ours = export_onnx(hashed, tmp_path / "ours.onnx")
    assert weight_shapes(dense_path) == weight_shapes(ours) == [(20, 30), (30, 3)]
    sess = ort.InferenceSession(str(dense_path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["label", "probabilities"]
    np.testing.assert_allclose(sess.run(None, {"X": X})[1], dense.predict_proba(X),
                               atol=1e-5)


def test_dense_layer_computes_x_v_plus_b(tmp_path):
    rng = np.random.default_rng(1)
    V = rng.standard_normal((7, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    X = rng.standard_normal((4, 7)).astype(np.float32)
    path = bench.dense_layer(V, b, tmp_path / "layer.onnx")
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"X": X})[0]
    np.testing.assert_allclose(got, X @ V + b, rtol=1e-6)


@pytest.mark.slow  # a fresh process
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                    reason="the probe resets the peak through /proc (Linux)")
def test_creation_probe_sees_the_folded_matrix(tmp_path):
    n = 1024
    rng = np.random.default_rng(0)
    path = bench.dense_layer(rng.standard_normal((n, n)).astype(np.float32),
                             np.zeros(n, np.float32), tmp_path / "layer.onnx")
    out = subprocess.run([sys.executable, str(BENCH / "export_onnx.py"), "--creation",
                          str(path)], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["inputs"] == 1 and got["seconds"] > 0
    # the session holds the 4 MiB matrix it loaded at least once
    assert got["peak"] >= n * n * 4
