"""The learning-rate schedules of momentum SGD, ``'inverse_time'`` above all."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import InvalidParameterError

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor
from sk_hashednets._optimizers import MomentumSGD


def test_inverse_time_steps_at_the_initial_rate_over_one_plus_decay_times_k():
    p = np.zeros(1)
    sgd = MomentumSGD([p], 0.5, lr_schedule="inverse_time", momentum=0.0,
                      nesterov=False, decay=0.25)
    rates = []
    for _ in range(4):
        sgd.update([np.ones(1)])
        rates.append(sgd.learning_rate)
    expected = [0.5 / (1 + 0.25 * k) for k in range(4)]
    assert rates == pytest.approx(expected, rel=1e-15)
    # with zero momentum and unit gradients, each update subtracts its rate
    assert p[0] == pytest.approx(-sum(expected), rel=1e-12)


def test_the_count_survives_dropping_the_velocities():
    sgd = MomentumSGD([np.zeros(1)], 1.0, lr_schedule="inverse_time", decay=1.0)
    sgd.update([np.ones(1)])
    sgd.drop_state()
    sgd.update([np.ones(1)])
    assert sgd.learning_rate == 0.5


def _digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


def _fit(**params):
    X, y = _digits()
    return HashedMLPClassifier((16,), solver="sgd", learning_rate_init=0.05,
                               batch_size=50, max_iter=3, random_state=0,
                               **params).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_zero_decay_is_the_constant_schedule_bit_for_bit():
    constant = _fit(learning_rate="constant")
    flat = _fit(learning_rate="inverse_time", learning_rate_decay=0.0)
    decayed = _fit(learning_rate="inverse_time", learning_rate_decay=0.1)
    for a, b in zip(constant.coefs_, flat.coefs_):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b)
               for a, b in zip(constant.coefs_, decayed.coefs_))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fit_decays_over_its_steps_not_its_epochs():
    net = _fit(learning_rate="inverse_time", learning_rate_decay=0.1)
    steps = 3 * 6  # 3 epochs of 300 samples in batches of 50
    assert net._optimizer.learning_rate == pytest.approx(
        0.05 / (1 + 0.1 * (steps - 1)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_adam_ignores_the_schedule():
    X, y = _digits()
    adam = [HashedMLPClassifier((16,), max_iter=2, random_state=0,
                                learning_rate=schedule).fit(X, y)
            for schedule in ("constant", "inverse_time")]
    np.testing.assert_array_equal(adam[0].coefs_[0], adam[1].coefs_[0])


@pytest.mark.parametrize("Estimator", [HashedMLPClassifier, HashedMLPRegressor])
@pytest.mark.parametrize("params, match", [
    ({"learning_rate": "inverse"}, "'learning_rate' parameter .* must be a str "
                                   "among .*inverse_time"),
    ({"learning_rate_decay": -1e-4},
     "'learning_rate_decay' parameter .* must be a float in the range "
     "\\[0.0, inf\\). Got -0.0001"),
    ({"learning_rate_decay": "fast"}, "'learning_rate_decay' parameter"),
])
def test_bad_schedules_are_clear_errors_and_change_nothing(Estimator, params, match):
    X, y = _digits()
    net = Estimator((8,), solver="sgd", max_iter=1, **params)
    with pytest.raises(InvalidParameterError, match=match):
        net.fit(X, y)
    assert not hasattr(net, "coefs_")
