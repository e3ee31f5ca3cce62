"""2-thread variants of the package's gather and scatter, for comparison only.

sk_hashednets ships serial kernels (see the "Threads" section of RESULTS.md for
why). These are the deterministic parallel versions they are measured against:
the rows of V are split into a fixed number of chunks, independent of the
thread count, and the scatter accumulates each chunk in its own buffer, then
adds the buffers in chunk order. The result is therefore bit-identical for any
number of threads (``bench.py`` checks it).
"""

import common  # the checkout's package first on sys.path
import numpy as np
from numba import njit, prange

from sk_hashednets import HashedMLPClassifier, _kernels
from sk_hashednets._layers import HashedWeights, WeightParametrization

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


class ChunkedHashedWeights(HashedWeights):
    """HashedWeights training with the kernels above: the gather into V, and
    the whole product dL/dV = a.T @ delta, then the chunked scatter."""

    def virtual(self, w, out=None):
        if self._codes is None:
            return super().virtual(w, out)
        if out is None:
            out = np.empty(self.shape, dtype=w.dtype)
        table = self._signed_table(w.dtype)
        _kernels.signed_table(w, table)
        gather(table, self._codes, out)
        return out

    def grad(self, G, w, out):  # w: the layer's weights, unused by hashing
        buffers = getattr(self, "_chunk_buffers", None)
        if buffers is None or buffers.dtype != G.dtype:
            buffers = np.empty((N_CHUNKS, 2 * self.n_stored), dtype=G.dtype)
            self._chunk_buffers = buffers
        scatter(G, self._codes, buffers, out)

    matmul_grad = WeightParametrization.matmul_grad


class ChunkedHashedMLPClassifier(HashedMLPClassifier):
    """HashedMLPClassifier whose hashed layers are :class:`ChunkedHashedWeights`."""

    def _make_layer(self, method, n_in, n_out, n_stored, seeds, cache=False):
        if method != "hashing":
            return super()._make_layer(method, n_in, n_out, n_stored, seeds, cache)
        return ChunkedHashedWeights(n_in, n_out, n_stored, seeds, cache=cache)


def main(argv=None):
    """One training epoch with the serial or the chunked kernels; prints the
    epoch's training loss, then its seconds."""
    import argparse
    import time
    from fractions import Fraction

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--kernels", choices=["serial", "chunked"], required=True)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--compression", type=lambda s: float(Fraction(s)),
                        default=1 / 8)
    args = parser.parse_args(argv)
    model_class = (ChunkedHashedMLPClassifier if args.kernels == "chunked"
                   else HashedMLPClassifier)
    rng = np.random.default_rng(0)
    X = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)

    def fit(n):
        return common.quiet_fit(model_class((1000,), compression=args.compression,
                                            batch_size=args.batch_size, max_iter=1,
                                            random_state=0), X[:n], y[:n])

    fit(500)  # compile
    tic = time.perf_counter()
    model = fit(args.samples)
    seconds = time.perf_counter() - tic
    print(f"loss {model.loss_!r}")
    print(seconds)


if __name__ == "__main__":
    main()
