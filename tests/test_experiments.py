"""Helpers of ``python -m sk_hashednets.experiments`` that the notebooks reuse."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier
from sk_hashednets.experiments import BASE_WIDTH, expansion_buckets


def test_expansion_buckets_default_is_a_dense_784_50_10():
    dense = 784 * BASE_WIDTH + BASE_WIDTH + BASE_WIDTH * 10 + 10
    for width in (50, 100, 1600):
        first, out = expansion_buckets(width)
        assert out == BASE_WIDTH * 10
        assert first + width + out + 10 == dense


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
@pytest.mark.parametrize("factor", [1, 2, 8])
def test_expansion_buckets_store_what_the_dense_network_stores(factor):
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 12), np.arange(60) % 3
    base = 4
    width = base * factor
    net = HashedMLPClassifier(
        hidden_layer_sizes=(width,), max_iter=1,
        n_buckets=expansion_buckets(width, n_features=12, n_classes=3,
                                    base_width=base)).fit(X, y)
    assert net.n_stored_params_ == 12 * base + base + base * 3 + 3
    assert net.n_virtual_params_ == 12 * width + width + width * 3 + 3
