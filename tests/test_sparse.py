"""Sparse input: text through HashingVectorizer, the hashing trick on features and
on weights together; a sparse X is never densified."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import make_pipeline

from sk_hashednets import HashedMLPClassifier
from sk_hashednets._layers import METHODS

TOPICS = ("sport", "cooking", "space")


def make_corpus(n_docs, seed):
    """Documents of 10 to 30 words on one of three topics.

    Each word is, with probability 0.2, one of the topic's 30 words, else one
    of 300 words shared by all topics: a few topical words per document.
    """
    rng = np.random.RandomState(seed)
    topic_words = [[f"{topic}{k}" for k in range(30)] for topic in TOPICS]
    common = [f"word{k}" for k in range(300)]
    docs, labels = [], []
    for _ in range(n_docs):
        label = rng.randint(len(TOPICS))
        topical = rng.rand(rng.randint(10, 31)) < 0.2
        words = [rng.choice(topic_words[label]) if t else rng.choice(common)
                 for t in topical]
        docs.append(" ".join(words))
        labels.append(TOPICS[label])
    return docs, np.array(labels)


@pytest.fixture(scope="module")
def corpus():
    docs, labels = make_corpus(900, seed=0)
    return docs[:600], docs[600:], labels[:600], labels[600:]


def _classifier(**kwargs):
    # HashingVectorizer's rows have unit L2 norm, so each feature is small: the
    # paper's learning rate of 0.1 trains in a few dozen epochs
    params = dict(hidden_layer_sizes=(64,), compression=1 / 16,
                  solver="sgd", learning_rate_init=0.1, max_iter=30,
                  random_state=0)
    return HashedMLPClassifier(**{**params, **kwargs})


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def test_text_pipeline_classifies_the_corpus(corpus):
    docs_train, docs_test, y_train, y_test = corpus
    pipe = make_pipeline(HashingVectorizer(n_features=2**12), _classifier())
    _fit(pipe, docs_train, y_train)
    assert pipe.score(docs_test, y_test) >= 0.9
    clf = pipe[-1]
    assert clf.n_features_in_ == 2**12
    assert clf.n_stored_params_ <= clf.n_virtual_params_ / 10


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(METHODS))
def test_text_pipeline_same_predictions_on_csr_and_on_its_dense_copy(corpus, method):
    docs_train, docs_test, y_train, _ = corpus
    vectorizer = HashingVectorizer(n_features=2**12)
    X_train, X_test = vectorizer.transform(docs_train), vectorizer.transform(docs_test)
    assert sp.issparse(X_train) and X_train.format == "csr"
    on_csr = _fit(_classifier(method=method), X_train, y_train)
    on_dense = _fit(_classifier(method=method), X_train.toarray(), y_train)
    np.testing.assert_array_equal(on_csr.predict(X_test), on_dense.predict(X_test))
    np.testing.assert_array_equal(on_csr.predict(X_test),
                                  on_csr.predict(X_test.toarray()))
    np.testing.assert_allclose(on_csr.predict_proba(X_test),
                               on_dense.predict_proba(X_test.toarray()),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method, min_accuracy",
                         [("hashing", 0.9), ("low_rank", 0.8), ("random_edges", None)])
def test_every_method_fits_a_million_hashed_features_in_little_memory(
        corpus, method, min_accuracy):
    """2**20 features x 64 hidden units: the first layer has 67 million virtual
    weights (512 MiB as float64 V, 256 MiB as an index cache) and X would be
    5 GiB dense. Only the sparse X, the stored weights and per-batch buffers
    are allocated: hashing hashes the connections on the fly, low rank
    multiplies X by its fixed factor hashed on the fly (rank 256 here), random
    edges go through the kept edges (1 in 4096 connections, so most words have
    none: no accuracy to speak of)."""
    docs_train, docs_test, y_train, y_test = corpus
    n_features, n_hidden = 2**20, 64
    vectorizer = HashingVectorizer(n_features=n_features)
    X_train, X_test = vectorizer.transform(docs_train), vectorizer.transform(docs_test)
    clf = _classifier(method=method, n_buckets=[2**14, n_hidden * len(TOPICS)])
    tracemalloc.start()
    try:
        _fit(clf, X_train, y_train)
        accuracy = clf.score(X_test, y_test)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # less than one byte per virtual weight of the first layer
    assert peak < n_features * n_hidden, f"peak {peak / 2**20:.0f} MiB"
    if min_accuracy is not None:
        assert accuracy >= min_accuracy
