"""Property tests: random networks train and predict finite values, gradients
match finite differences on random shapes, and the hash spreads connections
evenly over buckets and signs.

The examples are derandomized (fixed for every run), so CI is deterministic.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import numeric_gradient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor
from sk_hashednets._budgets import plan_layers
from sk_hashednets._layers import METHODS, HashedWeights, make_layer
from sk_hashednets._network import HEADS, Trainer

FIXED = settings(deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
TASKS = ["binary", "multiclass", "multilabel", "regression", "multi-output regression"]


def make_task(task, n, rng):
    """X-independent targets of the given kind, every class present."""
    if task == "binary":
        return rng.permutation(np.arange(n) % 2)
    if task == "multiclass":
        k = min(n, 5)
        return rng.permutation(np.arange(n) % k) if k > 2 else np.arange(n) % 2
    if task == "multilabel":
        return (rng.rand(n, 3) > 0.5).astype(int)
    if task == "regression":
        return rng.randn(n) * 100 + 7
    return rng.randn(n, 2)


@pytest.mark.slow
@settings(FIXED, max_examples=40)
@given(
    task=st.sampled_from(TASKS),
    n_samples=st.integers(2, 40),
    n_features=st.integers(1, 10),
    hidden=st.lists(st.integers(1, 16), max_size=3).map(tuple),
    budget=st.one_of(
        st.floats(1e-3, 1.0).map(lambda c: {"compression": c}),
        st.integers(1, 40).map(lambda k: {"n_buckets": k}),
    ),
    dtype=st.sampled_from([np.float32, np.float64]),
    batch_size=st.integers(1, 64),
    activation=st.sampled_from(ACTIVATIONS),
    dropout=st.floats(0.0, 0.9),
    input_dropout=st.floats(0.0, 0.9),
    sparse=st.booleans(),
    method=st.sampled_from(sorted(METHODS)),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_networks_train_and_predict_finite_values(
    task, n_samples, n_features, hidden, budget, dtype, batch_size, activation,
    dropout, input_dropout, sparse, method, seed,
):
    rng = np.random.RandomState(seed % 2**31)
    X = rng.randn(n_samples, n_features).astype(dtype)
    if sparse:
        X[rng.rand(*X.shape) < 0.5] = 0
        X = sp.csr_matrix(X)
    y = make_task(task, n_samples, rng)
    Est = HashedMLPRegressor if "regression" in task else HashedMLPClassifier
    model = Est(hidden_layer_sizes=hidden, activation=activation, dropout=dropout,
                input_dropout=input_dropout, batch_size=batch_size, max_iter=1,
                method=method, random_state=seed, **budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Got `batch_size`", UserWarning)
        warnings.filterwarnings("ignore", "The gradient norm exceeded", UserWarning)
        model.fit(X, y)

    assert [w.dtype for w in model.buckets_] == [np.dtype(dtype)] * len(model.buckets_)
    assert all(np.isfinite(w).all() for w in model.buckets_ + model.intercepts_)
    assert np.isfinite(model.loss_)
    pred = model.predict(X)
    assert pred.shape == np.shape(y)
    if Est is HashedMLPRegressor:
        assert pred.dtype == dtype and np.isfinite(pred).all()
        return
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
    if task != "multilabel":
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
        assert set(pred) <= set(model.classes_)


@settings(FIXED, max_examples=30)
@given(
    units=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    budget_fractions=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
    activation=st.sampled_from(ACTIVATIONS),
    out_activation=st.sampled_from(["softmax", "logistic", "identity"]),
    alpha=st.sampled_from([0.0, 0.01, 1.0]),
    n_samples=st.integers(1, 8),
    sparse=st.booleans(),
    method=st.sampled_from(sorted(METHODS)),
    seed=st.integers(0, 2**31 - 1),
)
def test_gradients_match_finite_differences_on_random_shapes(
    units, budget_fractions, activation, out_activation, alpha, n_samples, sparse,
    method, seed,
):
    rng = np.random.RandomState(seed)
    budgets = [1 + round(f * (a * b - 1))
               for f, a, b in zip(budget_fractions, units[:-1], units[1:])]
    units, budgets = plan_layers(method, units, budgets)
    layers, weights, biases = [], [], []
    for i, (n_in, n_out) in enumerate(zip(units[:-1], units[1:])):
        layer = make_layer(method, n_in, n_out, budgets[i],
                           rng.randint(0, 2**32, 2, dtype=np.uint64).astype(np.uint32),
                           cache=True)
        layers.append(layer)
        weights.append(layer.init_weights(1.0, rng, np.float64))
        biases.append(rng.uniform(-0.5, 0.5, n_out))
    trainer = Trainer(layers, weights, biases, activation=activation,
                      loss=HEADS[out_activation].loss(), alpha=alpha, dropout=0.0,
                      input_dropout=0.0, dropout_seed=0, batch_size=n_samples,
                      n_outputs=units[-1], dtype=np.float64)
    X = rng.randn(n_samples, units[0])
    if sparse:
        X[rng.rand(*X.shape) < 0.5] = 0
        X = sp.csr_matrix(X)
    if out_activation == "softmax":
        Y = np.eye(units[-1])[rng.randint(0, units[-1], n_samples)]
    elif out_activation == "logistic":
        Y = (rng.rand(n_samples, units[-1]) > 0.5).astype(float)
    else:
        Y = rng.randn(n_samples, units[-1])
    sw = rng.uniform(0.5, 2.0, n_samples)

    trainer.step(X, Y, sw, 0)
    analytic = [g.copy() for g in trainer.weight_grads + trainer.bias_grads]
    eps = 1e-6
    for param, grad in zip(weights + biases, analytic):
        numeric = numeric_gradient(trainer, X, Y, sw, param, range(param.size), eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@settings(FIXED, max_examples=30)
@given(
    n_buckets=st.integers(2, 300),
    n_in=st.integers(1, 64),
    seed_h=st.integers(0, 2**32 - 1),
    seed_xi=st.integers(0, 2**32 - 1),
)
def test_bucket_load_is_uniform_and_signs_are_balanced(n_buckets, n_in, seed_h,
                                                       seed_xi):
    """Chi-square on the bucket counts (40 connections per bucket on average);
    the sign is a fair coin within 5 standard deviations."""
    n_out = -(-40 * n_buckets // n_in)
    layer = HashedWeights(n_in, n_out, n_buckets,
                          np.array([seed_h, seed_xi], np.uint32), cache=True)
    codes = layer._codes.ravel()
    counts = np.bincount(codes % n_buckets, minlength=n_buckets)
    assert chisquare(counts).pvalue > 1e-4
    negative = np.mean(codes >= n_buckets)
    assert abs(negative - 0.5) < 5 * 0.5 / np.sqrt(codes.size)
