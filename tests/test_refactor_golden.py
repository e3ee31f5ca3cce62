"""Fits stay bit-identical across refactors.

Long experiments resume with newer code, so for a given set of parameters a
fit must give the same ``buckets_``, ``intercepts_``, ``loss_curve_``,
``validation_scores_`` and number of epochs as the code that started them. The
digests in ``fixtures/golden_digests.json`` were recorded at commit 4e3f600;
regenerate them only for a change of behaviour that is meant, with
``python tests/test_refactor_golden.py --write``.

Bits depend on the BLAS kernels too: OpenBLAS picks its kernels by CPU
(``SkylakeX`` on AVX-512 Intel machines, ``Haswell`` on AVX2 and on the AMD
ones it does not know), and their sums run in different orders. So the
fixture holds the digests of each kernel set, and each is checked in a fresh
process with ``OPENBLAS_CORETYPE`` set, on any CPU that can run it: the same
code gives the same bits whatever machine runs the test. (The ``Haswell``
digests were added at 054a62d, whose fits gave the recorded ``SkylakeX``
digests.)
"""

import hashlib
import json
import os
import platform
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_friedman1

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

FIXTURE = Path(__file__).parent / "fixtures" / "golden_digests.json"


def _digits(dtype=np.float64):
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16.0).astype(dtype), y[:300]


#: The defaults of the commit that recorded the digests (Adam at 0.001 and a
#: clipping limit of 100 became the defaults later).
DEFAULTS_THEN = dict(solver="sgd", learning_rate_init=0.01, max_grad_norm=10.0)


def _clf(**params):
    base = dict(hidden_layer_sizes=(24,), max_iter=4, random_state=0,
                **DEFAULTS_THEN)
    return HashedMLPClassifier(**{**base, **params})


def _fit(params, dtype=np.float64):
    X, y = _digits(dtype)
    return _clf(**params).fit(X, y)


def _warm_start():
    X, y = _digits()
    est = _clf(warm_start=True, max_iter=3)
    est.fit(X, y)
    return est.fit(X, y)


def _partial_fit():
    X, y = _digits(np.float32)
    est = _clf(solver="adam", learning_rate_init=1e-3)
    for start in (0, 100, 200, 0):
        est.partial_fit(X[start:start + 100], y[start:start + 100],
                        classes=np.arange(10))
    return est


def _sparse():
    X, y = _digits()
    return _clf(dropout=0.1, input_dropout=0.1).fit(sp.csr_matrix(X), y)


def _regressor(**params):
    X, y = make_friedman1(n_samples=200, random_state=0)
    base = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0,
                **DEFAULTS_THEN)
    return HashedMLPRegressor(**{**base, **params}).fit(X, y)


CONFIGS = {
    "hashing_sgd": lambda: _fit({}),
    "hashing_adam_f32": lambda: _fit(
        {"solver": "adam", "learning_rate_init": 1e-3}, np.float32),
    "low_rank_sgd": lambda: _fit({"method": "low_rank"}),
    "low_rank_adam_f32": lambda: _fit(
        {"method": "low_rank", "solver": "adam"}, np.float32),
    "random_edges_sgd": lambda: _fit({"method": "random_edges"}),
    "shrunk_adam": lambda: _fit({"method": "shrunk", "solver": "adam"}),
    "early_stopping_multiclass": lambda: _fit(
        {"early_stopping": True, "max_iter": 6, "n_iter_no_change": 2}),
    "early_stopping_adaptive_f32": lambda: _fit(
        {"early_stopping": True, "learning_rate": "adaptive", "max_iter": 8,
         "n_iter_no_change": 1, "tol": 0.5}, np.float32),
    "warm_start": _warm_start,
    "partial_fit_f32": _partial_fit,
    "dropout_invscaling": lambda: _fit(
        {"dropout": 0.25, "input_dropout": 0.2, "learning_rate": "invscaling",
         "learning_rate_init": 0.1, "hidden_layer_sizes": (24, 12)}),
    "rescale_grad_clip": lambda: _fit(
        {"rescale_grad": True, "max_grad_norm": 0.5, "compression": 1 / 16}),
    "sparse_dropout": _sparse,
    "binary_f32": lambda: _fit_binary(),
    "regressor": lambda: _regressor(),
    "regressor_early_stopping_adam": lambda: _regressor(
        early_stopping=True, solver="adam", learning_rate_init=1e-2),
}


def _fit_binary():
    X, y = _digits(np.float32)
    return _clf(batch_size=32).fit(X, y % 2)


def digest(est):
    """sha256 of the fitted arrays and curves of an estimator."""
    h = hashlib.sha256()
    for a in [*est.buckets_, *est.intercepts_]:
        h.update(str(a.dtype).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(np.asarray(est.loss_curve_, dtype=np.float64).tobytes())
    scores = est.validation_scores_
    h.update(b"None" if scores is None
             else np.asarray(scores, dtype=np.float64).tobytes())
    # the epochs since the network was drawn: n_iter_ when the digests were
    # recorded; n_iter_ now counts those of the last call, as scikit-learn's
    h.update(str(len(est.loss_curve_)).encode())
    return h.hexdigest()


def compute():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: digest(make()) for name, make in CONFIGS.items()}


#: The CPU flag each OpenBLAS kernel set needs.
CORE_FLAGS = {"SkylakeX": "avx512f", "Haswell": "avx2"}


def _cpu_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags")
            for flag in line.split(":", 1)[1].split()}


def digests_with(coretype):
    """The digests of every configuration, computed in a fresh process whose
    OpenBLAS runs the kernels of ``coretype``."""
    env = {**os.environ, "OPENBLAS_CORETYPE": coretype}
    out = subprocess.run([sys.executable, __file__], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.mark.slow
@pytest.mark.parametrize("coretype", sorted(CORE_FLAGS))
def test_fits_match_recorded_digests(coretype):
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the recorded digests are of OpenBLAS's x86-64 kernels")
    if CORE_FLAGS[coretype] not in _cpu_flags():
        pytest.skip(f"this CPU cannot run OpenBLAS's {coretype} kernels")
    expected = json.loads(FIXTURE.read_text())[coretype]
    got = digests_with(coretype)
    changed = sorted(name for name in expected if got.get(name) != expected[name])
    assert not changed, f"fits changed with {coretype} kernels: {changed}"


if __name__ == "__main__":
    digests = compute()
    if "--write" in sys.argv:
        # each kernel set's digests, from processes of their own
        recorded = {coretype: digests_with(coretype) for coretype in CORE_FLAGS}
        FIXTURE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(json.dumps(digests, indent=1, sort_keys=True))
