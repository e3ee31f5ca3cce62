"""Do the Numba and the BLAS thread counts change a fit's bits?

    python benchmarks/reproducibility.py [--epochs 200]

Fits, in a fresh process for every combination of ``NUMBA_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) in
{1, 2}, the main job's model (digits, 70/30 stratified split, StandardScaler
+ HashedMLPClassifier with one hidden layer of 1000 units, float32 features,
``random_state=0``) at compression 1/8, the same with 256 hidden units, and
scikit-learn's MLPClassifier (1000 units, sgd) for comparison. Prints, per
model and thread setting: the first 12 hex digits of the sha256 of all fitted
parameters, the largest absolute difference to the parameters of the
1-thread/1-thread fit, and the test accuracy.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MODELS = ("hashed-1000", "hashed-256", "sklearn-mlp-1000")

FIT = """
import json, sys, warnings
import numba, numpy as np
from threadpoolctl import threadpool_info
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sk_hashednets import HashedMLPClassifier
from sk_hashednets.datasets import load

model, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
X, y = load("digits")
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0)
if model == "sklearn-mlp-1000":
    est = MLPClassifier((1000,), solver="sgd", max_iter=epochs, random_state=0)
else:
    est = HashedMLPClassifier((int(model.split("-")[1]),), compression=1 / 8,
                              max_iter=epochs, random_state=0)
pipe = make_pipeline(StandardScaler(), est)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    pipe.fit(X_train, y_train)
params = (est.coefs_ + est.intercepts_ if model.startswith("sklearn")
          else est.buckets_ + est.intercepts_)
np.savez(out, *params)
print(json.dumps({
    "accuracy": pipe.score(X_test, y_test),
    "numba": numba.get_num_threads(),
    "blas": sorted({i["num_threads"] for i in threadpool_info()
                    if i["user_api"] == "blas"}),
}))
"""


def run(model, epochs, numba_threads, blas_threads, out):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(numba_threads),
               OPENBLAS_NUM_THREADS=str(blas_threads),
               OMP_NUM_THREADS=str(blas_threads), MKL_NUM_THREADS=str(blas_threads))
    result = subprocess.run([sys.executable, "-c", FIT, model, str(epochs), out],
                            env=env, capture_output=True, text=True, check=True)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["numba"] == numba_threads and info["blas"] == [blas_threads], info
    with np.load(out) as saved:
        params = [saved[k] for k in sorted(saved.files, key=lambda k: int(k[4:]))]
    return params, info["accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()
    settings = [(1, 1), (2, 1), (1, 2), (2, 2)]
    print("| model | NUMBA_NUM_THREADS | BLAS threads | sha256 | max abs. "
          "difference to 1/1 | test accuracy |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            reference = None
            for numba_threads, blas_threads in settings:
                out = str(Path(tmp) / f"{model}-{numba_threads}-{blas_threads}.npz")
                params, accuracy = run(model, args.epochs, numba_threads,
                                       blas_threads, out)
                digest = hashlib.sha256()
                for p in params:
                    digest.update(p.tobytes())
                reference = reference or params
                diff = max(float(np.abs(p - r).max())
                           for p, r in zip(params, reference))
                print(f"| {model} | {numba_threads} | {blas_threads} | "
                      f"{digest.hexdigest()[:12]} | {diff:.3g} | {accuracy:.4f} |",
                      flush=True)


if __name__ == "__main__":
    main()
