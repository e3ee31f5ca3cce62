import gzip

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

#: The solver settings of the tests written for momentum SGD (the default before
#: Adam), whose short runs need its larger steps.
SGD = {"solver": "sgd", "learning_rate_init": 0.01}


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


def write_idx(path, array, compress=True):
    """Write ``array`` (uint8 or int32) as an IDX file, gzipped or plain."""
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


def write_fashion_mnist(folder, n_train, n_test, seed=0):
    """Random images and labels in Fashion-MNIST's four files (the training
    files gzipped, the test files plain: the loader reads both)."""
    rng = np.random.RandomState(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        compress = prefix == "train"
        suffix = ".gz" if compress else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}",
                  rng.randint(0, 256, (n, 28, 28)).astype(np.uint8), compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}",
                  rng.randint(0, 10, n).astype(np.uint8), compress)
    return folder


def numeric_gradient(trainer, X, Y, sw, param, indices, eps):
    """Central differences of the training loss in the entries ``indices`` of
    ``param`` (one of ``trainer``'s weight or bias arrays), restored after."""
    numeric = np.empty(len(indices))
    for n, k in enumerate(indices):
        old = param[k]
        param[k] = old + eps
        plus = trainer.step(X, Y, sw, 0)
        param[k] = old - eps
        minus = trainer.step(X, Y, sw, 0)
        param[k] = old
        numeric[n] = (plus - minus) / (2 * eps)
    return numeric
