import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits_split():
    """Digits, 70/30 stratified split (raw pixel values, not yet scaled)."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="session")
def small_digits():
    """A quick standardized subset of digits for behaviour tests."""
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return X[:400], y[:400]


@pytest.fixture
def rng():
    return np.random.RandomState(0)
