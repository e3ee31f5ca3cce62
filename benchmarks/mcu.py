"""On a Cortex-M4F: accuracy against flash and instructions, hashed exports
beside emlearn's dense MLPs.

    pip install ".[bench]"   # matplotlib and emlearn: benchmark peers only
    OPENBLAS_NUM_THREADS=1 python benchmarks/mcu.py [--fashion-rows 20000]

Needs the Debian packages gcc-arm-none-eabi, libnewlib-arm-none-eabi and
qemu-system-arm (see mcu/run.py) and Fashion-MNIST (dataset-fashion-mnist).

For each dataset (digits: pixels / 16, a stratified split of 1,497 training
and 300 test rows per seed; Fashion-MNIST: pixels / 255, ``--fashion-rows``
training rows drawn per seed, all 10,000 test rows) and each seed (0, 1, 2):

* this package: ``HashedMLPClassifier`` with one hidden layer of several
  widths at several compressions, with ``method="hashing"`` and
  ``"hashing_blocks"``, each exported with ``export_c`` twice: float32 and
  int8 buckets;
* emlearn: scikit-learn's dense ``MLPClassifier`` at several widths, exported
  with ``emlearn.convert(..., method="loadable")``;
* dense int8: the same ``MLPClassifier`` at more widths, its weights rounded
  after training to int8 with one scale per layer (the package's rule), as C
  from benchmarks/dense_int8.py (a peer, not a package feature).

This package's models train with momentum SGD at 0.01, scikit-learn's with
its default Adam at 0.001; both with ``early_stopping=True`` and
``max_iter=200``. Accuracy is that of the model in Python on the test rows
(int8: of ``sk_hashednets.quantize(model, "int8")``, the model the int8
export computes). The exported C runs the first 5 test rows on QEMU's
mps2-an386 board (mcu/run.py), which checks the output (hashed: 1e-5
absolute of ``predict_proba``, int8 of the quantized model's; emlearn's
float32 C: same labels, probabilities to 1e-4 absolute) and counts the
instructions per inference, built ``-O2``. Zero inputs are skipped by the
hashed exports (not by emlearn's), so on these images their instructions
depend on the data. Flash and RAM are what the model adds to a firmware built
``-Os`` (mcu/run.py: ``arm-none-eabi-size``, text + data and data + bss, with
the library code it pulls in; the stack is not counted).

The hashed models trained as stored (``quantize="int8"`` / ``"int4"``,
exported at that precision) come from the part benchmarks/mcu_stored.py, run
on its own into benchmarks/mcu_stored.json; this script reads them.

Then, per emlearn row, the most accurate hashed export with no more flash, and
the most accurate with no more flash and at most 10x its instructions; per
flash budget, the most accurate model of each kind, and per hashing method
the most accurate hashed model stored as float32, int8 and int4.

The loop part (benchmarks/mcu_loops.py) counts instructions per virtual
weight: one 128 x 128 layer's loops, and whole 784-64-10 inferences at 1/64
on rows with no zero input beside emlearn's dense 784-8-10.

Results go to benchmarks/mcu.json (resumable: a rerun fits only what is
missing, and writes after each model), the tables to benchmarks/MCU.md and the
plot to docs/mcu.png (benchmarks/mcu_report.py).
"""

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from common import ROOT, quiet_fit  # first: puts this checkout on sys.path
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from sk_hashednets import HashedMLPClassifier, quantize
from sk_hashednets.datasets import load_fashion_mnist

_spec = importlib.util.spec_from_file_location("mcu_run", ROOT / "mcu" / "run.py")
mcu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mcu)

import dense_int8  # noqa: E402
import mcu_loops  # noqa: E402
import mcu_report  # noqa: E402

SEEDS = (0, 1, 2)
METHODS = ("hashing", "hashing_blocks")
PRECISIONS = ("float32", "int8")
WIDTHS = (64, 256)
COMPRESSIONS = ("1/8", "1/16", "1/32", "1/64")
DENSE = {"digits": (2, 4, 8, 16, 32), "fashion": (1, 2, 4, 8, 16)}
# int8 weights: four times the weights in the same bytes, so wider nets
DENSE_INT8 = {"digits": (2, 4, 8, 16, 32, 64, 128), "fashion": (1, 2, 4, 8, 16, 32, 64)}
KINDS = ("hashed", "emlearn", "dense_int8")
BOARD_ROWS = 5
NAMES = {"digits": "digits", "fashion": "Fashion-MNIST"}


