"""The paper's baselines behind `method`, and dark knowledge."""

import copy
import pickle
import re
import struct
import warnings

import numpy as np
import pytest
import xxhash
from conftest import SGD
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, _kernels
from sk_hashednets._budgets import layer_budgets, plan_layers
from sk_hashednets._kernels import BLOCK
from sk_hashednets._layer_hashing import BlockHashedWeights
from sk_hashednets._layer_random_edges import _kept_edges
from sk_hashednets._layer_shrunk import shrink_widths

METHODS = ["hashing", "hashing_blocks", "low_rank", "random_edges", "shrunk"]


def fit_quietly(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


@pytest.mark.parametrize("method", METHODS)
def test_n_stored_params_is_exact(small_digits, method):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(100, 50), method=method,
                                          compression=1 / 8, max_iter=2,
                                          random_state=0), X, y)
    counted = sum(w.size for w in clf.buckets_) + sum(b.size for b in clf.intercepts_)
    assert clf.n_stored_params_ == counted
    # the state that is saved holds exactly those numbers, plus tiny bookkeeping
    state = clf.__getstate__()
    assert state["_packed_params"].size == counted
    arrays = [v for v in state.values() if isinstance(v, np.ndarray)]
    seeds_and_classes = clf.hash_seeds_.size + len(clf.classes_)
    assert sum(a.size for a in arrays) == counted + seeds_and_classes
    # every method stores what the hashed network stores, give or take rounding
    hashed = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(100, 50),
                                             compression=1 / 8, max_iter=1,
                                             random_state=0), X, y)
    assert abs(clf.n_stored_params_ / hashed.n_stored_params_ - 1) < 0.05


def test_budgets_per_method():
    units, budgets = [784, 1000, 10], [12250, 156]
    assert plan_layers("hashing", units, budgets) == (units, budgets)
    assert plan_layers("random_edges", units, budgets) == (units, budgets)
    # low rank: r = round(budget / min(n_in, n_out)), between 1 and max(n_in, n_out)
    assert plan_layers("low_rank", units, budgets) == (units, [16 * 784, 16 * 10])
    assert plan_layers("low_rank", [8, 4], [28])[1] == [7 * 4]  # 7.0 -> 7
    assert plan_layers("low_rank", [8, 4], [26])[1] == [7 * 4]  # 6.5 -> 7
    assert plan_layers("low_rank", [8, 4], [25])[1] == [6 * 4]
    assert plan_layers("low_rank", [8, 4], [2])[1] == [1 * 4]  # at least rank 1
    assert plan_layers("low_rank", [8, 4], [24000])[1] == [8 * 4]  # at most 8
    assert plan_layers("low_rank", [4, 8], [26])[1] == [7 * 4]  # either side
    # shrunk: dense 784-h-10 within 12250 + 156 + 1000 + 10 = 13416 parameters
    shrunk_units, shrunk_stored = plan_layers("shrunk", units, budgets)
    assert shrunk_units == [784, 16, 10] and shrunk_stored == [784 * 16, 160]
    assert 784 * 16 + 16 + 160 + 10 <= 13416 < 784 * 17 + 17 + 170 + 10
    assert shrink_widths([5, 40, 20, 3], 10**9) == [5, 40, 20, 3]
    assert shrink_widths([5, 40, 20, 3], 1) == [5, 1, 1, 3]


def test_low_rank_virtual_matrix_has_the_rank(small_digits):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(60,), method="low_rank",
                                          n_buckets=[3 * 60, 70], max_iter=3,
                                          random_state=0), X, y)
    # 64 x 60: rank 180 / 60 = 3; 60 x 10: rank round(70 / 10) = 7
    assert [np.linalg.matrix_rank(V) for V in clf.coefs_] == [3, 7]
    assert [w.size for w in clf.buckets_] == [3 * 60, 7 * 10]
    # the fixed factor is a sign matrix scaled by 1 / sqrt(r), from the seed
    layer = clf._layers()[0]
    np.testing.assert_array_equal(np.abs(layer.U), 1 / np.sqrt(3))
    twin = clf._layers()[0]
    np.testing.assert_array_equal(twin.U, layer.U)


