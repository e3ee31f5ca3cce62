"""Every compiled kernel of the package.

Numba's on-disk cache keys a function on its own file only, so a jitted
function and every jitted callee or constant it reads live in one file. The
kernels are in two: this one (the hash and all that calls it: the layers'
gathers and scatters, activations, dropout) and :mod:`._kernels_update` (the
training step's updates: fused losses, optimizer steps, the quantization rule),
which call nothing of this one nor it of them. This module hands the update
kernels on, so callers read every kernel here (through ``_lazy.kernels``, which
runs both files on the first read).

Kernels take arrays and scalars only; the classes in ``_layers`` and
``_network`` orchestrate them from Python. They are serial on purpose: the
gather and scatter are memory bound (one pass over an n_in x n_out array), and
although deterministic 2-thread versions run up to twice as fast on their own,
a training epoch gets no faster with them, or much slower when their OpenMP
workers spin against OpenBLAS's threads between products
(``python benchmarks/bench.py --parts threads``). Serial kernels are also
bit-identical for any thread count and safe to call from many Python threads
at once (``nogil=True`` lets them run concurrently) whatever Numba threading
layer is installed.

Hash recipe (documented in the user guide, pinned by tests/test_hashing.py):

* ``xxh32_pair(i, j, seed)`` is XXH32 of the 8-byte key ``u32le(i) || u32le(j)``
  with the 32-bit ``seed``.
* bucket ``h(i, j) = (xxh32_pair(i, j, seed_h) * K) >> 32`` (multiply-shift
  range reduction into ``[0, K)``).
* sign ``xi(i, j) = +1`` if the top bit of ``xxh32_pair(i, j, seed_xi)`` is 0,
  else ``-1``.
"""

import numpy as np
from numba import njit, uint32, uint64

_P1 = np.uint32(0x9E3779B1)
_P2 = np.uint32(0x85EBCA77)
_P3 = np.uint32(0xC2B2AE3D)
_P4 = np.uint32(0x27D4EB2F)
_P5 = np.uint32(0x165667B1)

# Activation codes (_network.activation_code reads them by name).
IDENTITY, RELU, TANH, LOGISTIC = 0, 1, 2, 3

_JIT = dict(cache=True, nogil=True)


@njit(**_JIT)
def start():
    """Nothing. Numba sets up its compiler (every typing and lowering registry)
    on the first call of any jitted function, whichever it is: the loader of
    this module (``_lazy.py``) makes that call here, with the garbage
    collector paused."""


# --------------------------------------------------------------------------
# hashing
# --------------------------------------------------------------------------
@njit(inline="always")
def _rotl17(x):
    return uint32((x << uint32(17)) | (x >> uint32(15)))


@njit(inline="always")
def _xxh32_pair(i, j, seed):
    """XXH32 of the little-endian bytes of (uint32 i, uint32 j)."""
    h = uint32(uint32(seed) + _P5 + uint32(8))
    h = uint32(h + uint32(i) * _P3)
    h = uint32(_rotl17(h) * _P4)
    h = uint32(h + uint32(j) * _P3)
    h = uint32(_rotl17(h) * _P4)
    h = uint32(h ^ (h >> uint32(15)))
    h = uint32(h * _P2)
    h = uint32(h ^ (h >> uint32(13)))
    h = uint32(h * _P3)
    return uint32(h ^ (h >> uint32(16)))


@njit(**_JIT)
def xxh32_pairs(i, j, seed, out):
    """out[k] = xxh32_pair(i[k], j[k], seed); exposed for tests and tools."""
    for k in range(out.shape[0]):
        out[k] = _xxh32_pair(i[k], j[k], seed)


@njit(inline="always")
def _hash_row(i, n_buckets, seed_h, seed_xi, buckets, negative):
    """Buckets and sign bits of row i: ``buckets[j] = h(i, j)``, ``negative[j]``.

    A loop of pure integer arithmetic over j, which LLVM vectorises: hashing a
    row into these two buffers first, then using them, runs about three times
    faster than hashing inside the loop that reads the buckets.
    """
    k = uint64(n_buckets)
    for j in range(buckets.shape[0]):
        buckets[j] = uint32((uint64(_xxh32_pair(i, j, seed_h)) * k) >> uint64(32))
        negative[j] = _xxh32_pair(i, j, seed_xi) >> uint32(31)


