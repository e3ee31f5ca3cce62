"""The hash recipe: Numba kernels against the reference xxhash package."""

import struct

import numpy as np
import pytest
import scipy.sparse as sp

from sk_hashednets import _kernels
from sk_hashednets._layers import HashedWeights

xxhash = pytest.importorskip("xxhash")


def reference_hash(i, j, seed):
    """XXH32 of the key u32le(i) || u32le(j), from the reference package."""
    return xxhash.xxh32_intdigest(struct.pack("<II", i, j), seed=seed)


def reference_virtual(w, n_in, n_out, seed_h, seed_xi):
    """V rebuilt from the documented hash recipe, in plain Python."""
    K = len(w)
    V = np.empty((n_in, n_out))
    for i in range(n_in):
        for j in range(n_out):
            bucket = (reference_hash(i, j, seed_h) * K) >> 32
            sign = -1.0 if reference_hash(i, j, seed_xi) >> 31 else 1.0
            V[i, j] = sign * w[bucket]
    return V


def numba_hashes(i, j, seed):
    out = np.empty(len(i), dtype=np.uint32)
    _kernels.xxh32_pairs(np.asarray(i, np.uint32), np.asarray(j, np.uint32),
                         np.uint32(seed), out)
    return out


@pytest.mark.parametrize("seed", [0, 1, 123, 2**31, 2**32 - 1])
def test_xxh32_matches_reference_on_many_keys(seed):
    rng = np.random.RandomState(seed % 1000)
    i = np.concatenate([np.arange(50), rng.randint(0, 2**32, 2000, dtype=np.uint64),
                        [2**32 - 1]]).astype(np.uint32)
    j = np.concatenate([np.arange(50)[::-1], rng.randint(0, 2**32, 2000,
                        dtype=np.uint64), [2**32 - 1]]).astype(np.uint32)
    expected = [reference_hash(int(a), int(b), seed) for a, b in zip(i, j)]
    np.testing.assert_array_equal(numba_hashes(i, j, seed), expected)


@pytest.mark.parametrize(
    "i, j, seed, value",
    [
        (0, 0, 0, 3736311059),
        (1, 0, 0, 149775153),
        (0, 1, 0, 3658090324),
        (5, 7, 123, 2781552377),
        (783, 999, 4294967295, 1587156351),
        (4294967295, 4294967295, 2654435761, 4237674130),
    ],
)
def test_xxh32_golden_values(i, j, seed, value):
    assert numba_hashes([i], [j], seed)[0] == value
    assert reference_hash(i, j, seed) == value


GOLDEN_V = np.array([[2.0, 4.0, 4.0, -4.0],
                     [5.0, 1.0, 5.0, -2.0],
                     [3.0, 5.0, 5.0, -1.0]])


def test_virtual_matrix_golden():
    layer = HashedWeights(3, 4, 5, np.array([17, 42], np.uint32))
    w = np.arange(1, 6, dtype=np.float64)
    np.testing.assert_array_equal(layer.virtual(w), GOLDEN_V)
    np.testing.assert_array_equal(reference_virtual(w, 3, 4, 17, 42), GOLDEN_V)


@pytest.mark.parametrize("n_in, n_out, K", [(7, 13, 5), (30, 20, 600), (64, 10, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_virtual_matches_reference_recipe(n_in, n_out, K, dtype):
    seeds = np.array([2**32 - 5, 99], np.uint32)
    w = np.random.RandomState(0).randn(K).astype(dtype)
    expected = reference_virtual(w, n_in, n_out, int(seeds[0]), int(seeds[1]))
    on_the_fly = HashedWeights(n_in, n_out, K, seeds).virtual(w)
    cached = HashedWeights(n_in, n_out, K, seeds, cache=True).virtual(w)
    assert on_the_fly.dtype == dtype
    np.testing.assert_array_equal(on_the_fly, expected.astype(dtype))
    np.testing.assert_array_equal(cached, on_the_fly)


def test_scatter_is_the_adjoint_of_the_gather():
    """<G, V(w)> = <grad(G), w> for every G and w: backward is the transpose."""
    rng = np.random.RandomState(1)
    layer = HashedWeights(40, 30, 97, np.array([3, 4], np.uint32), cache=True)
    w, G = rng.randn(97), rng.randn(40, 30)
    grad = np.empty(97)
    layer.grad(G, w, grad)
    assert np.dot(G.ravel(), layer.virtual(w).ravel()) == pytest.approx(np.dot(grad, w))
    # and equals the bincount formula of the paper
    codes = layer._codes.ravel()
    signs = np.where(codes >= 97, -1.0, 1.0)
    expected = np.bincount(codes % 97, weights=signs * G.ravel(), minlength=97)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_product_and_gradient_match_the_dense_ones(dtype):
    rng = np.random.RandomState(2)
    X = sp.random(25, 40, density=0.2, format="csr", random_state=3, dtype=dtype)
    delta = rng.randn(25, 15).astype(dtype)
    layer = HashedWeights(40, 15, 50, np.array([5, 6], np.uint32), cache=True)
    w = rng.randn(50).astype(dtype)
    out = np.empty((25, 15), dtype=dtype)
    layer.sparse_matmul(X, w, out)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, X.toarray() @ layer.virtual(w), rtol=rtol,
                               atol=rtol)
    sparse_grad, dense_grad = np.empty(50, dtype), np.empty(50, dtype)
    layer.sparse_grad(X, delta, w, sparse_grad)
    layer.grad(X.toarray().T @ delta, w, dense_grad)
    np.testing.assert_allclose(sparse_grad, dense_grad, rtol=rtol, atol=rtol)


def test_kernels_accept_read_only_and_fortran_inputs():
    rng = np.random.RandomState(4)
    layer = HashedWeights(20, 10, 30, np.array([7, 8], np.uint32), cache=True)
    w = rng.randn(30)
    expected = layer.virtual(w.copy())
    w.flags.writeable = False
    np.testing.assert_array_equal(HashedWeights(20, 10, 30, layer.seeds).virtual(w),
                                  expected)
    np.testing.assert_array_equal(layer.virtual(w), expected)
    G = np.asfortranarray(rng.randn(20, 10))
    G.flags.writeable = False
    grad_f, grad_c = np.empty(30), np.empty(30)
    layer.grad(G, w, grad_f)
    layer.grad(np.ascontiguousarray(G), w, grad_c)
    np.testing.assert_array_equal(grad_f, grad_c)


def test_different_seeds_give_different_layers():
    w = np.arange(1.0, 11.0)
    a = HashedWeights(8, 8, 10, np.array([1, 2], np.uint32)).virtual(w)
    b = HashedWeights(8, 8, 10, np.array([3, 2], np.uint32)).virtual(w)
    c = HashedWeights(8, 8, 10, np.array([1, 4], np.uint32)).virtual(w)
    assert not np.array_equal(np.abs(a), np.abs(b))
    assert np.array_equal(np.abs(a), np.abs(c)) and not np.array_equal(a, c)
