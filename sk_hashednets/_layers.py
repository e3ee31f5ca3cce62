"""Weight parametrizations: how a layer's stored weights become its virtual matrix.

Every parametrization answers the same few questions, so the training loop
never needs to know which one it drives:

* ``n_stored_for(n_in, n_out, budget)``: how many weights a layer stores when
  it may store ``budget`` (``n_stored`` on an instance: its 1-D vector ``w``);
* ``init_weights(bound, rng, dtype)``: a fresh ``w``;
* ``virtual(w, out)``: the virtual ``n_in x n_out`` matrix V, written to ``out``;
* ``grad(G, w, out)``: ``dL/dw`` given ``G = dL/dV`` and the current ``w``;
* ``matmul(a, w, out, work)`` / ``matmul_grad(a, delta, w, out, prev, work)``:
  a training batch's product ``a @ V`` and its backward pass. The defaults
  build V in ``work``; a parametrization may do better (low rank: factored);
* ``sparse_matmul(X, w, out)`` / ``sparse_grad(X, delta, w, out)``: the first
  layer's product with a CSR input and, after it on the same batch, its weight
  gradient. The defaults materialise V; every parametrization here does
  better and never builds an n_in x n_out array (``sparse_workspace_bytes``
  counts what it allocates instead);
* ``loads()``: how many virtual weights share each stored weight (for
  ``rescale_grad``).
"""


import numpy as np

from . import _threads
from ._lazy import kernels as _kernels
from ._timing import phase

# Largest virtual matrix a layer may materialise: codes and V are indexed with
# signed 64-bit offsets, but past this size a single layer's float32 V alone
# needs more than 8 GiB, and a dense product over it is out of reach anyway.
MAX_VIRTUAL = 2**31 - 1

# Entries of a low-rank layer's rank-r activations on a block of sparse rows
# (16 MiB as float32).
RANK_BLOCK = 2**22


class WeightParametrization:
    """Base class: a layer ``n_in -> n_out`` stores ``n_stored`` weights."""

    method = None
    #: whether training builds the n_in x n_out virtual matrix
    materialises = True
    #: whether :meth:`loads` is defined (``rescale_grad``)
    rescalable = True
    #: whether building a layer costs enough that an estimator keeps the layers
    #: it built for its later calls (:func:`make_layer_once`)
    keep_built = False

    def __init__(self, n_in, n_out, n_stored, seeds, cache=False):
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.n_stored = int(n_stored)
        self.seeds = seeds

    @staticmethod
    def n_stored_for(n_in, n_out, budget):
        """Stored weights a layer of this kind uses for a budget of ``budget``."""
        return budget

    @classmethod
    def plan(cls, layer_units, budgets):
        """``(layer widths, stored weights per layer)`` of a network of this
        method whose layer ``l`` may store ``budgets[l]`` weights. The default
        keeps the virtual widths and fits each layer in its budget
        (:meth:`n_stored_for`)."""
        return layer_units, [cls.n_stored_for(a, b, k) for a, b, k
                             in zip(layer_units[:-1], layer_units[1:], budgets)]

    @staticmethod
    def workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """Bytes a training layer allocates at its peak besides its virtual
        matrix and the optimizer's weight-sized vectors (index caches, sort
        keys); ``itemsize`` is the bytes of one weight, ``batch_size`` the
        rows of a training batch."""
        return 0

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """Bytes a first layer allocates at its peak on CSR input, besides the
        optimizer's weight-sized vectors (the default builds V)."""
        return n_in * n_out * itemsize

    @property
    def shape(self):
        return (self.n_in, self.n_out)

    def init_weights(self, bound, rng, dtype):
        return rng.uniform(-bound, bound, self.n_stored).astype(dtype, copy=False)

    def virtual(self, w, out=None):
        raise NotImplementedError

    def grad(self, G, w, out):
        raise NotImplementedError

    def matmul(self, a, w, out, work=None):
        """``out = a @ V`` for a dense batch ``a``; ``work`` is an n_in x n_out
        buffer that the default builds V in (and keeps it there for
        :meth:`matmul_grad`)."""
        _threads.matmul(a, self.virtual(w, out=work), out)

    def matmul_grad(self, a, delta, w, out, prev=None, work=None):
        """Backward pass of :meth:`matmul` on the same batch: ``out = dL/dw``
        given ``delta = dL/dz``, and ``prev = delta @ V.T`` unless None. The
        default reads V from ``work``, then reuses it for ``G = a.T @ delta``."""
        if prev is not None:
            _threads.matmul(delta, work.T, prev)
        _threads.matmul(a.T, delta, work)
        self.grad(work, w, out)

    def loads(self):
        """How many virtual weights share each stored weight, or None where
        each stored weight is a single virtual weight."""
        return None

    def sparse_matmul(self, X, w, out):
        out[:] = X @ self.virtual(w)

    def sparse_grad(self, X, delta, w, out):
        self.grad(np.asarray(X.T @ delta), w, out)