def import_emlearn():
    """emlearn, with NumPy's error state as it was (emlearn sets it to raise,
    after which scikit-learn's Adam fails on a harmless underflow)."""
    saved = np.geterr()
    import emlearn
    np.seterr(**saved)
    return emlearn


def load(dataset, seed, fashion_rows):
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X / 16, y, test_size=300, stratify=y, random_state=seed)
        return X_train, y_train, X_test, y_test
    X_train, y_train, X_test, y_test = load_fashion_mnist()
    rows = np.random.default_rng(seed).choice(len(X_train), fashion_rows,
                                              replace=False)
    return (X_train[rows].astype(np.float64), y_train[rows],
            X_test.astype(np.float64), y_test)


def emlearn_target(mlp, directory):
    """emlearn's C for a fitted MLPClassifier, behind one predict_proba function."""
    emlearn = import_emlearn()
    with contextlib.chdir(directory):  # convert() builds a host test in ./tmp
        emlearn.convert(mlp, method="loadable").save(
            file=str(directory / "eml_model.h"), name="eml_model")
    n_features, n_outputs = mlp.n_features_in_, len(mlp.classes_)
    (directory / "eml_api.h").write_text(
        "void eml_predict_proba(const float *x, float *out);\n")
    (directory / "eml_api.c").write_text(
        '#include "eml_model.h"\n#include "eml_api.h"\n\n'
        "void eml_predict_proba(const float *x, float *out)\n{\n"
        f"    eml_net_predict_proba(&eml_model, x, {n_features}, out, {n_outputs});\n"
        "}\n")
    include = str(Path(emlearn.__file__).parent)
    return mcu.Target(directory, [directory / "eml_api.c"], '#include "eml_api.h"',
                      "eml_predict_proba(x, out)", n_features, n_outputs,
                      cflags=["-isystem", include])


def on_board(target, model, X_board, buckets, label):
    """Run the rows on the board, check them, measure the footprint."""
    out, instructions = target.run(X_board)
    X64 = X_board.astype(np.float64)
    if buckets is None:  # emlearn
        expected = model.predict_proba(X64)
        check = float(np.abs(out - expected).max())
        ok = check <= 1e-4 and np.array_equal(out.argmax(1), expected.argmax(1))
    else:  # export_c, or the dense int8 peer (``model``: what its C computes)
        expected = mcu.expected_outputs(model, X64, "float32" if buckets == "dense"
                                        else buckets)
        check = mcu.board_difference(model, out, expected)
        ok = check <= 1e-5
    if not ok:
        raise RuntimeError(f"the board's output differs from Python's ({label}): "
                           f"{check:.1e}")
    flash, ram = target.footprint()
    return {"flash": flash, "ram": ram, "instructions": instructions,
            "board_difference": check}


def measure(kind, method, width, compression, seed, data, tmp):
    X_train, y_train, X_test, y_test = data
    X_board = X_test[:BOARD_ROWS].astype(np.float32)
    label = f"{kind} {method} width {width} {compression} seed {seed}"
    if kind in ("emlearn", "dense_int8"):
        model = quiet_fit(MLPClassifier((width,), early_stopping=True,
                                        random_state=seed), X_train, y_train)
        directory = Path(tempfile.mkdtemp(dir=tmp))
        if kind == "emlearn":
            target = emlearn_target(model, directory)
        else:
            target = mcu.Target(directory, [dense_int8.write(model, directory)],
                                '#include "dense_int8.h"',
                                "dense_predict_proba(x, out)", model.n_features_in_,
                                len(model.classes_))
            model = dense_int8.quantized(model)
        entry = on_board(target, model, X_board, None if kind == "emlearn" else
                         "dense", label)
        entry.update(accuracy=float(model.score(X_test, y_test)),
                     stored=int(sum(w.size for w in model.coefs_ + model.intercepts_)),
                     n_iter=int(model.n_iter_))
        return entry
    model = quiet_fit(HashedMLPClassifier(
        (width,), compression=float(Fraction(compression)), method=method,
        solver="sgd", learning_rate_init=0.01, early_stopping=True,
        random_state=seed), X_train, y_train)
    entry = {"accuracy": float(model.score(X_test, y_test)),
             "stored": int(model.n_stored_params_), "n_iter": int(model.n_iter_)}
    for buckets in PRECISIONS:
        target = mcu.hashed_target(model, Path(tempfile.mkdtemp(dir=tmp)), buckets)
        entry[buckets] = on_board(target, model, X_board, buckets,
                                  f"{label} {buckets}")
        reference = model if buckets == "float32" else quantize(model, buckets)
        entry[buckets]["accuracy"] = float(reference.score(X_test, y_test))
    return entry


