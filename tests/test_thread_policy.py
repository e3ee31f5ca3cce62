"""The BLAS thread policy of fit, partial_fit and predict (sk_hashednets._threads)."""

import sys
import types
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

from sk_hashednets import HashedMLPClassifier, _base, _threads


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def _digits():
    X, y = load_digits(return_X_y=True)
    return (X[:200] / 16).astype(np.float32), y[:200]


def _fit(**params):
    X, y = _digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HashedMLPClassifier(hidden_layer_sizes=(32,), max_iter=3,
                                   random_state=0, **params).fit(X, y)


@pytest.fixture
def seen(monkeypatch):
    """The BLAS thread counts inside each training and predict call."""
    calls = {"fit": [], "predict": []}
    fit_stochastic, forward = _base.fit_stochastic, _base.forward

    def fit_spy(*args):
        calls["fit"].append(_blas_threads())
        return fit_stochastic(*args)

    def forward_spy(*args):
        calls["predict"].append(_blas_threads())
        return forward(*args)

    monkeypatch.setattr(_base, "fit_stochastic", fit_spy)
    monkeypatch.setattr(_base, "forward", forward_spy)
    return calls


def test_small_training_products_run_on_one_blas_thread(seen):
    before = _blas_threads()
    est = _fit()
    est.partial_fit(*_digits())
    assert seen["fit"] and all(set(n) == {1} for n in seen["fit"])
    assert _blas_threads() == before  # the outer setting comes back


def test_large_products_keep_the_threads_blas_has(seen, monkeypatch):
    monkeypatch.setattr(_base, "TRAIN_MIN_WORK", 1)
    monkeypatch.setattr(_base, "PREDICT_MIN_WORK", 1)
    before = _blas_threads()
    _fit().predict(_digits()[0])
    assert seen["fit"] == [before] and seen["predict"] == [before]


def test_predict_follows_its_product_size(seen, monkeypatch):
    est = _fit()
    X = _digits()[0]
    est.predict(X[:5])  # 5 x 64 x 32: small
    monkeypatch.setattr(_base, "PREDICT_MIN_WORK", 5 * 64 * 32 + 1)
    est.predict(X[:6])
    assert all(set(n) == {1} for n in seen["predict"][:1])
    assert seen["predict"][1] == _blas_threads()


def test_an_outer_limit_wins(seen, monkeypatch):
    monkeypatch.setattr(_base, "TRAIN_MIN_WORK", 1)
    with threadpool_limits(1, user_api="blas"):
        _fit()
    assert all(set(n) == {1} for n in seen["fit"])


def test_a_dask_worker_gets_one_thread(monkeypatch):
    fake = types.ModuleType("distributed")
    fake.get_worker = lambda: object()
    monkeypatch.setitem(sys.modules, "distributed", fake)
    assert _threads.policy(2**40, 1) == 1

    def no_worker():
        raise ValueError("No worker found")

    fake.get_worker = no_worker
    assert _threads.policy(2**40, 1) is None
    assert _threads.policy(10, 11) == 1


def test_fits_are_bit_identical_for_a_setting():
    reference = _fit()
    with threadpool_limits(1, user_api="blas"):
        pinned = _fit()
    for a, b in zip(reference.buckets_, pinned.buckets_):
        np.testing.assert_array_equal(a, b)


def test_concurrent_calls_share_the_setting():
    """Overlapping fits and predicts from Python threads: every fit sees one
    thread, and the outer setting is back once all have ended."""
    before = _blas_threads()
    est = _fit()
    X = _digits()[0]
    with ThreadPoolExecutor(4) as pool:
        fits = [pool.submit(_fit) for _ in range(3)]
        preds = [pool.submit(est.predict, X) for _ in range(3)]
        results = [f.result() for f in fits]
        labels = [p.result() for p in preds]
    for other in results[1:]:
        np.testing.assert_array_equal(other.buckets_[0], results[0].buckets_[0])
    for other in labels[1:]:
        np.testing.assert_array_equal(other, labels[0])
    assert _blas_threads() == before
