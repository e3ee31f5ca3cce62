"""``method="hashing"`` (HashedNets) and ``method="hashing_blocks"`` (runs of
buckets per block of a row): layers that gather V from a signed table of
their buckets through a cached code per virtual weight or block."""

import numpy as np

from . import _threads
from ._layer_base import WeightParametrization
from ._lazy import kernels as _kernels
from ._timing import phase


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

    @staticmethod
    def block_length():
        """Virtual weights per hash of a row: one (None), each hashed alone."""
        return None

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

    @staticmethod
    def block_length():
        """Virtual weights per hash of a row: a block of :data:`BLOCK`."""
        return _kernels.BLOCK

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


def _code_dtype(n_codes):
    """Smallest integer type for the index cache: the gather and the scatter
    are memory bound, so 2-byte codes (up to 32768 buckets) make them faster."""
    if n_codes <= 2**16:
        return np.uint16
    return np.int32 if n_codes <= 2**31 else np.int64
