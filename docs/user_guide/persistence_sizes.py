"""Pickled sizes of the README's 1/64 model, with and without the solver's
state (docs/user_guide/persistence.md).

    python docs/user_guide/persistence_sizes.py

The 1/64 row of the README's main job (``python -m sk_hashednets``: a
64-1000-10 network on 70% of digits in float32, a StandardScaler in front,
random_state=0) trained once by ``fit``, as the main job does, and once by
``partial_fit`` over the same training rows in five chunks; each classifier
pickled as it is and as ``without_solver_state()`` returns it.
"""

import pickle
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier
from sk_hashednets.datasets import load


def sizes():
    """{what: pickled bytes} and the number of stored parameters."""
    X, y = load("digits")  # float32, as the main job's
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.3, stratify=y,
                                              random_state=0)

    def model():
        return HashedMLPClassifier(hidden_layer_sizes=(1000,), compression=1 / 64,
                                   random_state=0)

    fitted = model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make_pipeline(StandardScaler(), fitted).fit(X_train, y_train)
    streamed = model()
    X_train = StandardScaler().fit_transform(X_train)
    for chunk in np.array_split(np.arange(len(X_train)), 5):
        streamed.partial_fit(X_train[chunk], y_train[chunk], classes=np.unique(y))
    return {
        "fit": len(pickle.dumps(fitted)),
        "fit, without_solver_state()": len(pickle.dumps(fitted.without_solver_state())),
        "partial_fit": len(pickle.dumps(streamed)),
        "partial_fit, without_solver_state()": len(
            pickle.dumps(streamed.without_solver_state())),
    }, streamed.n_stored_params_


def main():
    measured, n_stored = sizes()
    print(f"64-1000-10 at compression 1/64, {n_stored:,} stored parameters; "
          "pickled bytes:")
    for what, n_bytes in measured.items():
        print(f"  {what:<36} {n_bytes:>7,}")


if __name__ == "__main__":
    main()
