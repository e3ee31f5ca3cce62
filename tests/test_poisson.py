"""HashedMLPRegressor(loss="poisson"): counts with the log link, as MLPRegressor."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

from sk_hashednets import HashedMLPRegressor
from sk_hashednets._network import PoissonDeviance


def counts(n=2000, seed=0):
    """Poisson counts whose log-mean is a nonlinear function of 8 features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    mu = np.exp(0.5 * X[:, 0] - 0.4 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3] + 0.5)
    return X, rng.poisson(mu), mu


def test_poisson_loss_is_sklearns_half_deviance():
    from sklearn.neural_network._base import poisson_loss

    rng = np.random.RandomState(0)
    z, Y = rng.randn(20, 2), rng.poisson(2.0, (20, 2)).astype(float)
    sw = rng.uniform(0.5, 2, 20)
    loss = PoissonDeviance()
    delta = np.empty_like(z)
    value = loss.value_and_delta(z, Y, sw, sw.sum(), delta)
    assert value == pytest.approx(poisson_loss(Y, np.exp(z), sample_weight=sw))
    np.testing.assert_allclose(delta, (np.exp(z) - Y) * (sw / sw.sum())[:, None])


def test_poisson_fits_counts_as_well_as_mlp_regressor():
    """R^2 of the predicted mean against the true mean, at compression 1
    (every virtual weight its own bucket), averaged over two seeds."""
    X, y, mu = counts()
    X_tr, X_te, y_tr, _, _, mu_te = train_test_split(X, y, mu, random_state=0)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in (0, 1):
            params = dict(hidden_layer_sizes=(32,), loss="poisson", max_iter=100,
                          random_state=seed)
            reg = HashedMLPRegressor(compression=1.0, **params).fit(X_tr, y_tr)
            ref = MLPRegressor(**params).fit(X_tr, y_tr)
            ours.append(r2_score(mu_te, reg.predict(X_te)))
            theirs.append(r2_score(mu_te, ref.predict(X_te)))
    assert reg.out_activation_ == ref.out_activation_ == "exp"
    assert (reg.predict(X_te) > 0).all()
    assert np.mean(ours) > 0.85
    assert np.mean(ours) >= np.mean(theirs) - 0.05


def test_poisson_keeps_targets_unscaled(small_digits):
    X, y, _ = counts(200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = HashedMLPRegressor(hidden_layer_sizes=(8,), loss="poisson",
                                 max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(reg.target_mean_, [0.0])
    np.testing.assert_array_equal(reg.target_scale_, [1.0])
    raw = reg._forward(X)
    np.testing.assert_allclose(reg.predict(X), np.exp(raw).ravel())


def test_poisson_refuses_negative_targets():
    X, y, _ = counts(50)
    y = y - 1.5
    with pytest.raises(ValueError, match=re.escape(
            "loss='poisson' needs non-negative targets (counts or rates), but y "
            "has values down to -1.5.")):
        HashedMLPRegressor(loss="poisson").fit(X, y)


def test_warm_start_refuses_a_changed_loss():
    X, y, _ = counts(50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = HashedMLPRegressor(hidden_layer_sizes=(4,), max_iter=1,
                                 warm_start=True).fit(X, y)
    reg.set_params(loss="poisson")
    with pytest.raises(ValueError, match="fitted with out_activation_='identity', "
                                         "but loss='poisson' asks for 'exp'"):
        reg.fit(X, y)