@pytest.mark.parametrize("hidden", [(1000,), (1000, 1000, 1000)])
@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
@pytest.mark.parametrize("n_in", [64, 784])
def test_every_method_stores_what_hashing_stores(hidden, compression, n_in):
    """Table 1's networks: no method stores more than hashing's +3%, only
    'shrunk' (integer widths) may store noticeably less, and no low-rank
    layer is starved to rank 1."""
    units = [n_in, *hidden, 10]
    budgets = layer_budgets(units, compression)

    def stored(method):
        widths, weights = plan_layers(method, units, budgets)
        return sum(weights) + sum(widths[1:])

    hashed = stored("hashing")
    for method in ("low_rank", "random_edges", "shrunk"):
        ratio = stored(method) / hashed
        assert ratio <= 1.03, (method, ratio)
        assert ratio >= (0.9 if method == "shrunk" else 0.97), (method, ratio)
    ranks = [k // min(a, b) for k, a, b in zip(
        plan_layers("low_rank", units, budgets)[1], units[:-1], units[1:])]
    assert min(ranks) >= 8, ranks
    assert ranks[-1] >= 10  # the output layer can reach every class direction


def test_random_edges_keep_the_budget_and_store_no_mask(small_digits):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(60,),
                                          method="random_edges", n_buckets=[500, 77],
                                          max_iter=3, random_state=0), X, y)
    assert [np.count_nonzero(V) for V in clf.coefs_] == [500, 77]
    # nothing of the size of a layer's connections is kept on the model
    for value in clf.__dict__.values():
        for array in value if isinstance(value, list) else [value]:
            if isinstance(array, np.ndarray):
                assert array.size < 64 * 60
    # the mask is a function of the seed: a copy predicts the same
    twin = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(twin.coefs_[0] != 0, clf.coefs_[0] != 0)


def test_random_edge_masks_are_built_once(small_digits, monkeypatch):
    """One mask per layer for a fit and every later predict or read of
    coefs_; a loaded model rebuilds it once, from the seeds."""
    from sk_hashednets import _layer_random_edges

    X, y = small_digits
    built = []
    original = _layer_random_edges._kept_edges

    def counting(*args):
        built.append(args)
        return original(*args)

    monkeypatch.setattr(_layer_random_edges, "_kept_edges", counting)
    clf = HashedMLPClassifier(hidden_layer_sizes=(16, 8), method="random_edges",
                              max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    for _ in range(3):
        clf.predict(X)
        clf.coefs_
    assert len(built) == len(set(built)) == 3
    twin = pickle.loads(pickle.dumps(clf))
    assert "_edge_layers" not in twin.__dict__
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    twin.predict(X)
    assert len(built) == 6
@pytest.mark.parametrize("n_in, n_out, n_keep", [
    (1, 1, 1), (3, 2, 1), (3, 2, 5), (10, 7, 3), (64, 10, 100), (300, 200, 1),
    (300, 200, 59_999), (700, 300, 3_281), (2000, 400, 12_500)])
def test_kept_edges_are_the_smallest_keys(n_in, n_out, n_keep):
    """The counting passes keep exactly the connections of the definition:
    the n_keep smallest keys (xxh32_pair(i, j, seed), i * n_out + j), hashed
    here by the reference xxhash package and sorted in full."""
    seed = 2_654_435_761 + n_keep
    keys = [(xxhash.xxh32_intdigest(struct.pack("<II", i, j), seed), i * n_out + j)
            for i in range(n_in) for j in range(n_out)]
    expected = sorted(flat for _, flat in sorted(keys)[:n_keep])
    edges = _kept_edges(n_in, n_out, n_keep, np.uint32(seed))
    assert edges.dtype == np.int64
    assert edges.tolist() == expected


def test_shrunk_is_a_smaller_dense_network(small_digits):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(**SGD,
                                          hidden_layer_sizes=(200,), method="shrunk",
                                          compression=1 / 16, max_iter=20,
                                          random_state=0), X, y)
    width = len(clf.intercepts_[0])
    assert width < 200
    dense = 64 * width + width * 10 + width + 10
    assert clf.n_stored_params_ == clf.n_virtual_params_ == dense
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_and_predicts_both_estimators(small_digits, method):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(**SGD,
                                          hidden_layer_sizes=(64,), method=method,
                                          compression=1 / 4, max_iter=30,
                                          random_state=0), X, y)
    assert clf.score(X, y) > 0.5
    reg = fit_quietly(HashedMLPRegressor(**SGD, hidden_layer_sizes=(64,), method=method,
                                         compression=1 / 4, max_iter=30,
                                         random_state=0), X, y.astype(float))
    assert reg.score(X, y) > 0.3