@njit(**_JIT)
def hash_codes(n_buckets, seed_h, seed_xi, out):
    """Training-time index cache: code = h(i, j) + K * [xi(i, j) < 0].

    A code indexes the signed table ``[w, -w]`` of length 2K, which turns the
    gather and the scatter into plain indexed loads and adds.
    """
    n_out = out.shape[1]
    buckets = np.empty(n_out, np.uint32)
    negative = np.empty(n_out, np.uint32)
    k = out.dtype.type(n_buckets)
    for i in range(out.shape[0]):
        _hash_row(i, n_buckets, seed_h, seed_xi, buckets, negative)
        for j in range(n_out):
            out[i, j] = out.dtype.type(buckets[j]) + k * out.dtype.type(negative[j])


@njit(**_JIT)
def bucket_loads(n_in, n_out, seed_h, out):
    """out[k] = the number of virtual weights (i, j) of an n_in x n_out layer
    with h(i, j) = k (K = out.shape[0]); the hash is computed on the fly."""
    k = uint64(out.shape[0])
    out[:] = 0
    for i in range(n_in):
        for j in range(n_out):
            out[(uint64(_xxh32_pair(i, j, seed_h)) * k) >> uint64(32)] += 1


@njit(**_JIT)
def sign_matrix(seed, scale, out):
    """out[i, j] = scale * xi(i, j): the sign hash of (i, j) with ``seed``
    (``+scale`` when the top bit of ``xxh32_pair(i, j, seed)`` is 0)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = -scale if _xxh32_pair(i, j, seed) >> uint32(31) else scale


@njit(**_JIT)
def edge_hash_histogram(n_in, n_out, seed, shift, out):
    """Counting pass of random edge removal: ``out[b]`` = the number of
    connections (i, j) of an n_in x n_out layer with ``xxh32_pair(i, j, seed)
    >> shift == b`` (``out`` has ``2**(32 - shift)`` entries)."""
    out[:] = 0
    for i in range(n_in):
        for j in range(n_out):
            out[_xxh32_pair(i, j, seed) >> shift] += 1


@njit(**_JIT)
def edge_hashes_in_bin(n_in, n_out, seed, shift, b, hashes, flat):
    """The connections with ``xxh32_pair(i, j, seed) >> shift == b``, in
    row-major order: their hashes and flat indices ``i * n_out + j``. The
    outputs hold exactly that many entries."""
    n = 0
    for i in range(n_in):
        for j in range(n_out):
            h = _xxh32_pair(i, j, seed)
            if h >> shift == b:
                hashes[n] = h
                flat[n] = i * n_out + j
                n += 1


@njit(**_JIT)
def edges_up_to(n_in, n_out, seed, max_hash, max_flat, out):
    """Flat indices ``i * n_out + j``, ascending, of the connections whose key
    ``(xxh32_pair(i, j, seed), i * n_out + j)`` is at most ``(max_hash,
    max_flat)``; returns how many there are (at most ``out.shape[0]`` are
    written)."""
    n = 0
    for i in range(n_in):
        for j in range(n_out):
            h = _xxh32_pair(i, j, seed)
            flat = i * n_out + j
            if h < max_hash or (h == max_hash and flat <= max_flat):
                if n < out.shape[0]:
                    out[n] = flat
                n += 1
    return n


@njit(**_JIT)
def hashed_virtual(w, seed_h, seed_xi, out):
    """V[i, j] = xi(i, j) * w[h(i, j)], hashing on the fly (no index array).

    Extra memory: two buffers of one row of V.
    """
    n_out = out.shape[1]
    buckets = np.empty(n_out, np.uint32)
    negative = np.empty(n_out, np.uint32)
    for i in range(out.shape[0]):
        _hash_row(i, w.shape[0], seed_h, seed_xi, buckets, negative)
        for j in range(n_out):
            v = w[buckets[j]]
            out[i, j] = -v if negative[j] else v


@njit(**_JIT)
def signed_table(w, table):
    """table = [w, -w]."""
    n = w.shape[0]
    for k in range(n):
        table[k] = w[k]
        table[n + k] = -w[k]


@njit(**_JIT)
def gather(table, codes, out):
    """out[i, j] = table[codes[i, j]]."""
    for i in range(codes.shape[0]):
        for j in range(codes.shape[1]):
            out[i, j] = table[codes[i, j]]


@njit(**_JIT)
def scatter_rows(G, codes, table):
    """table[codes[i, j]] += G[i, j] over the rows of G, in row-major order.

    With ``table`` (length 2K) zeroed first and :func:`signed_fold` after the
    last rows, this is the gradient ``grad[k] = sum over h(i, j) = k of
    xi(i, j) * G[i, j]``: positive and negative contributions accumulate
    separately, then are subtracted. Rows may come in several calls (in order)
    with the same sums.
    """
    for i in range(G.shape[0]):
        for j in range(G.shape[1]):
            table[codes[i, j]] += G[i, j]


@njit(**_JIT)
def signed_fold(table, out):
    """out[k] = table[k] - table[K + k]."""
    n = out.shape[0]
    for k in range(n):
        out[k] = table[k] - table[n + k]


# Block-structured hashing (method "hashing_blocks", after ROAST, Desai and
# Shrivastava 2022): row i of V is cut into blocks of BLOCK columns; block b
# of row i reads BLOCK consecutive buckets from a hashed start, wrapping
# around from the last bucket to the first, with one hashed sign:
#   V[i, b * BLOCK + t] = xi(i, b) * w[(h(i, b) + t) mod K].
# The signed table is [w, w[:BLOCK - 1], -w, -w[:BLOCK - 1]] (indices mod K),
# two halves of E = K + BLOCK - 1, so that every block is one contiguous run
# of it: a code h(i, b) + E * [xi(i, b) < 0] is where the run starts. The
# gather is then contiguous copies and the scatter contiguous adds, and a
# constant BLOCK lets LLVM unroll and vectorise each run.
BLOCK = 64


@njit(**_JIT)
def block_codes(n_buckets, seed_h, seed_xi, out):
    """out[i, b] = h(i, b) + E * [xi(i, b) < 0], one code per block."""
    k = uint64(n_buckets)
    half = k + uint64(BLOCK - 1)
    for i in range(out.shape[0]):
        for b in range(out.shape[1]):
            start = (uint64(_xxh32_pair(i, b, seed_h)) * k) >> uint64(32)
            negative = uint64(_xxh32_pair(i, b, seed_xi) >> uint32(31))
            out[i, b] = start + half * negative


@njit(**_JIT)
def block_table(w, table):
    """table = [w, w[:BLOCK - 1], -w, -w[:BLOCK - 1]], indices taken mod K."""
    n = w.shape[0]
    half = table.shape[0] // 2
    for k in range(n):
        table[k] = w[k]
        table[half + k] = -w[k]
    for p in range(n, half):
        table[p] = w[p % n]
        table[half + p] = -w[p % n]


@njit(**_JIT)
def block_gather(table, codes, out):
    """out[i, b * BLOCK + t] = table[codes[i, b] + t]."""
    n_out = out.shape[1]
    n_full = n_out // BLOCK
    for i in range(out.shape[0]):
        for b in range(n_full):
            s = np.int64(codes[i, b])
            j = b * BLOCK
            for t in range(BLOCK):
                out[i, j + t] = table[s + t]
        j = n_full * BLOCK
        if j < n_out:
            s = np.int64(codes[i, n_full])
            for t in range(n_out - j):
                out[i, j + t] = table[s + t]


@njit(**_JIT)
def block_scatter_rows(G, codes, table):
    """Add xi(i, b) * G[i, j] for the rows of G into ``table`` (of
    :func:`block_table`'s length), in row-major order: with the table zeroed
    first and :func:`block_fold` after the last rows, the gradient of the
    buckets. Rows may come in several calls (in order) with the same sums."""
    n_out = G.shape[1]
    n_full = n_out // BLOCK
    for i in range(G.shape[0]):
        for b in range(n_full):
            s = np.int64(codes[i, b])
            j = b * BLOCK
            for t in range(BLOCK):
                table[s + t] += G[i, j + t]
        j = n_full * BLOCK
        if j < n_out:
            s = np.int64(codes[i, n_full])
            for t in range(n_out - j):
                table[s + t] += G[i, j + t]


@njit(**_JIT)
def block_fold(table, out):
    """grad[k]: each half of the table folded mod K, the negative half
    subtracted from the positive one."""
    n = out.shape[0]
    half = table.shape[0] // 2
    for k in range(n):
        out[k] = table[k] - table[half + k]
    for p in range(n, half):
        out[p % n] += table[p] - table[half + p]


@njit(**_JIT)
def block_loads(n_in, n_out, seed_h, out):
    """out[k] = the number of virtual weights of an n_in x n_out layer with
    block-structured hashing that read bucket k (K = out.shape[0])."""
    n = out.shape[0]
    k = uint64(n)
    out[:] = 0
    for i in range(n_in):
        for b in range((n_out + BLOCK - 1) // BLOCK):
            start = (uint64(_xxh32_pair(i, b, seed_h)) * k) >> uint64(32)
            for t in range(min(BLOCK, n_out - b * BLOCK)):
                out[(start + uint64(t)) % k] += 1


@njit(**_JIT)
def sparse_hashed_matmul(indptr, indices, data, w, seed_h, seed_xi, out):
    """out = X @ V for CSR X, hashing on the fly; V is never built."""
    n_out = out.shape[1]
    buckets = np.empty(n_out, np.uint32)
    negative = np.empty(n_out, np.uint32)
    out[:] = 0
    for r in range(out.shape[0]):
        for p in range(indptr[r], indptr[r + 1]):
            _hash_row(indices[p], w.shape[0], seed_h, seed_xi, buckets, negative)
            x = data[p]
            for j in range(n_out):
                v = w[buckets[j]]
                out[r, j] += x * (-v if negative[j] else v)


@njit(**_JIT)
def sparse_hashed_grad(indptr, indices, data, delta, seed_h, seed_xi, out):
    """Bucket gradient of X @ V for CSR X: scatter of X.T @ delta, on the fly."""
    n_out = delta.shape[1]
    buckets = np.empty(n_out, np.uint32)
    negative = np.empty(n_out, np.uint32)
    out[:] = 0
    for r in range(delta.shape[0]):
        for p in range(indptr[r], indptr[r + 1]):
            _hash_row(indices[p], out.shape[0], seed_h, seed_xi, buckets, negative)
            x = data[p]
            for j in range(n_out):
                g = x * delta[r, j]
                if negative[j]:
                    out[buckets[j]] -= g
                else:
                    out[buckets[j]] += g


@njit(**_JIT)
def sparse_sign_matmul(indptr, indices, data, seed, scale, out):
    """out = X @ U for CSR X and ``U[i, q] = scale * xi(i, q)``, the sign hash
    of ``seed`` as in :func:`sign_matrix` (the low-rank layer's fixed factor),
    hashing on the fly: U is never built. Extra memory: one row of signs."""
    rank = out.shape[1]
    negative = np.empty(rank, np.uint32)
    s = out.dtype.type(scale)
    out[:] = 0
    for r in range(out.shape[0]):
        for p in range(indptr[r], indptr[r + 1]):
            i = indices[p]
            for q in range(rank):  # pure integer arithmetic: vectorises
                negative[q] = _xxh32_pair(i, q, seed) >> uint32(31)
            x = data[p] * s
            for q in range(rank):
                out[r, q] += -x if negative[q] else x


@njit(**_JIT)
def sparse_edges_matmul(indptr, indices, data, edges, edge_ptr, w, out):
    """out = X @ V for CSR X and the random-edge layer's V: ``w[e]`` is the
    weight of the kept connection with flat index ``edges[e] = i * n_out + j``
    (ascending); row i's edges are ``edge_ptr[i]:edge_ptr[i + 1]``."""
    n_out = out.shape[1]
    out[:] = 0
    for r in range(out.shape[0]):
        for p in range(indptr[r], indptr[r + 1]):
            i = indices[p]
            x = data[p]
            base = i * n_out
            for e in range(edge_ptr[i], edge_ptr[i + 1]):
                out[r, edges[e] - base] += x * w[e]


@njit(**_JIT)
def sparse_edges_grad(indptr, indices, data, delta, edges, edge_ptr, out):
    """Gradient of :func:`sparse_edges_matmul`'s weights: ``out[e]`` = the
    entry ``edges[e]`` of X.T @ delta, for the kept connections only."""
    n_out = delta.shape[1]
    out[:] = 0
    for r in range(delta.shape[0]):
        for p in range(indptr[r], indptr[r + 1]):
            i = indices[p]
            x = data[p]
            base = i * n_out
            for e in range(edge_ptr[i], edge_ptr[i + 1]):
                out[e] += x * delta[r, edges[e] - base]


@njit(**_JIT)
def sparse_dense_grad(indptr, indices, data, delta, out):
    """out = (X.T @ delta).ravel() for CSR X, written in place (a dense
    layer's weight gradient on sparse input, without a temporary)."""
    n_out = delta.shape[1]
    out[:] = 0
    for r in range(delta.shape[0]):
        for p in range(indptr[r], indptr[r + 1]):
            x = data[p]
            base = indices[p] * n_out
            for j in range(n_out):
                out[base + j] += x * delta[r, j]


# --------------------------------------------------------------------------
# activations and dropout
# --------------------------------------------------------------------------
@njit(inline="always")
def _act(z, kind):
    if kind == RELU:
        return 0.0 if z <= 0 else z  # NaN passes through, as it should
    if kind == TANH:
        return np.tanh(z)
    if kind == LOGISTIC:
        return 1.0 / (1.0 + np.exp(-z))
    return z


@njit(inline="always")
def _act_grad(a, kind):
    """Derivative expressed through the activation's output a."""
    if kind == RELU:
        return 1.0 if a > 0 else 0.0
    if kind == TANH:
        return 1.0 - a * a
    if kind == LOGISTIC:
        return a * (1.0 - a)
    return 1.0


@njit(**_JIT)
def bias_activate(z, b, kind):
    """In place: z <- act(z + b), one pass over z."""
    if kind == RELU:  # a loop of its own vectorises (see activate_train)
        for r in range(z.shape[0]):
            for u in range(z.shape[1]):
                a = z[r, u] + b[u]
                z[r, u] = 0.0 if a <= 0 else a
        return
    for r in range(z.shape[0]):
        for u in range(z.shape[1]):
            z[r, u] = _act(z[r, u] + b[u], kind)


@njit(inline="always")
def _keep_scale(seed, r, u, threshold, scale):
    """Inverted-dropout factor from a counter-based hash of (seed, row, unit)."""
    if threshold == 0:
        return scale
    return scale if _xxh32_pair(r, u, seed) >= threshold else 0.0


@njit(**_JIT)
def activate_train(z, b, kind, threshold, scale, seed, deriv):
    """In place, for training: z <- dropout(act(z + b)); deriv <- mask * act'(z + b).

    ``threshold`` is round(p * 2**32): a unit is dropped when its hash falls
    below it, and kept units are scaled by ``scale = 1 / (1 - p)``. The mask
    depends only on (seed, row, unit), never on thread scheduling.
    """
    if kind == RELU:
        # The same arithmetic in a loop of its own, without the dispatch on
        # kind: LLVM turns its branches into selects and vectorises it. Half
        # the signs are random, so the branchy loop mispredicted half the time
        # and ran ten times slower.
        for r in range(z.shape[0]):
            for u in range(z.shape[1]):
                a = z[r, u] + b[u]
                a = 0.0 if a <= 0 else a  # NaN passes through
                m = _keep_scale(seed, r, u, threshold, scale)
                z[r, u] = a * m
                deriv[r, u] = (1.0 if a > 0 else 0.0) * m
        return
    for r in range(z.shape[0]):
        for u in range(z.shape[1]):
            a = _act(z[r, u] + b[u], kind)
            m = _keep_scale(seed, r, u, threshold, scale)
            z[r, u] = a * m
            deriv[r, u] = _act_grad(a, kind) * m


@njit(**_JIT)
def dropout_dense(x, threshold, scale, seed, out):
    """out = dropout(x) for a dense input batch."""
    for r in range(x.shape[0]):
        for u in range(x.shape[1]):
            out[r, u] = x[r, u] * _keep_scale(seed, r, u, threshold, scale)


@njit(**_JIT)
def dropout_csr(indptr, indices, data, threshold, scale, seed, out):
    """Dropout on the stored entries of a CSR batch, same mask as the dense one."""
    for r in range(indptr.shape[0] - 1):
        for p in range(indptr[r], indptr[r + 1]):
            out[p] = data[p] * _keep_scale(seed, r, indices[p], threshold, scale)


@njit(**_JIT)
def step_seed(seed, step, layer):
    """Per-step, per-layer dropout seed."""
    s = _xxh32_pair(uint32(step & 0xFFFFFFFF), uint32(step >> 32), seed)
    return _xxh32_pair(uint32(layer), uint32(0), s)


# The training step's update kernels, from their own file (they hash nothing).
from ._kernels_update import (  # noqa: E402, F401
    adam_step,
    axpy,
    logistic_cross_entropy,
    momentum_step,
    quantize_buckets,
    scale_by,
    softmax_cross_entropy,
    squared_error,
)
