"""The training loop as the estimators drive it: partial_fit, warm_start,
verbose output, learning-rate schedules, gradient clipping, sparse input,
warnings that point at the caller, and early stopping across calls."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import SGD
from sklearn.datasets import make_friedman1
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

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
    from sk_hashednets import _memory, _training

    draw, calls = _training.split_indices, []

    def recording(estimator, y, n_samples, random_state):
        train, val = draw(estimator, y, n_samples, random_state)
        calls.append((val, np.asarray(y)[val],
                      estimator._split_stratify(y) is not None))
        return train, val

    monkeypatch.setattr(_training, "split_indices", recording)
    monkeypatch.setattr(_memory, "split_indices", recording)  # the check's
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
