"""A real Dask cluster: grid search over compression through joblib, and
out-of-core training with dask-ml's Incremental (and with plain Dask)."""

import contextlib
import warnings

import dask
import dask.array as da
import dask.bag as db
import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from dask.distributed import Client, LocalCluster, get_task_stream
from dask_ml.feature_extraction.text import HashingVectorizer
from dask_ml.wrappers import Incremental
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import text
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_sparse import make_corpus
from threadpoolctl import threadpool_limits

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

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


@pytest.mark.timeout(900)  # a guard against a hung cluster, not a speed limit
def test_incremental_on_two_worker_processes_is_serial_partial_fit(client):
    """A model that dask-ml's Incremental moves between worker processes (one
    pass on each worker, then one where the scheduler puts it) and back to
    the client after each pass, by pickle each time, carries its solver state
    (Adam's moments and step count) and its random streams (dropout, the
    shuffles): it is bit-identical to partial_fit over the same blocks in the
    same order in this process, where the model never moves."""
    X_, y_ = load_digits(return_X_y=True)
    X_ = X_ / 16
    X, y = da.from_array(X_, chunks=(300, 64)), da.from_array(y_, chunks=300)
    params = dict(hidden_layer_sizes=(64,), compression=1 / 8, dropout=0.1,
                  learning_rate_init=1e-2, random_state=0)
    model = Incremental(HashedMLPClassifier(**params), shuffle_blocks=False)
    workers = sorted(client.scheduler_info()["workers"])
    ran_on = []
    for worker in [*workers, None]:
        where = (dask.annotate(workers=[worker], allow_other_workers=False)
                 if worker else contextlib.nullcontext())
        with get_task_stream(client) as tasks, where:
            model.partial_fit(X, y, classes=range(10))
        ran_on.append({task["worker"] for task in tasks.data
                       if "fit-" in str(task["key"])})
    assert ran_on[:2] == [{workers[0]}, {workers[1]}]
    assert model.estimator_.t_ == 3 * len(X_)

    local = HashedMLPClassifier(**params)
    with threadpool_limits(limits=1):  # as the single-threaded workers
        for _ in range(3):
            for i in range(X.numblocks[0]):
                local.partial_fit(X.blocks[i].compute(), y.blocks[i].compute(),
                                  classes=range(10))
    np.testing.assert_array_equal(model.estimator_.predict_proba(X_),
                                  local.predict_proba(X_))
    np.testing.assert_array_equal(model.predict(X).compute(), local.predict(X_))
    for on_cluster, here in zip(model.estimator_.buckets_, local.buckets_):
        np.testing.assert_array_equal(on_cluster, here)


@pytest.mark.timeout(900)  # a guard against a hung cluster, not a speed limit
def test_incremental_trains_on_text_blocks_of_a_dask_bag(client):
    """Documents in a Dask bag, hashed into scipy.sparse blocks on a worker,
    learned block by block by Incremental: the model trained on the cluster
    is the one partial_fit over the same blocks gives in this process (the
    model comes back to the client by pickle after each pass, with its
    solver state)."""
    docs, labels = make_corpus(1200, seed=0)
    y_all = np.searchsorted(np.unique(labels), labels)
    vectorizer = HashingVectorizer(n_features=2**12)
    X = vectorizer.transform(db.from_sequence(docs[:900], npartitions=6))
    X.compute_chunk_sizes()  # the bag's partition lengths, for the scorer
    y = da.from_array(y_all[:900], chunks=X.chunks[0])
    X_test = vectorizer.transform(db.from_sequence(docs[900:], npartitions=2))
    X_test.compute_chunk_sizes()
    y_test = da.from_array(y_all[900:], chunks=X_test.chunks[0])
    assert isinstance(X.blocks[0].compute(), sp.csr_matrix)

    params = dict(hidden_layer_sizes=(64,), compression=1 / 16, solver="sgd",
                  learning_rate_init=0.1, random_state=0)
    model = Incremental(HashedMLPClassifier(**params), scoring="accuracy",
                        shuffle_blocks=False)
    with get_task_stream(client) as tasks:
        for _ in range(10):  # ten passes over the stream
            model.partial_fit(X, y, classes=range(3))
    workers = set(client.scheduler_info()["workers"])
    assert tasks.data and {task["worker"] for task in tasks.data} <= workers
    assert model.estimator_.t_ == 10 * 900
    assert model.score(X_test, y_test) >= 0.85

    blocks = [(X.blocks[i].compute(), y.blocks[i].compute())
              for i in range(X.numblocks[0])]
    local = HashedMLPClassifier(**params)
    with threadpool_limits(limits=1):
        for _ in range(10):
            for Xb, yb in blocks:
                local.partial_fit(Xb, yb, classes=range(3))
    for on_cluster, here in zip(model.estimator_.buckets_, local.buckets_):
        np.testing.assert_array_equal(on_cluster, here)
    np.testing.assert_array_equal(model.predict(X_test).compute(),
                                  local.predict(X_test.compute()))


@pytest.mark.timeout(900)
def test_incremental_trains_a_regressor_on_a_dense_dask_array(client):
    """Blocks of a dense Dask array, the model free to move between workers."""
    rng = np.random.default_rng(0)
    X_ = rng.standard_normal((2000, 8))
    y_ = X_[:, 0] - 2 * X_[:, 1] + 0.1 * rng.standard_normal(2000)
    X, y = da.from_array(X_, chunks=(400, 8)), da.from_array(y_, chunks=400)
    model = Incremental(HashedMLPRegressor(hidden_layer_sizes=(32,), compression=1 / 2,
                                           solver="sgd", learning_rate_init=0.05,
                                           random_state=0))
    with get_task_stream(client) as tasks:
        for _ in range(3):
            model.partial_fit(X, y)
    workers = set(client.scheduler_info()["workers"])
    assert tasks.data and {task["worker"] for task in tasks.data} <= workers
    assert model.estimator_.t_ == 3 * 2000
    assert model.estimator_.score(X_, y_) > 0.9  # R^2


@pytest.mark.timeout(900)
def test_plain_dask_hands_the_model_from_partition_to_partition(client):
    """The fallback where dask-ml does not apply: one delayed partial_fit per
    partition of a Dask dataframe, each taking the model the previous one
    returned; the same model as partial_fit over the partitions here."""
    docs, labels = make_corpus(600, seed=1)
    frame = dask.dataframe.from_pandas(pd.DataFrame({"text": docs, "topic": labels}),
                                       npartitions=4)
    vectorizer = text.HashingVectorizer(n_features=2**12)  # scikit-learn's
    topics = np.unique(labels)

    def partial_fit(model, part):
        return model.partial_fit(vectorizer.transform(part["text"]), part["topic"],
                                 classes=topics)

    params = dict(hidden_layer_sizes=(32,), compression=1 / 16, solver="sgd",
                  learning_rate_init=0.1, random_state=0)
    model = dask.delayed(HashedMLPClassifier(**params))
    for part in frame.to_delayed():
        model = dask.delayed(partial_fit)(model, part)
    with get_task_stream(client) as tasks:
        model = model.compute()
    workers = set(client.scheduler_info()["workers"])
    assert tasks.data and {task["worker"] for task in tasks.data} <= workers
    assert model.t_ == 600

    local = HashedMLPClassifier(**params)
    with threadpool_limits(limits=1):
        for part in frame.to_delayed():
            partial_fit(local, part.compute())
    for on_cluster, here in zip(model.buckets_, local.buckets_):
        np.testing.assert_array_equal(on_cluster, here)
