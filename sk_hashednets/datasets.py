"""Real data sets: scikit-learn's bundled ones, read from the installed package."""

import numpy as np
from sklearn import datasets as _skdatasets


def _bundled(loader):
    def load_bundled():
        X, y = loader(return_X_y=True)
        return X.astype(np.float32), y

    return load_bundled


#: Data sets known to ``python -m sk_hashednets --dataset``.
DATASETS = {
    "digits": _bundled(_skdatasets.load_digits),
    "iris": _bundled(_skdatasets.load_iris),
    "wine": _bundled(_skdatasets.load_wine),
    "breast_cancer": _bundled(_skdatasets.load_breast_cancer),
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
