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
        return HashedMLPClassifier(**{"hidden_layer_sizes": (32,), "max_iter": 3,
                                      "random_state": 0, **params}).fit(X, y)


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
    monkeypatch.setattr(_threads, "TRAIN_MIN_WORK", 1)
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
    monkeypatch.setattr(_threads, "TRAIN_MIN_WORK", 1)
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


# --------------------------------------------------------------------------
# training products split in halves, the second on the helper thread
# --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(50, 784, 1000), (784, 50, 1000), (50, 1000, 784),
                                   (37, 33, 70), (16, 8, 17)])
@pytest.mark.parametrize("helper", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_products_equal_one_product(monkeypatch, shape, helper, dtype):
    """Every split (rows or columns, with and without the helper thread) gives
    the bits of one single-threaded product, transposed operands included."""
    m, k, n = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m)).astype(dtype).T  # a transposed view
    b = rng.standard_normal((k, n)).astype(dtype)
    monkeypatch.setattr(_threads, "SPLIT_MIN_WORK", 1)
    monkeypatch.setattr(_threads._local, "split", True, raising=False)
    monkeypatch.setattr(_threads._local, "helper", helper, raising=False)
    with threadpool_limits(1, user_api="blas"):
        whole = a @ b
        out = np.full((m, n), np.nan, dtype=dtype)
        assert _threads.matmul(a, b, out) is out
    np.testing.assert_array_equal(out, whole)


def test_products_split_only_in_training_calls(monkeypatch):
    calls = []
    matmul = np.matmul
    monkeypatch.setattr(_threads, "SPLIT_MIN_WORK", 1)
    monkeypatch.setattr(_threads, "_exact_halves", lambda *args: True)
    monkeypatch.setattr(_threads.np, "matmul",
                        lambda *a, **k: calls.append(1) or matmul(*a, **k))
    a, b = np.ones((64, 64)), np.ones((64, 64))
    _threads.matmul(a, b, np.empty((64, 64)))
    assert len(calls) == 1
    with _threads.training_threads(1):  # a small product: one BLAS thread
        _threads.matmul(a, b, np.empty((64, 64)))
    assert len(calls) == 3
    # a product that BLAS runs on its own threads stays whole
    monkeypatch.setattr(_threads, "TRAIN_MIN_WORK", 1)
    with threadpool_limits(2, user_api="blas"), _threads.training_threads(1):
        _threads.matmul(a, b, np.empty((64, 64)))
    assert len(calls) == 4 or _threads._blas_limit() < 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_are_split_only_where_the_halves_are_exact(monkeypatch, dtype):
    """The probe says what a direct comparison on this BLAS says, and a product
    whose halves would differ from it stays one product."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((50, 784)).astype(dtype)
    b = rng.standard_normal((784, 1000)).astype(dtype)
    with threadpool_limits(1, user_api="blas"):
        whole = a @ b
        parts = np.hstack([a @ b[:, :496], a @ b[:, 496:]])
        assert _threads._exact_halves(a, b, 1, 496) == np.array_equal(whole, parts)
    calls = []
    matmul = np.matmul
    monkeypatch.setattr(_threads, "SPLIT_MIN_WORK", 1)
    monkeypatch.setattr(_threads._local, "split", True, raising=False)
    monkeypatch.setattr(_threads._local, "helper", False, raising=False)
    monkeypatch.setattr(_threads, "_exact_halves", lambda *args: False)
    monkeypatch.setattr(_threads.np, "matmul",
                        lambda *a, **k: calls.append(1) or matmul(*a, **k))
    _threads.matmul(a, b, np.empty((50, 1000), dtype=dtype))
    _threads.matmul_rows(b.T, a.T, np.empty((1000, 50), dtype=dtype), lambda rows: None)
    assert len(calls) == 2


@pytest.mark.parametrize("limit, helper", [(None, True), (1, False)])
def test_the_helper_joins_only_where_a_second_core_is_allowed(monkeypatch, limit,
                                                              helper):
    """A limit of one thread (threadpool_limits, OPENBLAS_NUM_THREADS, joblib's
    workers) keeps the helper out; a machine of one CPU too."""
    if _threads._blas_limit() < 2 or _threads._cpus() < 2:
        pytest.skip("needs 2 BLAS threads and 2 CPUs")
    seen = []
    fit_stochastic = _base.fit_stochastic

    def spy(*args):
        seen.append(_threads._local.helper)
        return fit_stochastic(*args)

    monkeypatch.setattr(_base, "fit_stochastic", spy)
    with threadpool_limits(limit, user_api="blas"):
        _fit()
    assert seen == [helper]
    monkeypatch.setattr(_threads, "_cpus", lambda: 1)
    _fit()
    assert seen[-1] is False


@pytest.mark.parametrize("method", ["hashing", "hashing_blocks", "shrunk"])
def test_fits_with_and_without_the_helper_are_bit_identical(monkeypatch, method):
    """Split products (every product of this small fit, with SPLIT_MIN_WORK
    at 1), and dL/dV's rows added to the bucket gradient half by half, give
    the same fit with the helper thread, without it, and unsplit."""
    fits = {}
    for mode in ("unsplit", "split, helper", "split, no helper"):
        monkeypatch.setattr(_threads, "SPLIT_MIN_WORK",
                            2**62 if mode == "unsplit" else 1)
        monkeypatch.setattr(_threads, "_cpus",
                            lambda mode=mode: 1 if "no helper" in mode else 2)
        fits[mode] = _fit(hidden_layer_sizes=(40, 70), batch_size=64,
                          method=method)
    for mode in ("split, helper", "split, no helper"):
        for a, b in zip(fits["unsplit"].buckets_, fits[mode].buckets_):
            np.testing.assert_array_equal(a, b)


def test_the_helper_thread_is_new_after_a_fork():
    executor = _threads._executor()
    assert _threads._executor() is executor
    pid = _threads._helper[0]
    _threads._helper = (pid - 1, executor)  # as a forked child sees it
    try:
        assert _threads._executor() is not executor
    finally:
        _threads._helper = (pid, executor)


@pytest.mark.parametrize("helper", [False, True])
def test_matmul_rows_consumes_every_row_once_in_order(monkeypatch, helper):
    monkeypatch.setattr(_threads, "SPLIT_MIN_WORK", 1)
    monkeypatch.setattr(_threads._local, "split", True, raising=False)
    monkeypatch.setattr(_threads._local, "helper", helper, raising=False)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((70, 9)), rng.standard_normal((9, 11))
    out, seen = np.empty((70, 11)), []

    def consume(rows):  # each half is complete when it is consumed
        np.testing.assert_array_equal(out[rows], (a @ b)[rows])
        seen.append((rows.start, rows.stop))

    with threadpool_limits(1, user_api="blas"):
        _threads.matmul_rows(a, b, out, consume)
    assert seen == [(0, 32), (32, 70)]
