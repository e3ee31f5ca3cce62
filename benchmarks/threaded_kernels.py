"""2-thread variants of the package's gather and scatter, for comparison only.

sk_hashednets ships serial kernels (see the "Threads" section of RESULTS.md for
why). These are the deterministic parallel versions they are measured against:
the rows of V are split into a fixed number of chunks, independent of the
thread count, and the scatter accumulates each chunk in its own buffer, then
adds the buffers in chunk order. The result is therefore bit-identical for any
number of threads (``bench.py`` checks it).
"""

from numba import njit, prange

N_CHUNKS = 2


@njit(parallel=True, nogil=True, cache=True)
def gather(table, codes, out):
    n = codes.shape[0]
    for c in prange(N_CHUNKS):
        for i in range(c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS):
            for j in range(codes.shape[1]):
                out[i, j] = table[codes[i, j]]


@njit(parallel=True, nogil=True, cache=True)
def scatter(G, codes, buffers, out):
    """buffers: (N_CHUNKS, 2K) scratch; out: (K,)."""
    n = G.shape[0]
    k = out.shape[0]
    for c in prange(N_CHUNKS):
        buf = buffers[c]
        buf[:] = 0
        for i in range(c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS):
            for j in range(G.shape[1]):
                buf[codes[i, j]] += G[i, j]
    for b in prange(k):
        total = buffers[0, b] - buffers[0, k + b]
        for c in range(1, N_CHUNKS):
            total += buffers[c, b] - buffers[c, k + b]
        out[b] = total