def test_grid_search_over_method_and_compression(small_digits):
    X, y = small_digits
    pipe = make_pipeline(StandardScaler(), HashedMLPClassifier(
        hidden_layer_sizes=(100,), max_iter=20, random_state=0))
    grid = {"hashedmlpclassifier__method": METHODS,
            "hashedmlpclassifier__compression": [1 / 8, 1 / 64]}
    search = GridSearchCV(pipe, grid, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    results = search.cv_results_
    assert len(results["params"]) == 2 * len(METHODS)
    assert set(results["param_hashedmlpclassifier__method"]) == set(METHODS)
    assert np.all(np.isfinite(results["mean_test_score"]))


def test_method_change_with_warm_start_is_refused(small_digits):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(20,), max_iter=2,
                                          warm_start=True, random_state=0), X, y)
    clf.set_params(method="low_rank")
    with pytest.raises(ValueError, match=re.escape("method='hashing'")):
        clf.fit(X, y)
    # a fitted model predicts with the method it was fitted with
    assert clf.predict(X).shape == y.shape


# ---------------------------------------------------------------------------
# dark knowledge
# ---------------------------------------------------------------------------


def test_random_forest_teacher(small_digits):
    X, y = small_digits
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    student = fit_quietly(HashedMLPClassifier(**SGD,
                                              hidden_layer_sizes=(64,), teacher=forest,
                                              max_iter=50, random_state=0), X, y)
    assert student.score(X, y) > 0.9
    # a student trained only on a shallow, unsure teacher copies its probabilities
    shallow = RandomForestClassifier(n_estimators=20, max_depth=3,
                                     random_state=0).fit(X, y)
    copycat = fit_quietly(HashedMLPClassifier(**SGD,
                                              hidden_layer_sizes=(64,), teacher=shallow,
                                              distillation_weight=1.0,
                                              distillation_temperature=1.0,
                                              max_iter=50, random_state=0), X, y)
    teacher_proba = shallow.predict_proba(X)
    own = fit_quietly(HashedMLPClassifier(**SGD, hidden_layer_sizes=(64,), max_iter=50,
                                          random_state=0), X, y)
    gap = np.abs(copycat.predict_proba(X) - teacher_proba).mean()
    assert gap < 0.5 * np.abs(own.predict_proba(X) - teacher_proba).mean()



