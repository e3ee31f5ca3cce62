"""solver='lbfgs': the packed whole-batch loss, its gradient, and the fits."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_friedman1
from sklearn.exceptions import ConvergenceWarning
from test_gradients import make_problem, make_trainer

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, _network
from sk_hashednets._layers import METHODS
from sk_hashednets._lbfgs import PackedLoss


def check_packed_gradient(objective, eps=1e-6):
    theta = objective.pack()
    loss, grad = objective(theta)
    idx = np.random.RandomState(0).permutation(theta.size)[:40]
    numeric = np.empty(len(idx))
    for n, k in enumerate(idx):
        step = np.zeros_like(theta)
        step[k] = eps
        plus, minus = objective(theta + step)[0], objective(theta - step)[0]
        numeric[n] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(grad[idx], numeric, rtol=1e-5, atol=1e-7)
    # evaluating elsewhere and back gives the same loss: nothing is carried over
    assert objective(theta)[0] == loss


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("out_activation", ["softmax", "logistic", "identity", "exp"])
def test_packed_loss_gradient_matches_finite_differences(method, out_activation):
    X, Y, sw = make_problem(out_activation)
    trainer = make_trainer(method, "tanh", out_activation, [6, 9, 7, 3],
                           [32, 40, 11], alpha=0.2)
    check_packed_gradient(PackedLoss(trainer, X, Y, sw))


def test_packed_loss_gradient_on_sparse_input():
    X, Y, sw = make_problem("softmax")
    X[np.abs(X) < 0.8] = 0
    trainer = make_trainer("hashing", "relu", "softmax", [6, 9, 3], [32, 11],
                           alpha=0.1)
    check_packed_gradient(PackedLoss(trainer, sp.csr_matrix(X), Y, sw))


def test_packed_vector_holds_every_stored_parameter():
    X, Y, sw = make_problem("identity")
    trainer = make_trainer("low_rank", "relu", "identity", [6, 9, 3], [32, 11],
                           alpha=0.0)
    objective = PackedLoss(trainer, X, Y, sw)
    params = trainer.weights + trainer.biases
    theta = objective.pack()
    assert theta.dtype == np.float64
    assert theta.size == sum(p.size for p in params)
    objective.unpack(np.arange(theta.size, dtype=np.float64))
    np.testing.assert_array_equal(np.concatenate(params), np.arange(theta.size))


def _data(Est):
    X, y = make_friedman1(n_samples=150, random_state=0)
    if Est is HashedMLPClassifier:
        y = np.digitize(y, np.percentile(y, [33, 66]))
    return X, y


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("Est", [HashedMLPClassifier, HashedMLPRegressor])
def test_lbfgs_fits_every_method(Est, method):
    """At compression 1/2 every method fits the training set (accuracy or R^2
    above 0.95; all reach 0.96 to 1.0)."""
    X, y = _data(Est)
    params = dict(hidden_layer_sizes=(32,), compression=1 / 2, solver="lbfgs",
                  method=method, max_iter=300, early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Est(**params).fit(X, y)
        twin = Est(**params).fit(X, y)
    assert model.score(X, y) > 0.95
    assert 0 < model.n_iter_ <= 300 and len(model.loss_curve_) == model.n_iter_
    assert np.all(np.diff(model.loss_curve_) <= 0)  # each iteration lowers it
    assert model.loss_ == model.loss_curve_[-1]
    # early stopping does not apply to L-BFGS, as in scikit-learn
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    for a, b in zip(model.buckets_ + model.intercepts_,
                    twin.buckets_ + twin.intercepts_):  # bit-reproducible
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("Est", [HashedMLPClassifier, HashedMLPRegressor])
def test_lbfgs_hides_partial_fit_as_scikit_learn(Est):
    model = Est(solver="lbfgs")
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as err:
        model.partial_fit
    assert str(err.value.__cause__) == (
        "partial_fit is only available for stochastic optimizers. lbfgs is not "
        "stochastic.")
    # the predicate is asked each time (MLPRegressor's never is)
    model.set_params(solver="sgd")
    assert hasattr(model, "partial_fit")


def test_lbfgs_max_fun_and_max_iter_warn():
    X, y = _data(HashedMLPRegressor)
    model = HashedMLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_fun=5,
                               tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning,
                      match=re.escape("Increase max_fun (currently 5)")):
        model.fit(X, y)
    assert model.n_iter_ <= 5
    model.set_params(max_fun=15000, max_iter=3)
    with pytest.warns(ConvergenceWarning, match=re.escape(
            "lbfgs failed to converge after 3 iteration(s) (status=1)")):
        model.fit(X, y)
    assert model.n_iter_ == 3


def test_lbfgs_warm_start_continues_from_the_fitted_model():
    X, y = _data(HashedMLPRegressor)
    params = dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=20,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = HashedMLPRegressor(warm_start=True, **params).fit(X, y).fit(X, y)
        cold = HashedMLPRegressor(**params).fit(X, y).fit(X, y)
    assert warm.n_iter_ == 20 and len(warm.loss_curve_) == 40
    assert warm.loss_ < cold.loss_


def test_failed_lbfgs_fit_leaves_the_model_as_it_was(monkeypatch):
    X, y = _data(HashedMLPClassifier)
    model = HashedMLPClassifier(hidden_layer_sizes=(16,), max_iter=3,
                                warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    before = pickle.dumps(model)
    model.set_params(solver="lbfgs", max_iter=5)
    # a ConvergenceWarning turned into an error fails the call
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            model.fit(X, y)
    # a loss that turns non-finite
    monkeypatch.setattr(_network.Trainer, "step", lambda self, *args: np.nan)
    with pytest.raises(ValueError, match=re.escape(
            "L-BFGS reached a non-finite loss (nan) or parameters. The model is "
            "left as it was before this call.")):
        model.fit(X, y)
    model.set_params(solver="adam", max_iter=3)
    assert pickle.dumps(model) == before


def test_lbfgs_verbose_prints_each_iteration(capsys):
    X, y = _data(HashedMLPRegressor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        HashedMLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=3,
                           verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"Iteration 3, loss = \d+\.\d{8}", out)
