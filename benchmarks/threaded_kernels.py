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


def use_chunked_kernels():
    """Make HashedWeights train with the kernels above (for this benchmark only)."""
    import numpy as np

    from sk_hashednets import _kernels
    from sk_hashednets._layers import HashedWeights, WeightParametrization

    serial_virtual = HashedWeights.virtual

    def virtual(self, w, out=None):
        if self._codes is None:
            return serial_virtual(self, w, out)
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

    HashedWeights.virtual = virtual
    HashedWeights.grad = grad
    # the product dL/dV = a.T @ delta whole, then the gradient above
    HashedWeights.matmul_grad = WeightParametrization.matmul_grad


def main(argv=None):
    """One training epoch with the serial or the chunked kernels; prints the
    epoch's training loss, then its seconds."""
    import argparse
    import sys
    import time
    import warnings
    from fractions import Fraction
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sk_hashednets import HashedMLPClassifier

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--kernels", choices=["serial", "chunked"], required=True)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--compression", type=lambda s: float(Fraction(s)),
                        default=1 / 8)
    args = parser.parse_args(argv)
    if args.kernels == "chunked":
        use_chunked_kernels()
    rng = np.random.default_rng(0)
    X = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)

    def fit(n):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return HashedMLPClassifier((1000,), compression=args.compression,
                                       batch_size=args.batch_size, max_iter=1,
                                       random_state=0).fit(X[:n], y[:n])

    fit(500)  # compile
    tic = time.perf_counter()
    model = fit(args.samples)
    seconds = time.perf_counter() - tic
    print(f"loss {model.loss_!r}")
    print(seconds)


if __name__ == "__main__":
    main()
