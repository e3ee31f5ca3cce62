"""Fits are reproducible: bit-identical across Numba threads and fresh
processes with the BLAS on one thread, and a clone refits to the same bits."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from small_problems import CLF, REG, X, make, y
from threadpoolctl import threadpool_limits

from sk_hashednets._layers import METHODS

TESTS = Path(__file__).resolve().parent


FIT_IN_A_FRESH_PROCESS = """
import json, sys, warnings
import numba, numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from sklearn.exceptions import ConvergenceWarning
sys.path.insert(0, sys.argv[1])
from test_reproducibility import reproducibility_fits
warnings.simplefilter("ignore", ConvergenceWarning)
blas = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
with threadpool_limits(1, "blas"):
    pinned = reproducibility_fits()
free = reproducibility_fits()  # BLAS on the threads of the environment
np.savez(sys.argv[2], *pinned)
np.savez(sys.argv[3], *free)
print(json.dumps({"numba_threads": numba.get_num_threads(), "blas_threads": blas}))
"""


def reproducibility_fits():
    """All fitted parameters of fits that exercise dropout, shuffling, early
    stopping, float32 and float64, every method, and a 1000-unit layer whose
    products are long enough for a threaded BLAS to block them differently."""
    r = np.random.RandomState(0)
    X_ = r.randn(400, 64)
    y_ = (X_[:, :9] > 0).sum(axis=1)  # 10 classes
    target_ = X_[:, :4] @ [1.0, -2.0, 0.5, 3.0]
    fits = [
        (CLF(hidden_layer_sizes=(1000,), dropout=0.3, input_dropout=0.2,
             max_iter=2, random_state=0), X_.astype(np.float32), y_),
        (REG(hidden_layer_sizes=(128, 64), dropout=0.2, early_stopping=True,
             max_iter=2, random_state=0), X_, target_),
    ] + [
        (CLF(hidden_layer_sizes=(128,), method=method, dropout=0.2, max_iter=2,
             random_state=0), X_.astype(np.float32), y_)
        for method in sorted(METHODS) if method != "hashing"
    ]
    params = []
    for est, X_fit, y_fit in fits:
        est.fit(X_fit, y_fit)
        params += est.buckets_ + est.intercepts_
    return params


def _load(path):
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.slow
def test_fits_are_bit_identical_across_numba_threads_and_processes(tmp_path):
    """Two fresh processes, NUMBA_NUM_THREADS (and the BLAS env) 1 and 2: with
    the BLAS pinned to one thread every parameter is bit-identical, between
    the processes and with this one. Numba's threads never matter (the
    kernels are serial); OpenBLAS's may: on more threads it blocks long
    products differently, so those fits agree to rounding only (see the
    user guide, "Robustness and reproducibility")."""
    runs = {}
    for n in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n),
                   OMP_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
        paths = [str(tmp_path / f"{n}-{kind}.npz") for kind in ("pinned", "free")]
        runs[n] = (subprocess.Popen(
            [sys.executable, "-c", FIT_IN_A_FRESH_PROCESS, str(TESTS), *paths],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), paths)
    fits = {}
    for n, (run, paths) in runs.items():
        stdout, stderr = run.communicate()
        assert run.returncode == 0, stderr
        info = json.loads(stdout.strip().splitlines()[-1])
        assert info == {"numba_threads": n, "blas_threads": [n]}  # settings took
        fits[n] = [_load(path) for path in paths]
    with warnings.catch_warnings(), threadpool_limits(1, "blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        here = reproducibility_fits()

    for a, b, c in zip(fits[1][0], fits[2][0], here):
        np.testing.assert_array_equal(a, b)  # NUMBA_NUM_THREADS 1 vs 2
        np.testing.assert_array_equal(a, c)  # another process
    for a, b in zip(fits[1][1], fits[1][0]):
        np.testing.assert_array_equal(a, b)  # one BLAS thread either way
    for a, b in zip(fits[2][1], fits[2][0]):  # BLAS on 2 threads vs 1
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_clone_is_an_unfitted_twin():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make(CLF, "hashing", dropout=0.2).fit(X, y)
        twin = clone(model)
        assert twin.get_params() == model.get_params()
        assert not any(k.endswith("_") and not k.startswith("_")
                       for k in vars(twin))
        with pytest.raises(NotFittedError):
            twin.predict(X)
        twin.fit(X, y)
    for a, b in zip(model.buckets_, twin.buckets_):
        np.testing.assert_array_equal(a, b)
