"""benchmarks/quantize.py compares like with like: every model fits its budget
as the package counts bytes, and the dense peer holds int8 values."""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from sk_hashednets import HashedMLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import quantize as bench  # noqa: E402


@pytest.mark.parametrize("precision", ["int8", "int4"])
@pytest.mark.parametrize("budget", [2048, 8192])
def test_hashed_model_fills_its_budget(precision, budget):
    X, y = load_digits(return_X_y=True)
    ks = bench.hashed_buckets([64, 256, 10], budget, precision)
    model = HashedMLPClassifier((256,), n_buckets=ks, quantize=precision,
                                max_iter=1, random_state=0)
    with pytest.warns(Warning):
        model.fit(X[:100] / 16, y[:100])
    assert [w.size for w in model.buckets_] == ks
    assert budget - 8 < model.n_stored_bytes_ <= budget  # no room for 2 more
    # buckets in proportion to the layers' virtual weights
    assert abs(ks[0] / ks[1] - 64 * 256 / (256 * 10)) < 0.1


@pytest.mark.parametrize("per_unit", [False, True])
def test_dense_peer_is_the_widest_int8_net_and_is_rounded(per_unit):
    width = bench.dense_width(64, 10, 4096, per_unit)
    units = [64, width, 10]
    assert bench.dense_bytes(units, per_unit) <= 4096
    assert bench.dense_bytes([64, width + 1, 10], per_unit) > 4096
    X, y = load_digits(return_X_y=True)
    mlp = MLPClassifier((width,), max_iter=30, random_state=0)
    with pytest.warns(Warning):
        mlp.fit(X / 16, y)
    rounded = bench.rounded_dense(mlp, per_unit)
    for W, Wq in zip(mlp.coefs_, rounded.coefs_):
        groups = Wq.T if per_unit else [Wq.ravel()]
        for g in groups:
            assert len(np.unique(g)) <= 255
        np.testing.assert_allclose(Wq, W, atol=np.abs(W).max() / 254 + 1e-12)
    assert not np.array_equal(rounded.coefs_[0], mlp.coefs_[0])
    assert mlp.coefs_[0] is not rounded.coefs_[0]
