"""Real data sets: scikit-learn's bundled ones and Fashion-MNIST from local IDX files.

Nothing here downloads anything.
"""

import gzip
import os
from pathlib import Path

import numpy as np
from sklearn import datasets as _skdatasets

#: Environment variable naming a folder with the Fashion-MNIST IDX files.
FASHION_MNIST_ENV = "SK_HASHEDNETS_FASHION_MNIST"
#: Where Debian's ``dataset-fashion-mnist`` package puts them.
FASHION_MNIST_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4",
               0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read one IDX file (optionally gzipped) into a NumPy array.

    Raises ValueError naming the file when it is truncated or not IDX.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:  # gzip raises these on corrupt input
        raise ValueError(f"Cannot read IDX file {path}: {exc}") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: its IDX header is incomplete.")
    shape = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big")
                  for k in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: its header announces shape {shape} "
            f"({expected} bytes of data) but it holds {len(data) - header} bytes."
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _find_fashion_files(directory):
    """Paths of the four IDX files, from the first place that is configured."""
    if directory is not None:
        folder, where = Path(directory), "the directory argument"
    elif os.environ.get(FASHION_MNIST_ENV):
        folder, where = Path(os.environ[FASHION_MNIST_ENV]), f"${FASHION_MNIST_ENV}"
    else:
        folder, where = Path(FASHION_MNIST_DEBIAN_DIR), "the Debian package folder"
    files = {}
    for images, labels, _ in _FASHION_FILES.values():
        for name in (images, labels):
            found = [p for p in (folder / (name + ".gz"), folder / name) if p.is_file()]
            if not found:
                raise FileNotFoundError(
                    f"Fashion-MNIST file {name}[.gz] not found in {folder} ({where}). "
                    "Install the data with `apt-get install dataset-fashion-mnist` "
                    f"(it fills {FASHION_MNIST_DEBIAN_DIR}), or point "
                    f"{FASHION_MNIST_ENV} or the `directory` argument to a folder "
                    "holding the four IDX files."
                )
            files[name] = found[0]
    return files


def load_fashion_mnist(directory=None):
    """Load Fashion-MNIST (60,000 training and 10,000 test images) from IDX files.

    The files are looked for in ``directory`` when given, else in the folder
    named by the ``SK_HASHEDNETS_FASHION_MNIST`` environment variable, else in
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).
    Both gzipped and plain IDX files are read. Nothing is downloaded.

    Parameters
    ----------
    directory : str or path-like, default=None
        Folder holding ``train-images-idx3-ubyte[.gz]``,
        ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]`` and
        ``t10k-labels-idx1-ubyte[.gz]``.

    Returns
    -------
    X_train : ndarray of shape (60000, 784), float32 in [0, 1]
    y_train : ndarray of shape (60000,), int64
    X_test : ndarray of shape (10000, 784), float32 in [0, 1]
    y_test : ndarray of shape (10000,), int64

    Raises
    ------
    FileNotFoundError
        When a file is missing; the message names the install command.
    ValueError
        When a file is corrupt, truncated, or the images and labels disagree.
    """
    files = _find_fashion_files(directory)
    out = []
    for split, (images_name, labels_name, _) in _FASHION_FILES.items():
        images = read_idx(files[images_name])
        labels = read_idx(files[labels_name])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"Fashion-MNIST {split} files disagree: images of shape "
                f"{images.shape} and labels of shape {labels.shape}."
            )
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(
                f"{files[labels_name]} holds labels outside 0..9; the file is corrupt."
            )
        X = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
        out += [X, labels.astype(np.int64)]
    return tuple(out)


def _bundled(loader):
    def load_bundled():
        X, y = loader(return_X_y=True)
        return X.astype(np.float32), y

    return load_bundled


def _fashion_all():
    X_train, y_train, X_test, y_test = load_fashion_mnist()
    return np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])


#: Data sets known to ``python -m sk_hashednets --dataset``.
DATASETS = {
    "digits": _bundled(_skdatasets.load_digits),
    "iris": _bundled(_skdatasets.load_iris),
    "wine": _bundled(_skdatasets.load_wine),
    "breast_cancer": _bundled(_skdatasets.load_breast_cancer),
    "fashion-mnist": _fashion_all,
}


def load(name):
    """Return ``(X, y)`` of a named data set, X as float32."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown dataset {name!r}; choose one of {sorted(DATASETS)}."
        ) from None
    return loader()
