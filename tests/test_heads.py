"""The registry of output heads: one table read by the estimators, the
training loop and the exports."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, _export_c_code
from sk_hashednets._description import describe
from sk_hashednets._network import HEADS, heads_of


def test_every_head_has_a_loss_whose_link_is_the_heads():
    z = np.linspace(-3, 3, 12).reshape(4, 3)
    for head in HEADS.values():
        np.testing.assert_array_equal(head.link(z), head.loss().link(z))
    assert set(heads_of("classifier")) | set(heads_of("regressor")) == set(HEADS)


def test_export_c_writes_every_head():
    assert set(_export_c_code.HEADS) == set(HEADS)


@pytest.mark.parametrize("loss, head", [("squared_error", "identity"),
                                        ("poisson", "exp")])
def test_regressor_heads_predict_through_the_registry(loss, head):
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, (y[:200] % 3).astype(float)
    est = HashedMLPRegressor(hidden_layer_sizes=(8,), loss=loss, max_iter=3,
                             random_state=0).fit(X, y)
    assert est.out_activation_ == head
    raw = est._forward(X)
    expected = HEADS[head].link(raw) * est.target_scale_ + est.target_mean_
    np.testing.assert_allclose(est.predict(X), expected.ravel(), rtol=1e-12)


def test_description_reads_a_pipeline_once_for_every_export():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200], y[:200]
    pipe = make_pipeline(StandardScaler(), HashedMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=2, random_state=0,
        method="hashing_blocks")).fit(X, y)
    desc = describe(pipe, "export_test")
    est = pipe[-1]
    assert desc.head is HEADS["softmax"] and desc.units == [64, 8, 10]
    assert desc.n_outputs == 10 and desc.is_classifier
    np.testing.assert_array_equal(desc.x_mean, pipe[0].mean_)
    for layer, w, seeds in zip(desc.layers, est.buckets_, est.hash_seeds_):
        assert layer.method == "hashing_blocks" and layer.block == 64
        assert (layer.seed_h, layer.seed_xi) == tuple(int(s) for s in seeds)
        np.testing.assert_array_equal(layer.buckets, w)
    with pytest.raises(ValueError, match="export_test exports hashed layers only"):
        describe(pipe, "export_test", methods=("hashing",))
