"""Concurrent use is safe: threads predicting at once, fits with dropout in
threads beside each other, and a grid search on joblib's threading backend
give what serial calls give."""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import parallel_backend
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from small_problems import CLF, X_wide, y


def _at_once(n_threads, func):
    """Run func in n_threads threads released together; return their results."""
    barrier = threading.Barrier(n_threads)

    def run(_):
        barrier.wait()
        return func()

    with ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(run, range(n_threads)))


@pytest.mark.parametrize("sparse", [False, True])
def test_eight_threads_predict_like_a_serial_call(sparse):
    r = np.random.RandomState(1)
    X_ = r.randn(2000, 64)
    y_ = (X_[:, 0] > 0).astype(int) + (X_[:, 1] > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CLF(hidden_layer_sizes=(128, 64), max_iter=2, random_state=0)
        model.fit(X_, y_)
    X_in = sp.csr_matrix(np.where(np.abs(X_) > 1, X_, 0)) if sparse else X_
    serial = model.predict_proba(X_in)
    for proba in _at_once(8, lambda: model.predict_proba(X_in)):
        np.testing.assert_array_equal(proba, serial)


def test_concurrent_fits_with_dropout_match_serial_fits():
    """Dropout masks are a hash of (seed, step, row, unit): threads running
    other fits at the same time change nothing."""
    params = dict(hidden_layer_sizes=(32,), dropout=0.3, input_dropout=0.1,
                  max_iter=3, random_state=0)

    def fit():
        return CLF(**params).fit(X_wide, y)

    with warnings.catch_warnings():  # filters are process-wide: set them here
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = fit()
        models = _at_once(4, fit)
    for model in models:
        for a, b in zip(model.buckets_, serial.buckets_):
            np.testing.assert_array_equal(a, b)


def test_grid_search_with_the_threading_backend():
    grid = {"compression": [1, 1 / 8], "dropout": [0.0, 0.2]}
    base = CLF(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = GridSearchCV(base, grid, cv=3).fit(X_wide, y)
        with parallel_backend("threading", n_jobs=2):
            threaded = GridSearchCV(base, grid, cv=3, n_jobs=2).fit(X_wide, y)
    np.testing.assert_array_equal(threaded.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert threaded.best_params_ == serial.best_params_
    np.testing.assert_array_equal(threaded.predict_proba(X_wide),
                                  serial.predict_proba(X_wide))