class _TableGradient:
    """The gradient of a layer that gathers V from a signed table through
    codes (:class:`HashedWeights`, :class:`BlockHashedWeights`): dL/dV's rows
    are added into the zeroed table in row-major order (``_accumulate``), then
    the table is folded into the buckets' gradient (``_fold``). So the
    backward pass adds the rows of ``a.T @ delta`` while the helper thread
    still computes the later ones, with the sums of one pass
    (:func:`_threads.matmul_rows`)."""

    def _zeroed_table(self, dtype):
        table = self._signed_table(dtype)
        table[:] = 0
        return table

    def grad(self, G, w, out):
        if self._codes is None:  # pragma: no cover - the training loop caches
            raise RuntimeError(f"{type(self).__name__}.grad needs cache=True")
        with phase("scatter"):
            table = self._zeroed_table(G.dtype)
            self._accumulate(G, self._codes, table)
            self._fold(table, out)

    def matmul_grad(self, a, delta, w, out, prev=None, work=None):
        if prev is not None:
            _threads.matmul(delta, work.T, prev)
        table, codes = self._zeroed_table(delta.dtype), self._codes

        def add_rows(rows):
            with phase("scatter"):
                self._accumulate(work[rows], codes[rows], table)

        _threads.matmul_rows(a.T, delta, work, add_rows)
        with phase("scatter"):
            self._fold(table, out)


class HashedWeights(_TableGradient, WeightParametrization):
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

    @staticmethod
    def workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """The index cache, one code per virtual weight, and the signed table
        of 2 * n_stored weights."""
        code = np.dtype(_code_dtype(2 * n_stored)).itemsize
        return n_in * n_out * code + 2 * n_stored * itemsize

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """Hashing on the fly: two rows of bucket and sign buffers."""
        return 8 * n_out

    def _signed_table(self, dtype):
        if self._table is None or self._table.dtype != dtype:
            self._table = np.empty(2 * self.n_stored, dtype=dtype)
        return self._table

    def virtual(self, w, out=None):
        if out is None:
            out = np.empty(self.shape, dtype=w.dtype)
        with phase("gather"):
            if self._codes is None:
                _kernels.hashed_virtual(w, self.seed_h, self.seed_xi, out)
            else:
                table = self._signed_table(w.dtype)
                _kernels.signed_table(w, table)
                _kernels.gather(table, self._codes, out)
        return out

    @staticmethod
    def _accumulate(G, codes, table):
        _kernels.scatter_rows(G, codes, table)

    @staticmethod
    def _fold(table, out):
        _kernels.signed_fold(table, out)

    def loads(self):
        """Virtual weights per bucket (hashed on the fly, once per call)."""
        out = np.empty(self.n_stored, dtype=np.int64)
        _kernels.bucket_loads(self.n_in, self.n_out, self.seed_h, out)
        return out

    def sparse_matmul(self, X, w, out):
        _kernels.sparse_hashed_matmul(
            X.indptr, X.indices, X.data, w, self.seed_h, self.seed_xi, out
        )

    def sparse_grad(self, X, delta, w, out):
        _kernels.sparse_hashed_grad(
            X.indptr, X.indices, X.data, delta, self.seed_h, self.seed_xi, out
        )


