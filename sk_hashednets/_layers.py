"""Weight parametrizations: how a layer's stored weights become its virtual matrix.

Every parametrization answers the same few questions, so the training loop
never needs to know which one it drives:

* ``n_stored``: how many real weights the layer stores (its 1-D vector ``w``);
* ``init_weights(bound, rng, dtype)``: a fresh ``w``;
* ``virtual(w, out)``: the virtual ``n_in x n_out`` matrix V, written to ``out``;
* ``grad(G, out)``: ``dL/dw`` given ``G = dL/dV``;
* ``sparse_matmul(X, w, out)`` / ``sparse_grad(X, delta, out)``: the first
  layer's product with a CSR input and its weight gradient. The defaults
  materialise V; a parametrization may do better.
"""

import numpy as np

from . import _kernels

# Largest virtual matrix a layer may materialise: codes and V are indexed with
# signed 64-bit offsets, but past this size a single layer's float32 V alone
# needs more than 8 GiB, and a dense product over it is out of reach anyway.
MAX_VIRTUAL = 2**31 - 1


class WeightParametrization:
    """Base class: a layer ``n_in -> n_out`` stores ``n_stored`` weights."""

    method = None

    def __init__(self, n_in, n_out, n_stored, seeds):
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.n_stored = int(n_stored)
        self.seeds = seeds

    @property
    def shape(self):
        return (self.n_in, self.n_out)

    def init_weights(self, bound, rng, dtype):
        return rng.uniform(-bound, bound, self.n_stored).astype(dtype, copy=False)

    def virtual(self, w, out=None):
        raise NotImplementedError

    def grad(self, G, out):
        raise NotImplementedError

    def sparse_matmul(self, X, w, out):
        out[:] = X @ self.virtual(w)

    def sparse_grad(self, X, delta, out):
        self.grad(np.asarray(X.T @ delta), out)


class HashedWeights(WeightParametrization):
    """HashedNets: ``V[i, j] = xi(i, j) * w[h(i, j)]`` with xxHash-based h, xi.

    Parameters
    ----------
    n_in, n_out : int
        Shape of the virtual matrix.
    n_stored : int
        Number of buckets K.
    seeds : array of 2 uint32
        ``(seed_h, seed_xi)``: the bucket hash seed and the sign hash seed.
    cache : bool
        Build the training-time index cache (one int per virtual weight).
        Only the training loop asks for it; it is never stored on a model.
    """

    method = "hashing"

    def __init__(self, n_in, n_out, n_stored, seeds, cache=False):
        super().__init__(n_in, n_out, n_stored, seeds)
        self.seed_h = np.uint32(seeds[0])
        self.seed_xi = np.uint32(seeds[1])
        self._codes = None
        self._table = None
        if cache:
            self._codes = np.empty(self.shape, dtype=_code_dtype(2 * self.n_stored))
            _kernels.hash_codes(self.n_stored, self.seed_h, self.seed_xi, self._codes)

    def _signed_table(self, dtype):
        if self._table is None or self._table.dtype != dtype:
            self._table = np.empty(2 * self.n_stored, dtype=dtype)
        return self._table

    def virtual(self, w, out=None):
        if out is None:
            out = np.empty(self.shape, dtype=w.dtype)
        if self._codes is None:
            _kernels.hashed_virtual(w, self.seed_h, self.seed_xi, out)
        else:
            table = self._signed_table(w.dtype)
            _kernels.signed_table(w, table)
            _kernels.gather(table, self._codes, out)
        return out

    def grad(self, G, out):
        if self._codes is None:  # pragma: no cover - the training loop caches
            raise RuntimeError("HashedWeights.grad needs cache=True")
        _kernels.scatter(G, self._codes, self._signed_table(G.dtype), out)

    def sparse_matmul(self, X, w, out):
        _kernels.sparse_hashed_matmul(
            X.indptr, X.indices, X.data, w, self.seed_h, self.seed_xi, out
        )

    def sparse_grad(self, X, delta, out):
        _kernels.sparse_hashed_grad(
            X.indptr, X.indices, X.data, delta, self.seed_h, self.seed_xi, out
        )


def _code_dtype(n_codes):
    """Smallest integer type for the index cache: the gather and the scatter
    are memory bound, so 2-byte codes (up to 32768 buckets) make them faster."""
    if n_codes <= 2**16:
        return np.uint16
    return np.int32 if n_codes <= 2**31 else np.int64


METHODS = {"hashing": HashedWeights}


def make_layer(method, n_in, n_out, n_stored, seeds, cache=False):
    """Build the parametrization of one layer."""
    return METHODS[method](n_in, n_out, n_stored, seeds, cache=cache)
