"""Fashion-MNIST loading from IDX files written by the tests themselves."""

import re

import numpy as np
import pytest
from conftest import write_fashion_mnist, write_idx

from sk_hashednets import datasets
from sk_hashednets.datasets import load_fashion_mnist, read_idx


@pytest.fixture
def fashion_dir(tmp_path):
    return write_fashion_mnist(tmp_path, n_train=12, n_test=5)


def test_loads_small_idx_files(fashion_dir):
    X_train, y_train, X_test, y_test = load_fashion_mnist(fashion_dir)
    assert X_train.shape == (12, 784) and X_test.shape == (5, 784)
    assert X_train.dtype == np.float32 and 0 <= X_train.min() and X_train.max() <= 1
    raw = read_idx(fashion_dir / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(X_train, raw.reshape(12, -1) / np.float32(255))
    labels = read_idx(fashion_dir / "t10k-labels-idx1-ubyte")
    np.testing.assert_array_equal(y_test, labels)


def test_environment_variable_and_precedence(fashion_dir, tmp_path_factory,
                                             monkeypatch):
    monkeypatch.setenv(datasets.FASHION_MNIST_ENV, str(fashion_dir))
    assert load_fashion_mnist()[0].shape == (12, 784)
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(FileNotFoundError, match="the directory argument"):
        load_fashion_mnist(empty)  # an explicit directory wins over the variable


def test_missing_files_name_the_install_command(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.FASHION_MNIST_ENV, raising=False)
    monkeypatch.setattr(datasets, "FASHION_MNIST_DEBIAN_DIR", str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError,
                       match=re.escape("apt-get install dataset-fashion-mnist")):
        load_fashion_mnist()


def test_truncated_file(fashion_dir):
    path = fashion_dir / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="is truncated or corrupt"):
        load_fashion_mnist(fashion_dir)


def test_not_an_idx_file(fashion_dir):
    (fashion_dir / "t10k-labels-idx1-ubyte").write_bytes(b"hello, world")
    with pytest.raises(ValueError, match="is not an IDX file"):
        load_fashion_mnist(fashion_dir)


def test_corrupt_gzip(fashion_dir):
    path = fashion_dir / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="Cannot read IDX file"):
        load_fashion_mnist(fashion_dir)


def test_images_and_labels_disagree(fashion_dir):
    write_idx(fashion_dir / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8), False)
    with pytest.raises(ValueError, match="test files disagree"):
        load_fashion_mnist(fashion_dir)


def test_labels_out_of_range(fashion_dir):
    write_idx(fashion_dir / "t10k-labels-idx1-ubyte", np.full(5, 12, np.uint8), False)
    with pytest.raises(ValueError, match="labels outside 0..9"):
        load_fashion_mnist(fashion_dir)
