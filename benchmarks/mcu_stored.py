"""On the board: hashed models trained as stored (int8 and int4 buckets).

    nice -n 19 env OPENBLAS_NUM_THREADS=1 python benchmarks/mcu_stored.py
    python benchmarks/mcu.py --report-only   # MCU.md with these columns

The part of benchmarks/mcu.py that trains each hashed configuration it
sweeps (both methods, widths 64 and 256, compressions 1/8 to 1/64, and 1/4
and 1/2 where the buckets fit the largest budget; same data,
seeds and recipe: momentum SGD at 0.01, ``early_stopping=True``,
``max_iter=200``) with ``quantize="int8"`` and ``quantize="int4"``, so the
fitted model is the model the export stores, and exports it with the same
precision (``export_c(..., buckets=p)``). Accuracy is the fitted model's on
the test rows; the board runs the first 5 test rows of every seed (output
checked to 1e-5 of ``predict_proba``) for flash (-Os) and instructions per
inference (-O2), as for the other rows.

Results go to benchmarks/mcu_stored.json after each model (a rerun fits only
what is missing; concurrent runs on different data sets merge under a file
lock). The work goes configuration by configuration, all seeds of one before
the next, smallest models first, so the small flash budgets fill up first;
``missing`` says which configurations a budget still waits for.
"""

import argparse
import fcntl
import json
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from common import ROOT, quiet_fit  # first: puts this checkout on sys.path

import mcu
from sk_hashednets import HashedMLPClassifier

JSON = ROOT / "benchmarks" / "mcu_stored.json"
STORED = ("int8", "int4")
KINDS = tuple(f"stored_{p}" for p in STORED)


#: milder compressions too: int8 and int4 buckets take 1/4 and 1/8 of float32's
#: bytes, so they reach the larger budgets only there
MILDER = ("1/4", "1/2")
N_FEATURES = {"digits": 64, "fashion": 784}
BYTES = {"stored_int8": 1, "stored_int4": 0.5}


def configurations(dataset, compressions=None):
    """Smallest models first: compression, then width, then method; of the
    milder compressions only those whose buckets alone fit the dataset's
    largest flash budget."""
    largest = max(mcu.mcu_report.BUDGETS[dataset]) * 1024
    for compression in compressions or (*reversed(mcu.COMPRESSIONS), *MILDER):
        for width in mcu.WIDTHS:
            virtual = (N_FEATURES[dataset] + 10) * width
            for method in mcu.METHODS:
                for kind in KINDS:
                    if (compression not in MILDER or virtual * BYTES[kind]
                            * Fraction(compression) <= largest):
                        yield kind, method, width, compression


def measure(kind, method, width, compression, seed, data, tmp):
    X_train, y_train, X_test, y_test = data
    precision = kind.removeprefix("stored_")
    model = quiet_fit(HashedMLPClassifier(
        (width,), compression=float(Fraction(compression)), method=method,
        solver="sgd", learning_rate_init=0.01, early_stopping=True,
        random_state=seed, quantize=precision), X_train, y_train)
    target = mcu.mcu.hashed_target(model, Path(tempfile.mkdtemp(dir=tmp)), precision)
    entry = mcu.on_board(target, model, X_test[:mcu.BOARD_ROWS].astype("float32"),
                         precision, f"{kind} {method} {width} {compression} {seed}")
    entry.update(accuracy=float(model.score(X_test, y_test)),
                 stored=int(model.n_stored_params_),
                 stored_bytes=int(model.n_stored_bytes_), n_iter=int(model.n_iter_))
    return entry


def read(path=JSON):
    return json.loads(path.read_text()) if path.exists() else {}


def write(key, entry, path=JSON):
    """Add one result, merged with what other runs wrote meanwhile."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = read(path)
        results[key] = entry
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)


def missing(rows, results, dataset, budget, kind, key, seeds):
    """The configurations of ``kind`` not yet measured on every seed that may
    fit ``budget`` (KiB): none with the same method and width and fewer
    buckets is known to exceed it."""
    out = []
    for _, method, width, compression in (c for c in configurations(dataset)
                                          if c[0] == kind):
        if all(key(dataset, kind, method, width, compression, s) in results
               for s in seeds):
            continue
        smaller = [r for r in rows if (r["kind"], r["method"], r["width"]) ==
                   (kind, method, width) and Fraction(r["compression"])
                   <= Fraction(compression)]
        if not any(r["flash"] > budget * 1024 for r in smaller):
            out.append(f"{method} {width} {compression}")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-rows", type=int, default=20_000)
    parser.add_argument("--datasets", nargs="+", choices=list(mcu.NAMES),
                        default=list(mcu.NAMES))
    parser.add_argument("--json", type=Path, default=JSON)
    parser.add_argument("--compressions", nargs="+",
                        choices=[*mcu.COMPRESSIONS, *MILDER],
                        help="only these (default: all, in the order above)")
    args = parser.parse_args(argv)
    reason = mcu.mcu.missing_tools()
    if reason:
        sys.exit(f"error: {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            data = {}
            for config in configurations(dataset, args.compressions):
                for seed in mcu.SEEDS:
                    key = mcu.key(dataset, *config, seed)
                    if key in read(args.json):
                        continue
                    if seed not in data:
                        data[seed] = mcu.load(dataset, seed, args.fashion_rows)
                    entry = measure(*config, seed, data[seed], tmp)
                    write(key, entry, args.json)
                    print(f"{key}: accuracy {entry['accuracy']:.4f}, flash "
                          f"{entry['flash']:,} B, {entry['instructions']:,.0f} "
                          "instructions", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
