"""Behaviour of HashedMLPClassifier and HashedMLPRegressor."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import SGD
from sklearn.datasets import make_friedman1, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

# ---------------------------------------------------------------------------
# the headline numbers
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("compression, minimum", [(1 / 8, 0.97), (1 / 64, 0.95)])
def test_digits_accuracy_with_defaults(digits_split, compression, minimum):
    X_train, X_test, y_train, y_test = digits_split
    model = make_pipeline(
        StandardScaler(),
        HashedMLPClassifier(hidden_layer_sizes=(1000,), compression=compression,
                            random_state=0),
    )
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) >= minimum


@pytest.mark.slow
def test_grid_search_over_compression_in_parallel(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = HashedMLPClassifier(hidden_layer_sizes=(1000,), random_state=0)
    pipe = make_pipeline(StandardScaler(), clf)
    search = GridSearchCV(pipe, {"hashedmlpclassifier__compression": [1 / 8, 1 / 64]},
                          cv=3, n_jobs=2)
    search.fit(X_train, y_train)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert np.all(search.cv_results_["mean_test_score"] > 0.93)
    assert search.best_params_ == {"hashedmlpclassifier__compression": 1 / 8}
    assert search.score(X_test, y_test) >= 0.97


@pytest.mark.slow
def test_regressor_matches_mlp_regressor_on_raw_friedman_target():
    X, y = make_friedman1(n_samples=3000, noise=0.5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    ours = make_pipeline(StandardScaler(),
                         HashedMLPRegressor(hidden_layer_sizes=(256,),
                                            compression=1 / 8, random_state=0))
    ref = make_pipeline(StandardScaler(),
                        MLPRegressor(hidden_layer_sizes=(256,), random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r2_ours = ours.fit(X_train, y_train).score(X_test, y_test)
        r2_ref = ref.fit(X_train, y_train).score(X_test, y_test)
    assert r2_ours >= r2_ref - 0.05


@pytest.mark.slow
def test_pickled_size_shrinks_with_compression(digits_split):
    X_train, _, y_train, _ = digits_split
    X_train = StandardScaler().fit_transform(X_train)
    sizes = {}
    for compression in (1.0, 1 / 64):
        clf = HashedMLPClassifier(**SGD,
                                  hidden_layer_sizes=(1000,), compression=compression,
                                  random_state=0).fit(X_train, y_train)
        sizes[compression] = len(pickle.dumps(clf))
    assert sizes[1 / 64] <= sizes[1.0] / 30


# ---------------------------------------------------------------------------
# fitted state
# ---------------------------------------------------------------------------


def test_fitted_attributes(small_digits):
    X, y = small_digits
    clf = HashedMLPClassifier(hidden_layer_sizes=(30, 20), compression=1 / 4,
                              max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    units = [64, 30, 20, 10]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 10
    assert clf.out_activation_ == "softmax" and clf.activation_ == "relu"
    assert [len(w) for w in clf.buckets_] == [480, 150, 50]
    assert [len(b) for b in clf.intercepts_] == units[1:]
    assert clf.hash_seeds_.shape == (3, 2) and clf.hash_seeds_.dtype == np.uint32
    assert len(np.unique(clf.hash_seeds_)) == 6
    assert clf.n_stored_params_ == 480 + 150 + 50 + 30 + 20 + 10
    assert clf.n_virtual_params_ == 64 * 30 + 30 * 20 + 20 * 10 + 30 + 20 + 10
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert clf.t_ == 5 * len(X)
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert [c.shape for c in clf.coefs_] == [(64, 30), (30, 20), (20, 10)]
    np.testing.assert_array_equal(clf.classes_, np.arange(10))


def test_coefs_reproduce_predict_proba(small_digits):
    X, y = small_digits
    clf = HashedMLPClassifier(hidden_layer_sizes=(40,), activation="tanh",
                              max_iter=20, random_state=0).fit(X, y)
    hidden = np.tanh(X @ clf.coefs_[0] + clf.intercepts_[0])
    logits = hidden @ clf.coefs_[1] + clf.intercepts_[1]
    proba = np.exp(logits - logits.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-10)


def test_virtual_weights_take_values_of_buckets_only(small_digits):
    X, y = small_digits
    clf = HashedMLPClassifier(hidden_layer_sizes=(50,), compression=1 / 16,
                              max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    for V, w in zip(clf.coefs_, clf.buckets_):
        assert np.isin(np.abs(V), np.abs(w)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_dtype_follows_input(small_digits, dtype):
    X, y = small_digits
    clf = HashedMLPClassifier(hidden_layer_sizes=(20,), max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X.astype(dtype), y)
    assert all(w.dtype == dtype for w in clf.buckets_ + clf.intercepts_)
    assert clf.predict_proba(X).dtype == dtype


def test_fixed_random_state_gives_identical_buckets(small_digits):
    X, y = small_digits
    kwargs = dict(hidden_layer_sizes=(40,), dropout=0.2, input_dropout=0.1,
                  max_iter=8, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = HashedMLPClassifier(**kwargs).fit(X, y)
        b = HashedMLPClassifier(**kwargs).fit(X, y)
        c = HashedMLPClassifier(**{**kwargs, "random_state": 4}).fit(X, y)
    for wa, wb in zip(a.buckets_, b.buckets_):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.buckets_[0], c.buckets_[0])


def test_n_buckets_overrides_compression(small_digits):
    X, y = small_digits
    kwargs = dict(hidden_layer_sizes=(30, 20), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = HashedMLPClassifier(n_buckets=100, **kwargs).fit(X, y)
        per_layer = HashedMLPClassifier(n_buckets=[500, 60, 7], **kwargs).fit(X, y)
    assert [len(w) for w in one.buckets_] == [100, 100, 100]
    assert [len(w) for w in per_layer.buckets_] == [500, 60, 7]
    with pytest.raises(ValueError, match=re.escape("n_buckets has 2 entries but the "
                                                   "network has 3 weight layers")):
        HashedMLPClassifier(n_buckets=[5, 5], **kwargs).fit(X, y)


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------


def test_binary_string_labels(small_digits):
    X, y = small_digits
    labels = np.where(y < 5, "low", "high")
    clf = HashedMLPClassifier(**SGD, hidden_layer_sizes=(30,), max_iter=30,
                              random_state=0).fit(X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1)
    assert set(clf.predict(X)) <= {"low", "high"}
    assert clf.score(X, labels) > 0.9
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_multilabel():
    X, Y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = HashedMLPClassifier(**SGD, hidden_layer_sizes=(50,), max_iter=100,
                              random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    assert clf.predict(X).shape == Y.shape and clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.5
    sparse_Y = HashedMLPClassifier(**SGD, hidden_layer_sizes=(50,), max_iter=100,
                                   random_state=0).fit(X, sp.csr_matrix(Y))
    np.testing.assert_array_equal(sparse_Y.predict(X), clf.predict(X))


def test_regressor_multi_output_and_unscaled_target():
    X, y = make_friedman1(n_samples=600, random_state=1)
    X = StandardScaler().fit_transform(X)
    Y = np.column_stack([1000 * y + 5000, -0.001 * y])
    reg = HashedMLPRegressor(hidden_layer_sizes=(64,), max_iter=300,
                             random_state=0).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == Y.shape
    assert reg.score(X, Y) > 0.85
    np.testing.assert_allclose(reg.target_mean_, Y.mean(0))
    single = HashedMLPRegressor(hidden_layer_sizes=(64,), max_iter=50,
                                random_state=0)
    with pytest.warns(ConvergenceWarning):
        assert single.fit(X, y).predict(X).shape == (600,)


# ---------------------------------------------------------------------------
# scikit-learn's MLP on the edges: one class, one sample, n_iter_ per call
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("labels", [[7] * 10, ["cat"] * 10])
def test_a_single_class_fits_and_is_always_predicted(labels):
    X = np.random.RandomState(0).randn(10, 3)
    clf = HashedMLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, labels)
    assert clf.predict(X).tolist() == labels
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((10, 1)))
    assert clf.score(X, labels) == 1.0
    twin = pickle.loads(pickle.dumps(clf))
    assert twin.predict(X[:2]).tolist() == labels[:2]
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X, ["dog"] * 10 if labels[0] == "cat" else [8] * 10)


@pytest.mark.parametrize("Est", [HashedMLPClassifier, HashedMLPRegressor])
def test_fit_on_a_single_sample(Est):
    est = Est(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit([[1.0, 2.0]], [3])
    assert est.predict([[1.0, 2.0]]).shape == (1,)
    assert est.n_iter_ == 3


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_n_iter_counts_the_last_call_and_loss_curve_all(solver):
    X, y = make_friedman1(n_samples=60, random_state=0)
    reg = HashedMLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=4,
                             warm_start=True, n_iter_no_change=np.inf,
                             random_state=0)
    for n_calls in (1, 2):
        with pytest.warns(ConvergenceWarning):
            reg.fit(X, y)
        assert reg.n_iter_ == 4
        assert len(reg.loss_curve_) == 4 * n_calls


def test_a_single_class_model_is_not_exported(tmp_path):
    from sk_hashednets import export_c

    X = np.random.RandomState(0).randn(10, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = HashedMLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, [5] * 10)
    with pytest.raises(ValueError, match=re.escape(
            "The model was fitted on a single class (5) and always predicts it")):
        export_c(clf, tmp_path / "model.c")
