"""The hash recipe and the virtual matrices computed in an ONNX graph, run by
onnxruntime: bit-exact against the xxhash package and against ``coefs_``."""

import struct
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
xxhash = pytest.importorskip("xxhash")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from sk_hashednets import _onnx_layers  # noqa: E402

U32 = np.iinfo(np.uint32).max


def run(graph_nodes, inputs, outputs, initializers=(), methods=()):
    """Check a model made of these nodes and run it in onnxruntime."""
    model = helper.make_model(
        helper.make_graph(graph_nodes, "test", inputs, outputs,
                          initializer=list(initializers)),
        opset_imports=_onnx_layers.opsets(),
        functions=_onnx_layers.functions(methods))
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session


def test_xxh32_function_matches_xxhash():
    rng = np.random.default_rng(0)
    n = 6000
    keys = rng.integers(0, 2**32, (3, n), dtype=np.uint64).astype(np.uint32)
    # the extremes of uint32 in every position, and small indices
    edges = np.array([0, 1, 2**31 - 1, 2**31, U32 - 1, U32], dtype=np.uint32)
    grid = np.array(np.meshgrid(edges, edges, edges)).reshape(3, -1)
    keys = np.concatenate([grid, keys, np.tile(np.arange(50, dtype=np.uint32), (3, 1))],
                          axis=1)
    assert keys.shape[1] >= 5000
    vec = [helper.make_tensor_value_info(n, TensorProto.UINT32, [None])
           for n in ("i", "j", "seed", "h")]
    node = helper.make_node("xxh32", ["i", "j", "seed"], ["h"],
                            domain=_onnx_layers.DOMAIN)
    session = run([node], vec[:3], vec[3:])
    got = session.run(None, dict(zip(("i", "j", "seed"), keys)))[0]
    expected = [xxhash.xxh32_intdigest(struct.pack("<II", int(i), int(j)), seed=int(s))
                for i, j, s in keys.T]
    assert got.dtype == np.uint32
    np.testing.assert_array_equal(got, np.array(expected, dtype=np.uint32))


def graph_virtual(method, w, n_in, n_out, seeds):
    """V of one layer, computed by onnxruntime from the buckets and seeds."""
    init = [numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(np.array(n_in, np.int64), "n_in"),
            numpy_helper.from_array(np.array(n_out, np.int64), "n_out"),
            numpy_helper.from_array(np.array(seeds[0], np.uint32), "sh"),
            numpy_helper.from_array(np.array(seeds[1], np.uint32), "sx")]
    node = _onnx_layers.virtual_node(method, "w", "n_in", "n_out", "sh", "sx", "V")
    elem = helper.np_dtype_to_tensor_dtype(w.dtype)
    out = [helper.make_tensor_value_info("V", elem, [None, None])]
    return run([node], [], out, init, [method]).run(None, {})[0]


@pytest.mark.parametrize("method", ["hashing", "hashing_blocks"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_graph_virtual_matrix_is_coefs(method, dtype):
    X = np.random.RandomState(0).standard_normal((60, 70)).astype(dtype)
    y = np.arange(60) % 3
    # 70 -> 130 (three blocks, the last one short) -> 3 (fewer buckets than a
    # block: runs wrap around the buckets several times)
    model = HashedMLPClassifier(hidden_layer_sizes=(130,), n_buckets=[900, 5],
                                method=method, max_iter=2, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    for w, seeds, coef in zip(model.buckets_, model.hash_seeds_, model.coefs_):
        V = graph_virtual(method, w, *coef.shape, seeds)
        assert V.dtype == coef.dtype == dtype
        np.testing.assert_array_equal(V, coef)


@pytest.mark.parametrize("method", ["hashing", "hashing_blocks"])
def test_graph_virtual_matrix_with_extreme_seeds(method):
    rng = np.random.RandomState(0)
    model = HashedMLPRegressor(hidden_layer_sizes=(65,), n_buckets=[37, 64],
                               method=method, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(rng.standard_normal((20, 9)), rng.standard_normal(20))
    layers = model._layers()
    for seeds in [(0, U32), (U32, 0), (2**31, 2**31 - 1)]:
        for layer, w in zip(layers, model.buckets_):
            layer = type(layer)(layer.n_in, layer.n_out, layer.n_stored,
                                np.array(seeds, dtype=np.uint32))
            np.testing.assert_array_equal(
                graph_virtual(method, w, layer.n_in, layer.n_out, seeds),
                layer.virtual(w))
