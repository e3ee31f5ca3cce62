"""Reproducibility across thread counts, and fits running in many Python threads."""

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

KWARGS = dict(hidden_layer_sizes=(30, 20), dropout=0.2, input_dropout=0.1,
              batch_size=64, max_iter=3)


def fit(X, y, seed, estimator=HashedMLPClassifier):
    return estimator(random_state=seed, **KWARGS).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numba_thread_count_does_not_change_the_fit(small_digits):
    """Every kernel gives bit-identical results with 1 and 2 Numba threads.

    The BLAS thread count is pinned: OpenBLAS itself may round differently
    with a different number of threads.
    """
    X, y = small_digits
    X = X.astype(np.float32)
    fits = []
    saved = numba.get_num_threads()
    try:
        with threadpool_limits(1):
            for n_threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
                numba.set_num_threads(n_threads)
                fits.append(fit(X, y, 0))
    finally:
        numba.set_num_threads(saved)
    for a, b in zip(fits[0].buckets_ + fits[0].intercepts_,
                    fits[1].buckets_ + fits[1].intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


# warnings.catch_warnings is not thread-safe: filter for the whole test instead
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:The gradient norm exceeded")
@pytest.mark.parametrize("estimator", [HashedMLPClassifier, HashedMLPRegressor])
def test_concurrent_fits_in_python_threads_match_sequential_fits(small_digits,
                                                                 estimator):
    """The kernels release the GIL and share no state: fits and predictions
    running at once in several Python threads equal the same calls in turn."""
    X, y = small_digits
    X = X[:200]
    y = y[:200] if estimator is HashedMLPClassifier else X[:, :3].sum(axis=1)
    seeds = [0, 1, 2, 3]
    with threadpool_limits(1):
        sequential = [fit(X, y, s, estimator) for s in seeds]
        with ThreadPoolExecutor(4) as pool:
            concurrent = list(pool.map(lambda s: fit(X, y, s, estimator), seeds))
            predictions = list(pool.map(lambda m: m.predict(X), concurrent * 2))
    for a, b in zip(sequential, concurrent):
        for wa, wb in zip(a.buckets_, b.buckets_):
            np.testing.assert_array_equal(wa, wb)
    for model, pred in zip(sequential * 2, predictions):
        np.testing.assert_array_equal(model.predict(X), pred)
