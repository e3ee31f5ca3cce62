"""Grid search over compression on a real Dask cluster, through joblib."""

import warnings

import joblib
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sk_hashednets import HashedMLPClassifier

pytestmark = pytest.mark.slow  # fresh kernels, processes or clusters

# One thread per worker process for Numba and BLAS: two single-threaded workers
# share the 2 cores instead of oversubscribing them (the Nanny already sets the
# BLAS/OpenMP variables to 1; NUMBA_NUM_THREADS is ours to set).
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def client():
    # the context managers close the client, the workers and the scheduler even
    # when a test fails; the timeout marks below turn a hang into a failure
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=WORKER_ENV) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2)
        yield client


def _search():
    pipe = make_pipeline(StandardScaler(),
                         HashedMLPClassifier(hidden_layer_sizes=(64,), max_iter=20,
                                             random_state=0))
    grid = {"hashedmlpclassifier__compression": [1 / 4, 1 / 16, 1 / 64]}
    return GridSearchCV(pipe, grid, cv=3)


@pytest.mark.timeout(900)  # a guard against a hung cluster, not a speed limit
def test_grid_search_over_compression_on_a_dask_cluster(client, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2

    search = _search()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # in the final refit
        with get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
            search.fit(X_train, y_train)
    # the 9 cross-validation fits ran on both worker processes
    ran_on = {task["worker"] for task in tasks.data}
    assert ran_on == workers

    # the same search in this process, single-threaded like the workers, gives
    # the same scores: every fit is determined by random_state
    reference = _search()
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X_train, y_train)
    for split in range(3):
        key = f"split{split}_test_score"
        np.testing.assert_array_equal(search.cv_results_[key],
                                      reference.cv_results_[key])
    assert search.best_params_ == reference.best_params_
    # fewer stored weights, lower scores: 64 x 64 + 64 x 10 virtual weights
    # kept in 1/4, 1/16 and 1/64 of the buckets
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] > scores[1] > scores[2]
    assert search.score(X_test, y_test) == reference.score(X_test, y_test)
