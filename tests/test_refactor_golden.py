"""Fits stay bit-identical across refactors.

Long experiments resume with newer code, so for a given set of parameters a
fit must give the same ``buckets_``, ``intercepts_``, ``loss_curve_``,
``validation_scores_`` and number of epochs as the code that started them. The
digests in ``fixtures/golden_digests.json`` were recorded at commit 4e3f600;
regenerate them only for a change of behaviour that is meant, with
``python tests/test_refactor_golden.py --write``.
"""

import hashlib
import json
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


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fit_matches_recorded_digest(name):
    expected = json.loads(FIXTURE.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert digest(CONFIGS[name]()) == expected[name]


if __name__ == "__main__":
    digests = compute()
    if "--write" in sys.argv:
        FIXTURE.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(json.dumps(digests, indent=1, sort_keys=True))
