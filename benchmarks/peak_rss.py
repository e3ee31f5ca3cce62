"""Train HashedMLPClassifier for one epoch and report the process's peak RSS.

Run it in a fresh process, so that the peak belongs to this fit alone::

    python benchmarks/peak_rss.py --hidden 16384 --compression 1/64 --samples 60000

It prints one JSON object: the peak resident set size (VmHWM on Linux) after
loading the data and after the fit, the fit's wall time, and the model's
stored parameters. The data are random float32 (generated directly in float32,
so no float64 copy inflates the peak).
"""

import argparse
import json
import time
from fractions import Fraction

import numpy as np
from common import peak_rss_mib, quiet_fit

from sk_hashednets import HashedMLPClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--hidden", type=int, nargs="+", default=[16384])
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--compression", type=lambda s: float(Fraction(s)),
                        default=1 / 64)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.random((args.samples, args.features), dtype=np.float32)
    y = rng.integers(0, args.classes, args.samples)
    before = peak_rss_mib()

    def fit(n):
        clf = HashedMLPClassifier(hidden_layer_sizes=tuple(args.hidden),
                                  compression=args.compression,
                                  batch_size=args.batch_size, max_iter=1,
                                  random_state=0)
        return quiet_fit(clf, X[:n], y[:n])  # one epoch: no convergence

    # load (or compile) the kernels first, so that fit_seconds is training
    fit(min(args.samples, 2 * args.batch_size))
    tic = time.perf_counter()
    clf = fit(args.samples)
    seconds = time.perf_counter() - tic
    print(json.dumps({
        "samples": args.samples,
        "layers": [args.features, *args.hidden, args.classes],
        "compression": args.compression,
        "batch_size": args.batch_size,
        "data_mib": X.nbytes / 2**20,
        "peak_rss_before_fit_mib": before,
        "peak_rss_mib": peak_rss_mib(),
        "fit_seconds": seconds,
        "stored_params": clf.n_stored_params_,
        "virtual_params": clf.n_virtual_params_,
        "loss": clf.loss_,
    }))


if __name__ == "__main__":
    main()
