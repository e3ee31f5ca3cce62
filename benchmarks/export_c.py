"""Exported C models on digits: accuracy of float32 and int8 buckets, object size,
for both exported methods.

    OPENBLAS_NUM_THREADS=1 python benchmarks/export_c.py [--hidden 1000]
        [--compression 1/8 1/64]
    OPENBLAS_NUM_THREADS=1 python benchmarks/export_c.py --widths 64 1024 4096 16384

Trains the main job's model (``python -m sk_hashednets``: digits, 70/30
stratified split, StandardScaler + HashedMLPClassifier, float32 features,
``random_state=0``) with ``method="hashing"`` and ``"hashing_blocks"``,
exports each with ``export_c`` (the scaler folded in), with float32 and with
int8 buckets, compiles each with ``gcc -std=c99 -Wall -Wextra -Werror
-Wdouble-promotion -O2`` and runs the test set through the compiled code.
Prints, per method and compression: test accuracy in Python and in C; the
largest absolute difference between the C probabilities and
``predict_proba``; for int8 buckets, how many predicted labels change, the
largest absolute difference to ``predict_proba`` of the dequantized model
(``sk_hashednets.quantize(model, "int8")``, the model the int8 file computes) and
to the float model's; and the text + data bytes of the compiled object
(binutils' ``size``) next to (buckets + biases) x 4 bytes.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from common import quiet_fit
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, export_c, quantize
from sk_hashednets.datasets import load

FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-O2"]
DRIVER = """\
#include <stdio.h>
#include "model.h"

int main(void)
{
    float x[MODEL_N_FEATURES], out[MODEL_N_OUTPUTS];
    while (fread(x, sizeof(float), MODEL_N_FEATURES, stdin) == MODEL_N_FEATURES) {
        model_predict_proba(x, out);
        if (fwrite(out, sizeof(float), MODEL_N_OUTPUTS, stdout) != MODEL_N_OUTPUTS)
            return 1;
    }
    return 0;
}
"""


def run_c(model, X, directory, buckets, cc):
    """Export, compile and run; return (probabilities, (text, data) bytes)."""
    directory.mkdir()
    export_c(model, directory / "model.c", buckets=buckets)
    (directory / "driver.c").write_text(DRIVER)
    for args in (["-c", "model.c"],
                 ["-o", "driver", "driver.c", "model.o", "-lm"]):
        subprocess.run([cc, *FLAGS, *args], cwd=directory, check=True)
    out = subprocess.run([str(directory / "driver")], capture_output=True, check=True,
                         input=np.ascontiguousarray(X, np.float32).tobytes()).stdout
    size = subprocess.run(["size", "model.o"], cwd=directory, capture_output=True,
                          text=True, check=True).stdout.splitlines()[1].split()
    return np.frombuffer(out, np.float32).reshape(len(X), -1), (int(size[0]),
                                                                int(size[1]))


def widths(n_ins, cc):
    """The float sums' error against the input width: a 2-class problem of
    ``n_in`` standardized features (make_classification, 3,000 rows, the last
    1,000 to test), HashedMLPClassifier((64,), compression=1/8, max_iter=20,
    random_state=0), float32 export; the largest difference to
    ``predict_proba`` beside the first layer's worst-case bound of a float sum,
    ``n_in * 2**-24 * max_{row, j} sum_i |x_i V_ij|`` (on a hidden unit's
    pre-activation)."""
    print("| n_in | C float32 vs `predict_proba` (max abs.) | first layer: worst-case "
          "bound of a float sum | largest sum_i abs(x_i V_ij) |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for n_in in n_ins:
            X, y = make_classification(3000, n_in, n_informative=32,
                                       random_state=0)
            X = (X - X.mean(0)) / X.std(0)
            clf = HashedMLPClassifier((64,), compression=1 / 8, max_iter=20,
                                      random_state=0)
            quiet_fit(clf, X[:2000], y[:2000])
            X_test = X[2000:].astype(np.float32)
            out, _ = run_c(clf, X_test, Path(tmp) / str(n_in), "float32", cc)
            gap = np.abs(out - clf.predict_proba(X_test.astype(np.float64))).max()
            terms = np.abs(X_test.astype(np.float64)) @ np.abs(clf.coefs_[0])
            bound = n_in * 2.0**-24 * terms.max()
            print(f"| {n_in:,} | {gap:.1e} | {bound:.1e} | {terms.max():.3g} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--compression", nargs="+", default=["1/8", "1/64"])
    parser.add_argument("--cc", default=shutil.which("gcc") or shutil.which("cc"))
    parser.add_argument("--widths", type=int, nargs="+", help="instead: the float "
                        "sums' error against these input widths")
    args = parser.parse_args(argv)
    if args.cc is None:
        sys.exit("no C compiler found; pass --cc")
    if args.widths:
        widths(args.widths, args.cc)
        return 0

    X, y = load("digits")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)
    print(f"digits, {len(X_train)} train / {len(X_test)} test, hidden "
          f"({args.hidden},), compiled with {Path(args.cc).name} {' '.join(FLAGS)}")
    print("| method | compression | stored params | (buckets + biases) x 4 B "
          "| accuracy Python | accuracy C float32 "
          "| C float32 vs `predict_proba` (max abs.) | object text + data, float32 "
          "| accuracy C int8 | labels changed by int8 "
          "| C int8 vs dequantized model (max abs.) "
          "| C int8 vs `predict_proba` (max abs.) | object text + data, int8 |")
    print("| --- " * 13 + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for method in ("hashing", "hashing_blocks"):
            for label in args.compression:
                clf = HashedMLPClassifier(hidden_layer_sizes=(args.hidden,),
                                          compression=float(Fraction(label)),
                                          method=method, random_state=0)
                model = make_pipeline(StandardScaler(), clf)
                quiet_fit(model, X_train, y_train)
                proba = model.predict_proba(X_test)
                rows = []
                for buckets in ("float32", "int8"):
                    directory = Path(tmp) / f"{method}-{label}-{buckets}".replace(
                        "/", "_")
                    out, size = run_c(model, X_test, directory, buckets, args.cc)
                    accuracy = np.mean(clf.classes_[out.argmax(1)] == y_test)
                    rows.append((accuracy, out, sum(size), size))
                (acc32, out32, total32, size32), (acc8, out8, total8, size8) = rows
                reference8 = quantize(model, "int8").predict_proba(X_test)
                stored = clf.n_stored_params_
                print(f"| {method} | {label} | {stored:,} | {4 * stored:,} "
                      f"| {model.score(X_test, y_test):.4f} | {acc32:.4f} "
                      f"| {np.abs(out32 - proba).max():.1e} "
                      f"| {total32:,} ({size32[0]:,} + {size32[1]:,}) | {acc8:.4f} "
                      f"| {np.sum(out8.argmax(1) != proba.argmax(1))} of "
                      f"{len(X_test)} | {np.abs(out8 - reference8).max():.1e} "
                      f"| {np.abs(out8 - proba).max():.3f} "
                      f"| {total8:,} ({size8[0]:,} + {size8[1]:,}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
