"""``method="low_rank"``: the paper's low-rank baseline, one factor fixed
and random, the other learned."""

import numpy as np

from ._layer_base import WeightParametrization
from ._lazy import kernels as _kernels
from ._timing import phase

# Entries of a low-rank layer's rank-r activations on a block of sparse rows
# (16 MiB as float32).
RANK_BLOCK = 2**22


class LowRankWeights(WeightParametrization):
    """Low-rank decomposition after Denil et al. (2013), the paper's LRD: one
    factor fixed and random, the other learned.

    The learned factor ``W`` lies along the layer's smaller side, so it gets
    the largest rank the budget allows, ``r = round(budget / min(n_in,
    n_out))`` (between 1 and ``max(n_in, n_out)``):

    * ``n_in >= n_out``: ``V = U @ W``, ``U`` fixed (n_in x r), ``W`` (r x n_out);
    * ``n_in < n_out``: ``V = W @ U``, ``W`` (n_in x r), ``U`` fixed (r x n_out).

    ``U[p, q] = xi(p, q) / sqrt(r)``, the sign hash of the layer's sign seed,
    is recomputed from the seed and never stored; the stored vector is
    ``W.ravel()``. No layer is starved: the 1000 x 10 output layer of a
    784-1000-10 network at compression 1/8 gets rank 125, where learning both
    factors from the same budget leaves it rank 1 (its ten logits on one
    line). Training multiplies by the factors, ``(a @ U) @ W``, and never builds
    the n_in x n_out matrix.
    """

    method = "low_rank"
    first_state_format = 2
    state_format_change = ("it learned both factors of each layer then; it learns "
                           "one now (Denil et al., 2013) and stores other sizes")
    materialises = False
    rescalable = False

    def __init__(self, n_in, n_out, n_stored, seeds, cache=False):
        super().__init__(n_in, n_out, n_stored, seeds)
        side = min(self.n_in, self.n_out)
        self.rank = self.n_stored // side
        if self.rank * side != self.n_stored or not 1 <= self.rank <= max(n_in, n_out):
            raise ValueError(
                f"A low-rank {n_in} x {n_out} layer stores r * {side} weights "
                f"for a rank r in [1, {max(n_in, n_out)}], not {n_stored}."
            )
        self.fixed_left = self.n_in >= self.n_out
        self.seed_xi = np.uint32(seeds[1])
        self.scale = 1.0 / np.sqrt(self.rank)
        self._U = {}  # U in each dtype used, built on first use
        self._h = None  # the batch's rank-r activations, kept for the backward pass
        self._d = None  # the backward pass's delta @ W.T or delta @ U.T
        self._h_rows = None  # rows of the sparse batch whose activations _h holds

    @property
    def U(self):
        """The fixed factor as float64 (n_in x r or r x n_out), built on first
        use: a sparse first layer with ``n_in >= n_out`` hashes it on the fly
        and never builds it."""
        if np.float64 not in self._U:
            shape = ((self.n_in, self.rank) if self.fixed_left
                     else (self.rank, self.n_out))
            U = np.empty(shape, dtype=np.float64)
            _kernels.sign_matrix(self.seed_xi, self.scale, U)
            self._U[np.float64] = U
        return self._U[np.float64]

    @staticmethod
    def n_stored_for(n_in, n_out, budget):
        """``r * min(n_in, n_out)`` for the rank ``r = round(budget /
        min(n_in, n_out))`` (halves round up), between 1 and ``max(n_in,
        n_out)``: the storage closest to the budget."""
        side = min(n_in, n_out)
        rank = max(1, int(np.floor(budget / side + 0.5)))
        return min(rank, max(n_in, n_out)) * side

    @staticmethod
    def workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """The fixed factor U, in float64 and (if other) in the training
        dtype, and two batch x rank buffers (the rank-r activations and the
        backward pass's ``delta @ W.T`` or ``delta @ U.T``)."""
        rank = n_stored // min(n_in, n_out)
        extra = itemsize if itemsize != 8 else 0
        return rank * max(n_in, n_out) * (8 + extra) + 2 * batch_size * rank * itemsize

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """``n_in >= n_out``: U is hashed on the fly, so only the batch x rank
        activations (and a row of signs); else as :meth:`workspace_bytes` (U
        is r x n_out) plus the backward pass's ``X.T @ (delta @ U.T)``, the
        size of W."""
        rank = n_stored // min(n_in, n_out)
        if n_in >= n_out:
            return batch_size * rank * itemsize + 4 * rank
        return (LowRankWeights.workspace_bytes(n_in, n_out, n_stored, itemsize,
                                               batch_size) + n_stored * itemsize)

    def _fixed(self, dtype):
        if dtype not in self._U:
            self._U[dtype] = self.U.astype(dtype, copy=False)
        return self._U[dtype]

    def _rank_buffer(self, n, dtype):
        """The batch's rank-r activations (n x r), kept for the backward pass."""
        if self._h is None or self._h.shape[0] < n or self._h.dtype != dtype:
            self._h = np.empty((n, self.rank), dtype=dtype)
        return self._h[:n]

    def _delta_buffer(self, n, dtype):
        """The backward pass's n x r ``delta @ W.T`` or ``delta @ U.T``."""
        if self._d is None or self._d.shape[0] < n or self._d.dtype != dtype:
            self._d = np.empty((n, self.rank), dtype=dtype)
        return self._d[:n]

    def _W(self, w):
        if self.fixed_left:
            return w.reshape(self.rank, self.n_out)
        return w.reshape(self.n_in, self.rank)

    def init_weights(self, bound, rng, dtype):
        # Var(V) = r * Var(U) * Var(W) = Var(W): W takes the virtual bound.
        return rng.uniform(-bound, bound, self.n_stored).astype(dtype, copy=False)

    def _factors(self, w):
        U, W = self._fixed(w.dtype), self._W(w)
        return (U, W) if self.fixed_left else (W, U)

    def virtual(self, w, out=None):
        return np.matmul(*self._factors(w), out=out)

    def grad(self, G, w, out):
        U = self._fixed(G.dtype)
        if self.fixed_left:
            np.matmul(U.T, G, out=self._W(out))
        else:
            np.matmul(G, U.T, out=self._W(out))

    def matmul(self, a, w, out, work=None):
        h = self._rank_buffer(a.shape[0], w.dtype)
        left, right = self._factors(w)
        with phase("products"):
            np.matmul(a, left, out=h)
            np.matmul(h, right, out=out)

    def matmul_grad(self, a, delta, w, out, prev=None, work=None):
        """Gradient of the learned factor, after :meth:`matmul` on this batch."""
        U, W, grad = self._fixed(w.dtype), self._W(w), self._W(out)
        d = self._delta_buffer(delta.shape[0], w.dtype)
        with phase("products"):
            if self.fixed_left:  # z = (a @ U) @ W
                np.matmul(self._h[: delta.shape[0]].T, delta, out=grad)
                if prev is not None:
                    np.matmul(delta, W.T, out=d)
                    np.matmul(d, U.T, out=prev)
            else:  # z = (a @ W) @ U
                np.matmul(delta, U.T, out=d)
                np.matmul(a.T, d, out=grad)
                if prev is not None:
                    np.matmul(d, W.T, out=prev)

    def _row_blocks(self, n):
        """Row slices of a sparse input whose rank-r activations hold at most
        ``RANK_BLOCK`` entries (or 256 rows): predicting 10,000 rows at rank
        16,384 would otherwise hold a 10,000 x 16,384 buffer."""
        step = max(256, RANK_BLOCK // self.rank)
        return [slice(start, min(start + step, n)) for start in range(0, n, step)]

    def _sparse_rank(self, X, dtype):
        """``X @ U``, hashed on the fly over X's stored entries (``n_in >= n_out``)."""
        h = self._rank_buffer(X.shape[0], dtype)
        _kernels.sparse_sign_matmul(X.indptr, X.indices, X.data, self.seed_xi,
                                    self.scale, h)
        return h

    def sparse_matmul(self, X, w, out):
        """``(X @ U) @ W`` with U hashed on the fly (never built), or ``(X @
        W) @ U``, over blocks of rows; the activations of a batch that fits in
        one block stay for :meth:`sparse_grad`."""
        blocks = self._row_blocks(X.shape[0])
        for rows in blocks:
            if self.fixed_left:
                np.matmul(self._sparse_rank(X[rows], w.dtype), self._W(w),
                          out=out[rows])
            else:
                h = self._rank_buffer(rows.stop - rows.start, w.dtype)
                h[...] = X[rows] @ self._W(w)
                np.matmul(h, self._fixed(w.dtype), out=out[rows])
        self._h_rows = X.shape[0] if len(blocks) == 1 else None

    def sparse_grad(self, X, delta, w, out):
        """Gradient of the learned factor, after :meth:`sparse_matmul` on this
        batch: ``(X @ U).T @ delta`` (``X @ U`` hashed again, block by block,
        for a batch larger than a block), or ``X.T @ (delta @ U.T)``."""
        grad = self._W(out)
        if not self.fixed_left:
            grad[...] = X.T @ (delta @ self._fixed(w.dtype).T)
        elif self._h_rows == delta.shape[0]:
            np.matmul(self._h[: delta.shape[0]].T, delta, out=grad)
        else:
            grad[...] = 0
            for rows in self._row_blocks(delta.shape[0]):
                grad += self._sparse_rank(X[rows], w.dtype).T @ delta[rows]
