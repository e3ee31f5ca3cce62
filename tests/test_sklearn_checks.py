"""scikit-learn's estimator checks, with no expected failure.

The baselines run at ``compression=1``: at the default 1/8 a 2-feature toy
problem leaves a low-rank network rank 1 and a random-edge network a handful
of connections, too weak for the checks' accuracy thresholds by design; the
API behaviour the checks cover is the same at every compression.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

BASELINES = [
    cls(method=method, compression=1.0)
    for method in ("low_rank", "random_edges", "shrunk")
    for cls in (HashedMLPClassifier, HashedMLPRegressor)
]


@parametrize_with_checks([HashedMLPClassifier(), HashedMLPRegressor()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(BASELINES)
def test_sklearn_compatible_baseline(estimator, check):
    check(estimator)
