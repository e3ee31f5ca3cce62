"""The solvers (momentum SGD, Adam), bucket-load rescaling and gradient clipping."""

import re
import warnings

import numpy as np
import pytest
from conftest import numeric_gradient
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_gradients import make_problem, make_trainer

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor
from sk_hashednets._optimizers import Adam
from sk_hashednets._training import _grad_scales


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_matches_scikit_learn(dtype):
    """The same gradients give the same parameters as scikit-learn's Adam."""
    rng = np.random.RandomState(0)
    ours = [rng.randn(7).astype(dtype), rng.randn(3).astype(dtype)]
    theirs = [p.copy() for p in ours]
    adam = Adam(ours, 0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    reference = AdamOptimizer(theirs, learning_rate_init=0.01, beta_1=0.8,
                              beta_2=0.99, epsilon=1e-6)
    for _ in range(25):
        grads = [rng.randn(7).astype(dtype), rng.randn(3).astype(dtype) * 100]
        adam.update(grads)
        reference.update_params(theirs, [g.copy() for g in grads])
        rtol = 1e-12 if dtype == np.float64 else 2e-6
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0)
    assert adam.learning_rate == pytest.approx(reference.learning_rate, rel=1e-12)


def test_adam_step_on_the_trainers_gradients():
    """Gradient check under Adam: the trainer's gradients are the finite
    differences of its loss, and one Adam step from rest moves every stored
    weight by lr * g / (|g| + eps / (1 - beta_1)) ~ lr * sign(g)."""
    X, Y, sw = make_problem("softmax")
    trainer = make_trainer("hashing", "tanh", "softmax", [6, 9, 3], [20, 11],
                           alpha=0.1)
    params = trainer.weights + trainer.biases
    before = [p.copy() for p in params]
    trainer.step(X, Y, sw, 0)
    grads = trainer.weight_grads + trainer.bias_grads
    idx = np.arange(10)
    np.testing.assert_allclose(
        grads[0][idx], numeric_gradient(trainer, X, Y, sw, params[0], idx, 1e-6),
        rtol=1e-5, atol=1e-7)
    trainer.step(X, Y, sw, 0)
    Adam(params, 1e-3).update(grads)
    for p, p0, g in zip(params, before, grads):
        expected = p0 - 1e-3 * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(p, expected, rtol=1e-6)


def test_rescaled_gradient_is_the_gradient_over_the_bucket_load():
    """rescale_grad divides each bucket's gradient by its load (the L2 term
    is added after, unscaled); loads count every virtual weight once."""
    X, Y, sw = make_problem("softmax")
    trainer = make_trainer("hashing", "relu", "softmax", [6, 9, 3], [7, 5], alpha=0.0)
    loads = [layer.loads() for layer in trainer.layers]
    assert [int(load.sum()) for load in loads] == [6 * 9, 9 * 3]
    for layer, load in zip(trainer.layers, loads):  # the cache agrees
        codes = layer._codes.ravel().astype(np.int64) % layer.n_stored
        np.testing.assert_array_equal(np.bincount(codes, minlength=layer.n_stored),
                                      load)
    trainer.grad_scales = _grad_scales(trainer.layers, np.float64)
    trainer.step(X, Y, sw, 0)
    rescaled = [g.copy() for g in trainer.weight_grads]
    for w, g, load in zip(trainer.weights, rescaled, loads):
        idx = np.arange(w.size)
        numeric = numeric_gradient(trainer, X, Y, sw, w, idx, 1e-6)
        np.testing.assert_allclose(g, numeric / np.maximum(load, 1), rtol=1e-5,
                                   atol=1e-8)


def test_rescale_grad_changes_hashing_only(small_digits):
    X, y = small_digits

    def buckets(**params):
        clf = HashedMLPClassifier(hidden_layer_sizes=(20,), max_iter=3,
                                  random_state=0, **params)
        return fit_quietly(clf, X, y).buckets_

    for method, changes in (("hashing", True), ("random_edges", False),
                            ("shrunk", False)):
        plain = buckets(method=method)
        rescaled = buckets(method=method, rescale_grad=True)
        same = all(np.array_equal(a, b) for a, b in zip(plain, rescaled))
        assert same != changes, method


def test_partial_fit_keeps_adams_moments_fit_drops_them(small_digits):
    X, y = small_digits
    clf = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(20,), solver="adam",
                                          learning_rate_init=1e-3, max_iter=3,
                                          random_state=0), X, y)
    assert clf._optimizer._state is None
    clf.partial_fit(X, y)
    t = clf._optimizer.t
    assert t == int(np.ceil(len(X) / 200))
    m, v = clf._optimizer._state
    assert all(np.any(a != 0) for a in m + v)
    clf.partial_fit(X, y)
    assert clf._optimizer.t == 2 * t  # continued, not restarted


@pytest.mark.slow
def test_adam_reaches_the_accuracy_of_sgd_on_digits(small_digits):
    X, y = small_digits
    for solver, rate in (("adam", 1e-3), ("sgd", 0.01)):
        for method in ("hashing", "low_rank", "random_edges", "shrunk"):
            clf = fit_quietly(HashedMLPClassifier(
                hidden_layer_sizes=(64,), solver=solver, learning_rate_init=rate,
                method=method, compression=1 / 4, batch_size=32, max_iter=40,
                random_state=0), X, y)
            assert clf.score(X, y) > 0.9, (solver, method)


@pytest.mark.slow
@pytest.mark.parametrize("compression, bar", [(1 / 8, 0.97), (1 / 64, 0.95)])
def test_adam_on_the_readme_split(digits_split, compression, bar):
    """solver='adam' at scikit-learn's default rate on the README's digits
    split, with StandardScaler and 1000 hidden units."""
    X_train, X_test, y_train, y_test = digits_split
    model = make_pipeline(StandardScaler(), HashedMLPClassifier(
        hidden_layer_sizes=(1000,), compression=compression, solver="adam",
        learning_rate_init=1e-3, random_state=0))
    assert fit_quietly(model, X_train, y_train).score(X_test, y_test) >= bar


def test_max_grad_norm(small_digits):
    X, y = small_digits
    X_raw = X * 1000  # badly scaled input
    params = dict(hidden_layer_sizes=(20,), max_iter=3, random_state=0)
    with pytest.warns(UserWarning, match=re.escape(
            "The gradient norm exceeded max_grad_norm=100 and was clipped in")):
        clipped = fit_quietly(HashedMLPClassifier(**params), X_raw, y)
    assert clipped.n_clipped_steps_ == clipped._step  # every step clipped
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        quiet = fit_quietly(HashedMLPClassifier(**params, max_grad_norm=None), X, y)
        assert quiet.n_clipped_steps_ == 0
        loose = fit_quietly(HashedMLPClassifier(**params, max_grad_norm=1e30), X, y)
    np.testing.assert_array_equal(quiet.buckets_[0], loose.buckets_[0])
    # a tight limit clips every step of well-scaled data too, and says so
    with pytest.warns(UserWarning, match="max_grad_norm=0.001"):
        tight = fit_quietly(HashedMLPRegressor(**params, max_grad_norm=1e-3), X,
                            y.astype(float))
    assert tight.n_clipped_steps_ == tight._step > 0
