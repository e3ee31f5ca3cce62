"""``method="random_edges"``: a fixed random subset of the connections,
chosen from a hash of each connection by counting passes."""

import numpy as np

from ._layer_base import WeightParametrization
from ._lazy import kernels as _kernels


class RandomEdgeWeights(WeightParametrization):
    """Random edge removal: a fixed random subset of ``n_stored`` connections.

    The kept connections are the ``n_stored`` with the smallest key
    ``(xxh32_pair(i, j, seed_h), i * n_out + j)``; the stored vector holds
    their weights in row-major order. The mask is recomputed from the seed,
    never stored.
    """

    method = "random_edges"
    keep_built = True  # choosing the edges passes over every virtual weight

    def __init__(self, n_in, n_out, n_stored, seeds, cache=False):
        super().__init__(n_in, n_out, n_stored, seeds)
        self.edges = _kept_edges(n_in, n_out, self.n_stored, np.uint32(seeds[0]))
        self._edge_ptr = None

    @staticmethod
    def n_stored_for(n_in, n_out, budget):
        return min(budget, n_in * n_out)

    @staticmethod
    def workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """The kept edges (an int64 flat index each) and the counting pass's
        histogram (:func:`_kept_edges`)."""
        return 8 * n_stored + 8 * _EDGE_BINS

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """The kept edges, the histogram and each input row's first edge."""
        return 8 * n_stored + 8 * _EDGE_BINS + 8 * (n_in + 1)

    @property
    def edge_ptr(self):
        """Row i's kept edges are ``edges[edge_ptr[i]:edge_ptr[i + 1]]``."""
        if self._edge_ptr is None:
            starts = np.arange(self.n_in + 1, dtype=np.int64) * self.n_out
            self._edge_ptr = np.searchsorted(self.edges, starts)
        return self._edge_ptr

    def init_weights(self, bound, rng, dtype):
        # Glorot on the kept fan-in and fan-out: density * (n_in + n_out).
        density = self.n_stored / (self.n_in * self.n_out)
        bound = bound / np.sqrt(density)
        return rng.uniform(-bound, bound, self.n_stored).astype(dtype, copy=False)

    def virtual(self, w, out=None):
        if out is None:
            out = np.empty(self.shape, dtype=w.dtype)
        out[...] = 0
        out.reshape(-1)[self.edges] = w
        return out

    def grad(self, G, w, out):
        np.take(G.reshape(-1), self.edges, out=out)

    def sparse_matmul(self, X, w, out):
        """``X @ V`` through the kept edges only."""
        _kernels.sparse_edges_matmul(X.indptr, X.indices, X.data, self.edges,
                                     self.edge_ptr, w, out)

    def sparse_grad(self, X, delta, w, out):
        _kernels.sparse_edges_grad(X.indptr, X.indices, X.data, delta, self.edges,
                                   self.edge_ptr, out)


#: bins of the counting pass that chooses the kept edges (by the top 16 bits
#: of the hash): the bin holding the threshold has about n_in * n_out / 2**16
#: connections, the only ones whose hashes are ever held in memory
_EDGE_BINS = 2**16


def _kept_edges(n_in, n_out, n_keep, seed):
    """Flat indices ``i * n_out + j`` of the kept connections, ascending: the
    ``n_keep`` smallest keys ``(xxh32_pair(i, j, seed), i * n_out + j)``.

    Three passes over the hashes instead of a key per connection: count the
    hashes' top bits, which gives the bin the threshold lies in; sort that bin
    alone by key to find the largest kept key; then keep every connection up
    to it. Memory: the kept edges, the histogram and the threshold's bin.
    """
    n = n_in * n_out
    if n_keep >= n:
        return np.arange(n)
    shift = np.uint32(32 - _EDGE_BINS.bit_length() + 1)
    counts = np.empty(_EDGE_BINS, dtype=np.int64)
    _kernels.edge_hash_histogram(n_in, n_out, seed, shift, counts)
    below = np.cumsum(counts)
    b = int(np.searchsorted(below, n_keep))  # first bin reaching n_keep
    rank_in_bin = n_keep - (int(below[b - 1]) if b else 0)  # >= 1
    hashes = np.empty(counts[b], dtype=np.uint32)
    flat = np.empty(counts[b], dtype=np.int64)
    _kernels.edge_hashes_in_bin(n_in, n_out, seed, shift, np.uint32(b), hashes, flat)
    last = np.lexsort((flat, hashes))[rank_in_bin - 1]
    edges = np.empty(n_keep, dtype=np.int64)
    found = _kernels.edges_up_to(n_in, n_out, seed, hashes[last], flat[last], edges)
    if found != n_keep:  # pragma: no cover - the keys are unique
        raise RuntimeError(f"chose {found} edges instead of {n_keep}")
    return edges
