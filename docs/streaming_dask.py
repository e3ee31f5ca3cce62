"""Out-of-core text classification on a Dask cluster (docs/streaming.md).

    pip install ".[dask-ml]"
    python docs/streaming_dask.py

Documents live in a Dask bag; dask-ml's HashingVectorizer turns each partition
into a scipy.sparse block on the workers, and dask-ml's Incremental feeds the
blocks one by one to HashedMLPClassifier.partial_fit. Then the same with plain
Dask: one delayed partial_fit per partition, the model handed on.
"""

import dask
import dask.array as da
import dask.bag as db
import numpy as np
from dask.distributed import Client, LocalCluster
from dask_ml.feature_extraction.text import HashingVectorizer
from dask_ml.wrappers import Incremental

from sk_hashednets import HashedMLPClassifier

TOPICS = ("sport", "cooking", "space")


def make_documents(n_docs, seed):
    """Short documents on three topics: a few topical words among shared ones."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(len(TOPICS), size=n_docs)
    docs = [" ".join(f"{TOPICS[label]}{rng.integers(30)}" if rng.random() < 0.2
                     else f"word{rng.integers(300)}"
                     for _ in range(rng.integers(10, 31)))
            for label in labels]
    return docs, labels


def blocks(vectorizer, docs, labels, npartitions):
    """X as a Dask array of scipy.sparse blocks, y chunked alike."""
    X = vectorizer.transform(db.from_sequence(docs, npartitions=npartitions))
    X.compute_chunk_sizes()  # the partitions' lengths, to align y with X
    return X, da.from_array(labels, chunks=X.chunks[0])


def main():
    docs, labels = make_documents(12_000, seed=0)
    vectorizer = HashingVectorizer(n_features=2**20)  # stateless: no fit
    with LocalCluster(n_workers=2, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster):
        X, y = blocks(vectorizer, docs[:10_000], labels[:10_000], npartitions=10)
        X_test, y_test = blocks(vectorizer, docs[10_000:], labels[10_000:], 2)

        # 1. dask-ml: Incremental calls partial_fit once per block
        clf = HashedMLPClassifier(hidden_layer_sizes=(64,), compression=1 / 64,
                                  solver="sgd", learning_rate_init=0.1,
                                  random_state=0)
        model = Incremental(clf, scoring="accuracy", shuffle_blocks=False)
        for epoch in range(3):
            # the model may move between the workers: its solver state goes
            # with it (see docs/streaming.md)
            model.partial_fit(X, y, classes=range(len(TOPICS)))
            print(f"Incremental, pass {epoch + 1}: held-out accuracy "
                  f"{model.score(X_test, y_test):.3f}")

        # 2. plain Dask: one delayed partial_fit per partition, model handed on
        def partial_fit(model, X_block, y_block):
            return model.partial_fit(X_block, y_block, classes=range(len(TOPICS)))

        trained = dask.delayed(HashedMLPClassifier(
            hidden_layer_sizes=(64,), compression=1 / 64, solver="sgd",
            learning_rate_init=0.1, random_state=0))
        for X_block, y_block in zip(X.to_delayed().ravel(), y.to_delayed()):
            trained = dask.delayed(partial_fit)(trained, X_block, y_block)
        trained = trained.compute()
        accuracy = np.mean(trained.predict(X_test.compute()) == y_test.compute())
        print(f"plain Dask, one pass: held-out accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
