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
# training loop
# ---------------------------------------------------------------------------


def test_partial_fit_classifier(small_digits):
    X, y = small_digits
    clf = HashedMLPClassifier(**SGD, hidden_layer_sizes=(40,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:50], y[:50])
    for start in range(0, 400, 100):
        clf.partial_fit(X[start:start + 100], y[start:start + 100],
                        classes=np.arange(10))
    # n_iter_ counts the epochs of the last call, as MLPClassifier's
    assert clf.n_iter_ == 1 and clf.t_ == 400 and len(clf.loss_curve_) == 4
    for _ in range(20):
        clf.partial_fit(X, y)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 2
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match=re.escape("`y` has classes not in "
                                                   "`self.classes_`")):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 11]))


def test_fit_drops_the_momentum_partial_fit_keeps_it(small_digits):
    """Velocities are as large as the buckets: a model returned by fit does not
    hold them (its next fit starts from rest anyway), one updated by partial_fit
    does, and the next partial_fit continues from them."""
    X, y = small_digits

    def fit_then_partial_fit():
        clf = HashedMLPClassifier(hidden_layer_sizes=(20,), max_iter=3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        assert clf._optimizer._state is None
        clf.partial_fit(X, y)
        return clf

    clf, at_rest = fit_then_partial_fit(), fit_then_partial_fit()
    velocities = clf._optimizer._state[0]
    assert [v.size for v in velocities] == [
        p.size for p in clf.buckets_ + clf.intercepts_]
    assert any(np.any(v != 0) for v in velocities)
    np.testing.assert_array_equal(clf.buckets_[0], at_rest.buckets_[0])
    at_rest._optimizer.drop_state()
    clf.partial_fit(X, y)
    at_rest.partial_fit(X, y)
    assert not np.array_equal(clf.buckets_[0], at_rest.buckets_[0])


def test_partial_fit_regressor_keeps_target_scaling():
    X, y = make_friedman1(n_samples=400, random_state=0)
    reg = HashedMLPRegressor(hidden_layer_sizes=(32,), random_state=0)
    reg.partial_fit(X[:200], y[:200])
    mean = reg.target_mean_.copy()
    reg.partial_fit(X[200:], y[200:] + 100)
    np.testing.assert_array_equal(reg.target_mean_, mean)


def test_warm_start_continues_and_checks_architecture(small_digits):
    X, y = small_digits
    clf = HashedMLPClassifier(hidden_layer_sizes=(30,), max_iter=5, warm_start=True,
                              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        first = [w.copy() for w in clf.buckets_]
        clf.fit(X, y)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 10
    assert not np.array_equal(first[0], clf.buckets_[0])
    clf.set_params(hidden_layer_sizes=(31,))
    with pytest.raises(ValueError, match="Set warm_start=False"):
        clf.fit(X, y)


def test_early_stopping_keeps_the_best_epoch(small_digits):
    X, y = small_digits
    kwargs = dict(hidden_layer_sizes=(30,), early_stopping=True,
                  validation_fraction=0.25, learning_rate_init=0.05,
                  n_iter_no_change=5, random_state=0)
    clf = HashedMLPClassifier(max_iter=200, **kwargs).fit(X, y)
    best = int(np.argmax(clf.validation_scores_))
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert clf.n_iter_ > best + 1
    # the same run stopped right after its best epoch has the same parameters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        short = HashedMLPClassifier(max_iter=best + 1, **kwargs).fit(X, y)
    for kept, reference in zip(clf.buckets_, short.buckets_):
        np.testing.assert_array_equal(kept, reference)


def test_verbose_prints_one_line_per_epoch(small_digits, capsys):
    X, y = small_digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        HashedMLPClassifier(hidden_layer_sizes=(10,), max_iter=3, early_stopping=True,
                            verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"Iteration 3, loss = \d+\.\d+, validation score = "
                        r"\d\.\d+, time = \d+\.\d\ds", lines[-1])


@pytest.mark.parametrize("verbose, printed", [(True, [1, 2, 3, 4, 5, 6]), (3, [3, 6])])
def test_verbose_partial_fit_prints_one_line_per_chunks(small_digits, capsys, verbose,
                                                        printed):
    """A stream's progress: one line per partial_fit call (or per `verbose`
    calls), never one per batch, with the rows seen, the chunk's loss and its
    throughput."""
    X, y = small_digits
    clf = HashedMLPClassifier(hidden_layer_sizes=(10,), batch_size=10,
                              verbose=verbose, random_state=0)
    losses = []
    for start in range(0, 300, 50):
        clf.partial_fit(X[start:start + 50], y[start:start + 50], classes=range(10))
        losses.append(clf.loss_curve_[-1])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(printed)
    for chunk, line in zip(printed, lines):
        match = re.fullmatch(rf"Chunk {chunk}: {50 * chunk} rows seen, loss = "
                             r"(\d+\.\d{8}), \d+ rows/s", line)
        assert match, line
        assert float(match[1]) == pytest.approx(losses[chunk - 1], abs=1e-8)


def test_convergence_warning_at_max_iter(small_digits):
    X, y = small_digits
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\)"):
        HashedMLPClassifier(hidden_layer_sizes=(10,), max_iter=2).fit(X, y)


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_learning_rate_schedules(small_digits, schedule):
    X, y = small_digits
    clf = HashedMLPClassifier(solver="sgd",
                              hidden_layer_sizes=(30,), learning_rate=schedule,
                              learning_rate_init=0.05, max_iter=300, tol=1e-2,
                              n_iter_no_change=2, random_state=0).fit(X, y)
    lr = clf._optimizer.learning_rate
    if schedule == "constant":
        assert lr == 0.05
    elif schedule == "invscaling":
        assert lr == pytest.approx(0.05 / (clf.t_ + 1) ** 0.5)
    else:
        assert lr < 0.05  # divided by 5 at least once before stopping
    assert clf.score(X, y) > 0.5


def test_unscaled_input_warns_instead_of_exploding():
    rng = np.random.RandomState(0)
    X = rng.normal(loc=100, size=(60, 3))
    y = rng.normal(size=60)
    with pytest.warns(UserWarning, match="StandardScaler"):
        HashedMLPRegressor(max_iter=20).fit(X, y)


def test_rare_clipping_warns_without_blaming_the_scaling():
    """One clipped step in many is no sign of unscaled input: the warning says so."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12000, 5))
    y = (X[:, 0] > 0).astype(int)
    X[17] *= 1e5  # one huge row: the batch holding it clips, no other does
    with pytest.warns(UserWarning, match=r"clipped in 1 of 120 steps\. Clipping that "
                      r"rare changes little") as record:
        HashedMLPClassifier(**SGD, hidden_layer_sizes=(8,), batch_size=100, max_iter=1,
                            shuffle=False, random_state=0).fit(X, y)
    assert not any("StandardScaler" in str(w.message) for w in record)


def test_sparse_input_matches_dense(small_digits):
    X, y = small_digits
    X = np.where(np.abs(X) > 0.5, X, 0.0)
    kwargs = dict(hidden_layer_sizes=(30,), input_dropout=0.2, max_iter=20,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = HashedMLPClassifier(**kwargs).fit(X, y)
        csr = HashedMLPClassifier(**kwargs).fit(sp.csr_matrix(X), y)
        csc = HashedMLPClassifier(**kwargs).fit(sp.csc_matrix(X), y)
    np.testing.assert_array_equal(csr.predict(X), dense.predict(X))
    np.testing.assert_array_equal(csc.predict(sp.csr_matrix(X)), dense.predict(X))
    np.testing.assert_allclose(csr.predict_proba(X), dense.predict_proba(X), rtol=1e-6,
                               atol=1e-9)


# ---------------------------------------------------------------------------
# warnings point at the caller
# ---------------------------------------------------------------------------
class _OwnFit(HashedMLPClassifier):
    """A subclass that overrides fit: one more frame between user and loop."""

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, y, sample_weight)


def _fit_call(est, X, y):
    return est.fit(X, y)


def _partial_fit_call(est, X, y):
    return est.partial_fit(X, y, classes=np.unique(y))


@pytest.mark.parametrize("call", [_fit_call, _partial_fit_call])
@pytest.mark.parametrize("Est", [HashedMLPClassifier, _OwnFit])
def test_warnings_point_at_the_first_frame_outside_the_package(small_digits, Est,
                                                               call):
    X, y = small_digits
    est = Est(hidden_layer_sizes=(8,), max_iter=1, batch_size=1000,
              max_grad_norm=1e-6, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(est, X[:50], y[:50])
    expected = {"Got `batch_size`", "The gradient norm exceeded"}
    if call is _fit_call:
        expected.add("Stochastic Optimizer: Maximum iterations")
    seen = {next(p for p in expected if str(w.message).startswith(p)): w
            for w in caught if any(str(w.message).startswith(p) for p in expected)}
    assert set(seen) == expected
    for w in seen.values():
        assert w.filename == __file__
        line = open(__file__).read().splitlines()[w.lineno - 1]
        # the frame is the call in _fit_call/_partial_fit_call, or the
        # subclass's super().fit(...), whichever is outermost in the package
        assert ".fit(" in line or ".partial_fit(" in line


# ---------------------------------------------------------------------------
# early stopping across calls, as scikit-learn's MLPClassifier
# ---------------------------------------------------------------------------
def _record_splits(monkeypatch):
    """Record each early-stopping split a fit draws: its validation rows,
    their labels and whether it was stratified. Each fit draws its split
    twice: first in its up-front check, with another seed, to raise the
    split's errors before any work; then the split it trains on."""
    from sk_hashednets import _training

    draw, calls = _training.split_indices, []

    def recording(estimator, y, n_samples, random_state):
        train, val = draw(estimator, y, n_samples, random_state)
        calls.append((val, np.asarray(y)[val],
                      estimator._split_stratify(y) is not None))
        return train, val

    monkeypatch.setattr(_training, "split_indices", recording)
    return calls


def test_binary_early_stopping_split_is_stratified(small_digits, monkeypatch):
    X, y = small_digits
    y = (y == 3).astype(int)  # about 10% positives
    seen = _record_splits(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        HashedMLPClassifier(hidden_layer_sizes=(8,), max_iter=1, early_stopping=True,
                            validation_fraction=0.2, random_state=0).fit(X, y)
    _, (_, y_val, stratified) = seen
    assert stratified
    assert abs(y_val.mean() - y.mean()) <= 1 / len(y_val)


def test_partial_fit_refuses_early_stopping_as_mlp_classifier(small_digits):
    X, y = small_digits
    from sklearn.neural_network import MLPClassifier

    for Est in (MLPClassifier, HashedMLPClassifier):
        with pytest.raises(ValueError, match="partial_fit does not support "
                                             "early_stopping=True"):
            Est(early_stopping=True).partial_fit(X, y, classes=np.unique(y))


def test_warm_start_keeps_the_split_and_the_best_weights(small_digits,
                                                          monkeypatch):
    """A warm-started call that only makes things worse keeps the earlier
    call's best score, and continues the curves, as MLPClassifier does; both
    calls validate on the same held-out rows. Ours also keeps the best
    weights: MLPClassifier means to (``_best_coefs``), but its second call
    updates the best arrays in place, because after the first call
    ``coefs_`` is ``_best_coefs``."""
    from sklearn.neural_network import MLPClassifier

    X, y = small_digits
    seen = _record_splits(monkeypatch)
    kwargs = dict(hidden_layer_sizes=(16,), early_stopping=True, warm_start=True,
                  solver="sgd", learning_rate_init=0.1, max_iter=60,
                  n_iter_no_change=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for Est in (MLPClassifier, HashedMLPClassifier):
            est = Est(**kwargs).fit(X, y)
            first = [w.copy() for w in getattr(est, "buckets_", est.coefs_)]
            best, n_scores = est.best_validation_score_, len(est.validation_scores_)
            est.set_params(learning_rate_init=10.0, max_iter=2, n_iter_no_change=10)
            with np.errstate(all="ignore"):
                est.fit(X, y)
            assert est.best_validation_score_ == best
            assert max(est.validation_scores_[-2:]) < best
            assert len(est.validation_scores_) == n_scores + 2
    for a, b in zip(est.buckets_, first):
        np.testing.assert_array_equal(a, b)
    assert len(seen) == 4  # two fits, each drawing its split twice
    np.testing.assert_array_equal(seen[1][0], seen[3][0])
    np.testing.assert_array_equal(seen[1][1], seen[3][1])


def test_partial_fit_with_a_class_first_seen_later():
    """As MLPClassifier (its gh-6994): a class announced in ``classes`` but
    first seen in a later call is learned under its own label."""
    clf = HashedMLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05,
                              random_state=0)
    clf.partial_fit([[1], [2], [3]], ["a", "b", "c"], classes=["d", "c", "b", "a"])
    for _ in range(30):
        clf.partial_fit([[4]], ["d"])
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c", "d"])
    assert clf.predict([[4]]).tolist() == ["d"]
    assert clf.predict_proba([[4]]).argmax() == 3


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
