"""Finite-difference checks of the bucket and bias gradients (dropout off)."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import numeric_gradient

from sk_hashednets import _layer_low_rank
from sk_hashednets._budgets import plan_layers
from sk_hashednets._layers import METHODS, make_layer
from sk_hashednets._network import HEADS, Loss, Trainer

ACTIVATIONS = ["identity", "relu", "tanh", "logistic"]


def make_problem(out_activation, n_samples=12, n_outputs=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, 6)
    if out_activation == "softmax":
        Y = np.eye(n_outputs)[rng.randint(0, n_outputs, n_samples)]
    elif out_activation == "logistic":
        Y = (rng.rand(n_samples, n_outputs) > 0.5).astype(float)
    elif out_activation == "exp":
        Y = rng.poisson(2.0, (n_samples, n_outputs)).astype(float)
    else:
        Y = rng.randn(n_samples, n_outputs)
    sw = rng.uniform(0.5, 2.0, n_samples)
    return X, Y, sw


def make_trainer(method, activation, out_activation, units, budgets, alpha, seed=0):
    rng = np.random.RandomState(seed)
    units, budgets = plan_layers(method, units, budgets)
    layers, weights, biases = [], [], []
    for i, k in enumerate(budgets):
        seeds = np.array([10 + i, 20 + i], np.uint32)
        layer = make_layer(method, units[i], units[i + 1], k, seeds, cache=True)
        layers.append(layer)
        weights.append(layer.init_weights(0.8, rng, np.float64))
        biases.append(rng.uniform(-0.5, 0.5, units[i + 1]))
    trainer = Trainer(layers, weights, biases, activation=activation,
                      loss=HEADS[out_activation].loss(), alpha=alpha, dropout=0.0,
                      input_dropout=0.0, dropout_seed=0, batch_size=12,
                      n_outputs=units[-1], dtype=np.float64)
    return trainer


def check_gradients(trainer, X, Y, sw, eps=1e-6):
    trainer.step(X, Y, sw, 0)
    analytic = [g.copy() for g in trainer.weight_grads + trainer.bias_grads]
    for param, grad in zip(trainer.weights + trainer.biases, analytic):
        idx = np.random.RandomState(0).permutation(param.size)[:25]
        numeric = numeric_gradient(trainer, X, Y, sw, param, idx, eps)
        np.testing.assert_allclose(grad[idx], numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("out_activation", ["softmax", "logistic", "identity", "exp"])
def test_hashed_gradients(activation, out_activation):
    X, Y, sw = make_problem(out_activation)
    trainer = make_trainer("hashing", activation, out_activation, [6, 9, 7, 3],
                           [20, 15, 11], alpha=0.3)
    check_gradients(trainer, X, Y, sw)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("out_activation", ["softmax", "identity"])
def test_gradients_of_every_method(method, out_activation):
    X, Y, sw = make_problem(out_activation)
    trainer = make_trainer(method, "tanh", out_activation, [6, 9, 7, 3],
                           [32, 40, 11], alpha=0.2)
    check_gradients(trainer, X, Y, sw)


# 6 -> 9 and 6 -> 4: a low-rank first layer learns the factor on either side
SPARSE_SHAPES = [([6, 9, 3], [32, 11]), ([6, 4, 3], [16, 11])]


@pytest.mark.parametrize("units, budgets", SPARSE_SHAPES)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_gradients_of_every_method_sparse_input(method, units, budgets):
    X, Y, sw = make_problem("softmax")
    X[np.abs(X) < 0.8] = 0
    trainer = make_trainer(method, "relu", "softmax", units, budgets, alpha=0.1)
    check_gradients(trainer, sp.csr_matrix(X), Y, sw)


@pytest.mark.parametrize("units, budgets", SPARSE_SHAPES)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_sparse_input_step_equals_the_dense_step(method, units, budgets):
    """Each method's sparse first layer computes what its dense product does:
    the same loss and the same gradients on a CSR batch as on its dense copy."""
    X, Y, sw = make_problem("softmax")
    X[np.abs(X) < 0.8] = 0
    trainer = make_trainer(method, "tanh", "softmax", units, budgets, alpha=0.1)
    sparse_loss = trainer.step(sp.csr_matrix(X), Y, sw, 0)
    sparse_grads = [g.copy() for g in trainer.weight_grads + trainer.bias_grads]
    dense_loss = trainer.step(X, Y, sw, 0)
    assert sparse_loss == pytest.approx(dense_loss, rel=1e-12)
    for sparse_grad, dense_grad in zip(sparse_grads,
                                       trainer.weight_grads + trainer.bias_grads):
        np.testing.assert_allclose(sparse_grad, dense_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("n_outputs, out_activation", [(3, "softmax"), (1, "logistic")])
def test_distillation_gradients(weight, n_outputs, out_activation):
    from sk_hashednets._network import Distillation

    X, Y, sw = make_problem(out_activation, n_outputs=n_outputs)
    soft = np.random.RandomState(5).dirichlet(np.ones(max(n_outputs, 2)), len(X))
    soft = soft[:, 1:] if n_outputs == 1 else soft
    trainer = make_trainer("hashing", "relu", out_activation, [6, 9, n_outputs],
                           [20, 11], alpha=0.1)
    trainer.loss = Distillation(trainer.loss, temperature=3.0, weight=weight)
    trainer.Y_buf = np.empty((12, 2 * n_outputs))
    check_gradients(trainer, X, np.hstack([Y, soft]), sw)


@pytest.mark.parametrize("out_activation", ["softmax", "identity"])
def test_hashed_gradients_sparse_input(out_activation):
    X, Y, sw = make_problem(out_activation)
    X[np.abs(X) < 0.8] = 0
    trainer = make_trainer("hashing", "tanh", out_activation, [6, 9, 3], [20, 11],
                           alpha=0.1)
    check_gradients(trainer, sp.csr_matrix(X), Y, sw)
    trainer.step(sp.csr_matrix(X), Y, sw, 0)
    sparse_grads = [g.copy() for g in trainer.weight_grads]
    trainer.step(X, Y, sw, 0)
    for sparse_grad, dense_grad in zip(sparse_grads, trainer.weight_grads):
        np.testing.assert_allclose(sparse_grad, dense_grad, rtol=1e-10, atol=1e-12)


def test_single_output_binary_loss():
    X, Y, sw = make_problem("logistic", n_outputs=1)
    trainer = make_trainer("hashing", "relu", "logistic", [6, 8, 1], [30, 5], 0.0)
    check_gradients(trainer, X, Y, sw)


def test_full_budget_layer_is_a_dense_layer():
    """With K = n_in * n_out and a hash without collisions, a hashed layer is
    a dense layer: the same forward pass and the same gradient, permuted."""
    n_in, n_out = 3, 2
    K = n_in * n_out
    for seed in range(10_000):  # about 1.5% of seeds hash 6 keys to 6 buckets
        layer = make_layer("hashing", n_in, n_out, K, np.array([seed, 2], np.uint32),
                           cache=True)
        codes = layer._codes.ravel()
        buckets, signs = codes % K, np.where(codes >= K, -1.0, 1.0)
        if len(np.unique(buckets)) == K:
            break
    else:
        pytest.fail("no collision-free seed found")
    W = np.random.RandomState(0).randn(n_in, n_out)
    w = np.empty(K)
    w[buckets] = signs * W.ravel()
    np.testing.assert_array_equal(layer.virtual(w), W)
    G = np.random.RandomState(1).randn(n_in, n_out)
    grad = np.empty(K)
    layer.grad(G, w, grad)
    np.testing.assert_allclose(grad[buckets] * signs, G.ravel())


@pytest.mark.parametrize("out_activation", ["softmax", "logistic", "identity"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_loss_kernels_match_their_definition(out_activation, dtype):
    """Each loss's fused value_and_delta equals the generic one derived from
    its link and per-sample loss, including on large logits."""
    X, Y, sw = make_problem(out_activation, n_samples=20, n_outputs=4)
    z = (np.random.RandomState(1).randn(20, 4) * 5).astype(dtype)
    z[0] = [60.0, -60.0, 0.0, 1e-3]  # saturated units
    Y, sw = Y.astype(dtype), sw.astype(dtype)
    loss = HEADS[out_activation].loss()
    fused, generic = np.empty_like(z), np.empty_like(z)
    value = loss.value_and_delta(z, Y, sw, sw.sum(dtype=np.float64), fused)
    expected = Loss.value_and_delta(loss, z, Y, sw, sw.sum(dtype=np.float64), generic)
    if out_activation == "identity":
        generic /= Y.shape[1]  # the generic form leaves the 1 / n_outputs out
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(expected, rel=rtol)
    np.testing.assert_allclose(fused, generic, rtol=rtol, atol=rtol * 1e-2)


NUMPY_ACTIVATIONS = {
    "identity": (lambda v: v, lambda a: np.ones_like(a)),
    "relu": (lambda v: np.maximum(v, 0), lambda a: (a > 0).astype(a.dtype)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "logistic": (lambda v: 1 / (1 + np.exp(-v)), lambda a: a * (1 - a)),
}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("p", [0.0, 0.3])
def test_activation_kernels_match_numpy(activation, p):
    """activate_train (bias, activation, dropout mask, derivative) and
    bias_activate against NumPy, with the mask rebuilt from the hash."""
    from sk_hashednets import _kernels
    from sk_hashednets._network import _dropout_constants, activation_code

    rng = np.random.RandomState(0)
    z = rng.randn(13, 40)
    b = rng.randn(40)
    z[0, 0] = np.nan
    act, grad = NUMPY_ACTIVATIONS[activation]
    threshold, scale = _dropout_constants(p)
    seed = np.uint32(12345)
    rows, units = np.meshgrid(np.arange(13), np.arange(40), indexing="ij")
    hashes = np.empty(z.size, np.uint32)
    _kernels.xxh32_pairs(rows.ravel().astype(np.uint32),
                         units.ravel().astype(np.uint32), seed, hashes)
    mask = np.where(hashes.reshape(z.shape) >= threshold, scale, 0.0)
    a = act(z + b)
    with np.errstate(invalid="ignore"):
        expected_z, expected_deriv = a * mask, grad(a) * mask
    out, deriv = z.copy(), np.empty_like(z)
    code = activation_code(activation)
    _kernels.activate_train(out, b, code, threshold, scale, seed, deriv)
    np.testing.assert_allclose(out, expected_z, rtol=1e-12, atol=0)
    np.testing.assert_allclose(deriv[1:], expected_deriv[1:], rtol=1e-12, atol=0)
    assert np.isnan(out[0, 0])  # a NaN is never hidden by the activation
    out = z.copy()
    _kernels.bias_activate(out, b, code)
    np.testing.assert_allclose(out, a, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n_in, n_out, n_stored", [(50, 4, 40), (4, 50, 40)])
def test_low_rank_sparse_product_over_blocks_of_rows(n_in, n_out, n_stored,
                                                    monkeypatch):
    """A sparse input longer than a block of rows (a prediction, or a large
    batch) is multiplied block by block, and its gradient hashes U again per
    block: the same product and gradient as the dense input's."""
    monkeypatch.setattr(_layer_low_rank, "RANK_BLOCK", 256 * 10)  # 256 rows at rank 10
    layer = make_layer("low_rank", n_in, n_out, n_stored, np.array([3, 4], np.uint32))
    rng = np.random.RandomState(0)
    w = rng.randn(n_stored)
    X = sp.random(700, n_in, density=0.2, format="csr", random_state=rng)
    delta = rng.randn(700, n_out)
    assert len(layer._row_blocks(700)) == 3
    sparse_out, dense_out = np.empty((700, n_out)), np.empty((700, n_out))
    layer.sparse_matmul(X, w, sparse_out)
    sparse_grad, dense_grad = np.empty(n_stored), np.empty(n_stored)
    layer.sparse_grad(X, delta, w, sparse_grad)
    layer.matmul(X.toarray(), w, dense_out)
    layer.matmul_grad(X.toarray(), delta, w, dense_grad)
    np.testing.assert_allclose(sparse_out, dense_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sparse_grad, dense_grad, rtol=1e-12, atol=1e-12)