def configurations(dataset, kinds=KINDS):
    if "hashed" in kinds:
        for method in METHODS:
            for width in WIDTHS:
                for compression in COMPRESSIONS:
                    yield "hashed", method, width, compression
    if "emlearn" in kinds:
        for width in DENSE[dataset]:
            yield "emlearn", "dense", width, "1"
    if "dense_int8" in kinds:
        for width in DENSE_INT8[dataset]:
            yield "dense_int8", "dense", width, "1"


def key(dataset, kind, method, width, compression, seed):
    return f"{dataset}/{kind}/{method}/{width}/{compression}/{seed}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-rows", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "mcu.json")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "MCU.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "mcu.png")
    parser.add_argument("--datasets", nargs="+", choices=list(NAMES),
                        default=list(NAMES))
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--report-only", action="store_true",
                        help="write MCU.md and the plot from the JSON as it is")
    args = parser.parse_args(argv)
    reason = mcu.missing_tools()
    if reason:
        sys.exit(f"error: {reason}")
    import_emlearn()  # fail early, with its own message, if it is missing

    results = json.loads(args.json.read_text()) if args.json.exists() else {}

    def save():
        args.json.write_text(json.dumps(results, indent=1) + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        if not args.report_only and "loops" not in results:
            results["loops"] = {
                "layer": mcu_loops.layer_loops(mcu, tmp),
                "whole": mcu_loops.whole_inference(mcu, emlearn_target, tmp)}
            save()
        for dataset in args.datasets if not args.report_only else ():
            for seed in SEEDS:
                todo = [c for c in configurations(dataset, args.kinds)
                        if key(dataset, *c, seed) not in results]
                if not todo:
                    continue
                data = load(dataset, seed, args.fashion_rows)
                for config in todo:
                    entry = measure(*config, seed, data, tmp)
                    results[key(dataset, *config, seed)] = entry
                    print(f"{dataset} seed {seed} {' '.join(map(str, config))}: "
                          f"accuracy {entry['accuracy']:.3f}", flush=True)
                    save()
    command = "OPENBLAS_NUM_THREADS=1 python benchmarks/mcu.py"
    if args.fashion_rows != 20_000:
        command += f" --fashion-rows {args.fashion_rows}"
    import mcu_stored  # the hashed models trained as stored: their own part
    stored = mcu_stored.read()
    tables = {d: mcu_report.summarize(
        {**results, **stored}, d, [*configurations(d), *mcu_stored.configurations(d)],
        key, SEEDS) for d in NAMES}

    def missing(dataset, budget, kind):
        return mcu_stored.missing(tables[dataset], stored, dataset, budget, kind,
                                  key, SEEDS) if kind in mcu_stored.KINDS else []

    mcu_report.plot(tables, NAMES, args.plot)
    plot_link = Path(os.path.relpath(args.plot.resolve(), args.out.resolve().parent))
    args.out.write_text(mcu_report.report(
        tables, results.get("loops"), command, args.fashion_rows,
        plot_link.as_posix(), NAMES, mcu, BOARD_ROWS, import_emlearn, missing,
        "nice -n 19 env OPENBLAS_NUM_THREADS=1 python benchmarks/mcu_stored.py"))
    print(f"wrote {args.out}, {args.plot} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