class BlockHashedWeights(_TableGradient, WeightParametrization):
    """Block-structured hashing in the spirit of ROAST (Desai and
    Shrivastava, 2022): each row's runs of :data:`BLOCK` virtual weights read
    runs of consecutive buckets.

    Row ``i`` of V is cut into blocks of ``BLOCK`` columns (the last one may
    be shorter); block ``b`` starts at bucket ``h(i, b)`` and carries one sign
    ``xi(i, b)``, with the hashes of :class:`HashedWeights` applied to
    ``(i, b)`` instead of ``(i, j)``::

        V[i, b * BLOCK + t] = xi(i, b) * w[(h(i, b) + t) mod K]

    Every bucket is read by the same expected number of virtual weights (the
    runs wrap around from the last bucket to the first). The layer keeps one
    code per block (``n_in * ceil(n_out / BLOCK)`` of them), so building V is
    contiguous copies and its gradient contiguous adds, where plain hashing
    reads and writes one random bucket per virtual weight. ``BLOCK`` is 64.
    """

    method = "hashing_blocks"

    def __init__(self, n_in, n_out, n_stored, seeds, cache=False):
        super().__init__(n_in, n_out, n_stored, seeds)
        n_blocks = -(-self.n_out // _kernels.BLOCK)
        self._codes = np.empty((self.n_in, n_blocks), dtype=np.uint32)
        _kernels.block_codes(self.n_stored, np.uint32(seeds[0]), np.uint32(seeds[1]),
                             self._codes)
        self._table = None

    @staticmethod
    def workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """The block codes and the signed table of 2 * (n_stored + BLOCK - 1)
        weights."""
        block = _kernels.BLOCK
        return n_in * -(-n_out // block) * 4 + 2 * (n_stored + block - 1) * itemsize

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """As :meth:`workspace_bytes`, plus V (or dL/dV): on CSR input the
        layer builds V for the product and dL/dV for the gradient."""
        return (n_in * n_out * itemsize
                + BlockHashedWeights.workspace_bytes(n_in, n_out, n_stored, itemsize,
                                                     batch_size))

    def _signed_table(self, dtype):
        if self._table is None or self._table.dtype != dtype:
            n = 2 * (self.n_stored + _kernels.BLOCK - 1)
            self._table = np.empty(n, dtype=dtype)
        return self._table

    def virtual(self, w, out=None):
        if out is None:
            out = np.empty(self.shape, dtype=w.dtype)
        with phase("gather"):
            table = self._signed_table(w.dtype)
            _kernels.block_table(w, table)
            _kernels.block_gather(table, self._codes, out)
        return out

    @staticmethod
    def _accumulate(G, codes, table):
        _kernels.block_scatter_rows(G, codes, table)

    @staticmethod
    def _fold(table, out):
        _kernels.block_fold(table, out)

    def loads(self):
        """Virtual weights per bucket."""
        out = np.empty(self.n_stored, dtype=np.int64)
        _kernels.block_loads(self.n_in, self.n_out, np.uint32(self.seeds[0]), out)
        return out


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


class DenseWeights(WeightParametrization):
    """A plain dense matrix: the layers of the shrunk network, a dense network
    whose hidden widths are scaled down to the hashed network's storage."""

    method = "shrunk"

    @staticmethod
    def n_stored_for(n_in, n_out, budget):
        return n_in * n_out

    @classmethod
    def plan(cls, layer_units, budgets):
        """Dense layers, the hidden widths scaled down (:func:`shrink_widths`)
        so that the weights and biases fit the total storage of the hashed
        network: all budgets plus the virtual network's biases."""
        total = sum(budgets) + sum(layer_units[1:])
        layer_units = shrink_widths(layer_units, total)
        return layer_units, [a * b for a, b in zip(layer_units[:-1], layer_units[1:])]

    def virtual(self, w, out=None):
        V = w.reshape(self.shape)
        if out is None:
            return V
        out[...] = V
        return out

    def grad(self, G, w, out):
        out[...] = G.reshape(-1)

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """None: V is the stored weights, and the gradient is written in place."""
        return 0

    def sparse_grad(self, X, delta, w, out):
        _kernels.sparse_dense_grad(X.indptr, X.indices, X.data, delta, out)


def shrink_widths(layer_units, total):
    """Hidden widths ``max(1, floor(s * h))`` for the largest scale ``s`` in
    (0, 1] whose dense network (weights and biases) stores at most ``total``
    parameters; widths of 1 when even that is too large."""

    def widths(scale):
        hidden = [max(1, int(np.floor(scale * h))) for h in layer_units[1:-1]]
        return [layer_units[0], *hidden, layer_units[-1]]

    def size(units):
        return sum(a * b + b for a, b in zip(units[:-1], units[1:]))

    if size(widths(1.0)) <= total:
        return widths(1.0)
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if size(widths(mid)) <= total else (low, mid)
    return widths(low)


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


def _code_dtype(n_codes):
    """Smallest integer type for the index cache: the gather and the scatter
    are memory bound, so 2-byte codes (up to 32768 buckets) make them faster."""
    if n_codes <= 2**16:
        return np.uint16
    return np.int32 if n_codes <= 2**31 else np.int64


#: method name -> parametrization of each layer
METHODS = {
    "hashing": HashedWeights,
    "hashing_blocks": BlockHashedWeights,
    "low_rank": LowRankWeights,
    "random_edges": RandomEdgeWeights,
    "shrunk": DenseWeights,
}


#: layers an estimator keeps built (refits with new seeds forget the oldest)
KEPT_LAYERS = 16


def make_layer_once(memo, method, n_in, n_out, n_stored, seeds, cache=False):
    """:func:`make_layer`, building once each layer that is costly to build
    (``keep_built``: random edges, whose mask costs passes over every virtual
    weight); it is kept in the dict ``memo`` (keyed by method, shape, stored
    weights and seeds). Other layers are cheap to build, and low-rank ones
    keep per-call buffers, so they are built on each call.
    """
    if not METHODS[method].keep_built:
        return make_layer(method, n_in, n_out, n_stored, seeds, cache=cache)
    key = (method, n_in, n_out, n_stored, *(int(s) for s in seeds))
    if key not in memo:
        if len(memo) >= KEPT_LAYERS:
            del memo[next(iter(memo))]
        memo[key] = make_layer(method, n_in, n_out, n_stored, seeds)
    return memo[key]


def make_layer(method, n_in, n_out, n_stored, seeds, cache=False):
    """Build the parametrization of one layer."""
    return METHODS[method](n_in, n_out, n_stored, seeds, cache=cache)
