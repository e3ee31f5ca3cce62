"""The small problems the robustness tests share: 30 rows of 4 features (and
of 60, for the tests that need a wide first layer), three classes, and a
linear regression target; ``make`` builds a small estimator of a method."""

import numpy as np

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

rng = np.random.RandomState(0)
X = rng.randn(30, 4)
y = np.arange(30) % 3
y_reg = X @ [1.0, -2.0, 0.5, 0.0]
X_wide = rng.randn(30, 60)

CLF, REG = HashedMLPClassifier, HashedMLPRegressor


def make(Est, method, **params):
    """A small estimator of the given weight parametrization."""
    return Est(**{"hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0,
                  "method": method, **params})


def target(Est):
    return y if Est is CLF else y_reg