class _UniformTeacher(ClassifierMixin, BaseEstimator):
    """A teacher that knows nothing: the same probability for every class."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


@pytest.mark.parametrize("teacher", [_UniformTeacher(),
                                     FrozenEstimator(_UniformTeacher().fit(
                                         np.zeros((10, 1)), np.arange(10)))])
def test_teacher_is_a_parameter_like_any_other(small_digits, teacher):
    """A student taught only by a uniform teacher learns nothing, in this
    process, in joblib workers and in every copy: the teacher travels."""
    X, y = small_digits
    student = HashedMLPClassifier(hidden_layer_sizes=(32,), max_iter=10,
                                  teacher=teacher, distillation_weight=1.0,
                                  random_state=0)
    scores = {n_jobs: cross_val_score(student, X, y, cv=2, n_jobs=n_jobs)
              for n_jobs in (1, 2)}
    np.testing.assert_array_equal(scores[1], scores[2])
    assert scores[1].mean() < 0.3  # it really learned from the teacher alone
    search = GridSearchCV(student, {"alpha": [1e-4, 1e-3]}, cv=2)
    results = {n_jobs: fit_quietly(search.set_params(n_jobs=n_jobs), X, y)
               .cv_results_["mean_test_score"] for n_jobs in (1, 2)}
    np.testing.assert_array_equal(results[1], results[2])
    fit_quietly(student, X, y)
    for twin in (pickle.loads(pickle.dumps(student)), copy.deepcopy(student),
                 clone(student)):
        assert type(twin.teacher) is type(teacher)
    skops = pytest.importorskip("skops.io")
    dumped = skops.dumps(student)
    loaded = skops.loads(dumped, trusted=skops.get_untrusted_types(data=dumped))
    assert type(loaded.teacher) is type(teacher)
    np.testing.assert_array_equal(loaded.predict_proba(X), student.predict_proba(X))


def test_unfitted_teacher_is_fitted_on_the_training_data(small_digits):
    X, y = small_digits
    teacher = RandomForestClassifier(n_estimators=5, random_state=0)
    student = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(32,), teacher=teacher,
                                              max_iter=5, random_state=0), X, y)
    assert not hasattr(teacher, "classes_")  # the user's object is left alone
    assert student.predict(X).shape == y.shape
    with pytest.raises(ValueError, match="partial_fit needs a fitted teacher"):
        HashedMLPClassifier(teacher=teacher).partial_fit(X, y, classes=np.arange(10))


def test_frozen_teacher_survives_grid_search(small_digits):
    X, y = small_digits
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    search = GridSearchCV(HashedMLPClassifier(hidden_layer_sizes=(32,), max_iter=5,
                                              teacher=FrozenEstimator(forest),
                                              random_state=0),
                          {"distillation_temperature": [2.0, 4.0]}, cv=2)
    fit_quietly(search, X, y)
    assert len(search.cv_results_["params"]) == 2


def test_teacher_errors(small_digits):
    X, y = small_digits
    other = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y % 3)
    with pytest.raises(ValueError, match=re.escape("The teacher's classes [0 1 2]")):
        HashedMLPClassifier(teacher=other).fit(X, y)
    Y = np.column_stack([y % 2, y % 3 == 0])
    with pytest.raises(ValueError, match="teacher is supported for binary and "
                                         "multiclass targets"):
        HashedMLPClassifier(teacher=other).fit(X, Y)


def test_binary_distillation(small_digits):
    X, y = small_digits
    labels = np.where(y < 5, "low", "high")
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, labels)
    student = fit_quietly(HashedMLPClassifier(**SGD,
                                              hidden_layer_sizes=(32,), teacher=forest,
                                              max_iter=30, random_state=0), X, labels)
    assert student.n_outputs_ == 1 and student.score(X, labels) > 0.85


def _block_reference(n_in, n_out, n_buckets, seeds):
    """Bucket index and sign of every virtual weight of a block-hashed layer,
    from the recipe: V[i, b * BLOCK + t] = xi(i, b) * w[(h(i, b) + t) mod K]."""
    i, j = np.meshgrid(np.arange(n_in, dtype=np.uint32),
                       np.arange(n_out, dtype=np.uint32), indexing="ij")
    b, t = j // BLOCK, j % BLOCK
    hashes = np.empty(i.size, dtype=np.uint32)
    _kernels.xxh32_pairs(i.ravel(), b.ravel(), np.uint32(seeds[0]), hashes)
    start = (hashes.astype(np.uint64) * np.uint64(n_buckets)) >> np.uint64(32)
    index = (start.astype(np.int64) + t.ravel()) % n_buckets
    _kernels.xxh32_pairs(i.ravel(), b.ravel(), np.uint32(seeds[1]), hashes)
    sign = np.where(hashes >> np.uint32(31), -1.0, 1.0)
    return index.reshape(n_in, n_out), sign.reshape(n_in, n_out)


@pytest.mark.parametrize("n_in, n_out, n_buckets", [
    (7, 3 * BLOCK + 5, 50),  # full blocks and a short last one
    (5, 2 * BLOCK, 10),  # runs wrap around the buckets more than once
    (4, 33, 1),
    (9, 2 * BLOCK, 9 * 2 * BLOCK),  # as many buckets as virtual weights
])
def test_hashing_blocks_follows_its_recipe(n_in, n_out, n_buckets):
    seeds = np.array([12345, 678], dtype=np.uint32)
    layer = BlockHashedWeights(n_in, n_out, n_buckets, seeds, cache=True)
    index, sign = _block_reference(n_in, n_out, n_buckets, seeds)
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        w = rng.standard_normal(n_buckets).astype(dtype)
        np.testing.assert_array_equal(layer.virtual(w), (sign * w[index]).astype(dtype))
        # the scatter is the gather's adjoint
        G = rng.standard_normal((n_in, n_out)).astype(dtype)
        grad = np.empty(n_buckets, dtype=dtype)
        layer.grad(G, w, grad)
        expected = np.zeros(n_buckets)
        np.add.at(expected, index.ravel(), (sign * G).ravel())
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.loads(),
                                  np.bincount(index.ravel(), minlength=n_buckets))


def test_hashing_blocks_with_rescale_grad_and_n_stored(small_digits):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(70,),
                                          method="hashing_blocks", compression=1 / 8,
                                          rescale_grad=True, solver="sgd",
                                          learning_rate_init=0.05, max_iter=20,
                                          random_state=0), X, y)
    assert [w.size for w in clf.buckets_] == [round(64 * 70 / 8), round(70 * 10 / 8)]
    assert clf.n_stored_params_ == sum(w.size for w in clf.buckets_) + 80
    assert clf.score(X, y) > 0.7
