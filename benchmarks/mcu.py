"""On a Cortex-M4F: accuracy against flash, hashed exports beside emlearn's dense MLPs.

    pip install ".[bench]"   # matplotlib and emlearn: benchmark peers only
    OPENBLAS_NUM_THREADS=1 python benchmarks/mcu.py [--fashion-rows 20000]

Needs the Debian packages gcc-arm-none-eabi, libnewlib-arm-none-eabi and
qemu-system-arm (see mcu/run.py) and Fashion-MNIST (dataset-fashion-mnist).

For each dataset (digits: pixels / 16, a stratified split of 1,497 training
and 300 test rows per seed; Fashion-MNIST: pixels / 255, ``--fashion-rows``
training rows drawn per seed, all 10,000 test rows) and each seed (0, 1, 2):

* this package: ``HashedMLPClassifier`` with one hidden layer of several
  widths at several compressions, exported with ``export_c`` (float32
  buckets);
* emlearn: scikit-learn's dense ``MLPClassifier`` at several widths, exported
  with ``emlearn.convert(..., method="loadable")``.

This package's models train with momentum SGD at 0.01 (its default when these
results were measured), scikit-learn's with its default Adam at 0.001; both
with ``early_stopping=True`` and ``max_iter=200``. Accuracy is that of the model in
Python on the test rows; the exported C runs the first 5 test rows on QEMU's
mps2-an386 board (mcu/run.py), which checks the output (hashed: to 1e-5
relative of ``predict_proba``; emlearn's float32 C: same labels, probabilities
to 1e-4 absolute) and counts the instructions per inference. Flash and RAM
are what the model adds to a firmware (mcu/run.py: ``arm-none-eabi-size``,
text + data and data + bss, with the library code it pulls in; the stack is
not counted).

A second part measures one 128 x 128 layer's inner loop, per virtual weight,
on the board: export_c's loop (two hashes and a double multiply-add), the same
hashes with float arithmetic, the hashes cached in a 16-bit table, and a dense
float multiply-add.

Results go to benchmarks/mcu.json (resumable: a rerun fits only what is
missing), the table to benchmarks/MCU.md and the plot to docs/mcu.png.
"""

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from sk_hashednets import HashedMLPClassifier, export_c
from sk_hashednets.datasets import load_fashion_mnist

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mcu_run", ROOT / "mcu" / "run.py")
mcu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mcu)

SEEDS = (0, 1, 2)
HASHED = {"digits": ((64, 256), ("1/8", "1/16", "1/32", "1/64")),
          "fashion": ((64, 256), ("1/8", "1/16", "1/32", "1/64"))}
DENSE = {"digits": (2, 4, 8, 16, 32), "fashion": (1, 2, 4, 8, 16)}
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


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def emlearn_target(mlp, directory):
    """emlearn's C for a fitted MLPClassifier, behind one predict_proba function."""
    emlearn = import_emlearn()
    emlearn.convert(mlp, method="loadable").save(file=str(directory / "eml_model.h"),
                                                 name="eml_model")
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


def measure(kind, width, compression, seed, data, tmp):
    X_train, y_train, X_test, y_test = data
    directory = Path(tempfile.mkdtemp(dir=tmp))
    if kind == "hashed":
        model = fit(HashedMLPClassifier((width,), compression=float(Fraction(
            compression)), solver="sgd", learning_rate_init=0.01,
            early_stopping=True, random_state=seed), X_train, y_train)
        target = mcu.hashed_target(model, directory)
        stored = int(model.n_stored_params_)
    else:
        model = fit(MLPClassifier((width,), early_stopping=True, random_state=seed),
                    X_train, y_train)
        target = emlearn_target(model, directory)
        stored = int(sum(w.size for w in model.coefs_ + model.intercepts_))
    X_board = X_test[:BOARD_ROWS].astype(np.float32)
    out, instructions = target.run(X_board)
    expected = model.predict_proba(X_board.astype(np.float64))
    if kind == "hashed":
        check = mcu.max_relative_difference(out, expected)
        ok = check <= 1e-5
    else:
        check = float(np.abs(out - expected).max())
        ok = check <= 1e-4 and np.array_equal(out.argmax(1), expected.argmax(1))
    if not ok:
        raise RuntimeError(f"the board's output differs from Python's ({kind}, "
                           f"width {width}, {compression}, seed {seed}): {check:.1e}")
    flash, ram = target.footprint()
    return {"accuracy": float(model.score(X_test, y_test)), "flash": flash,
            "ram": ram, "instructions": instructions, "stored": stored,
            "board_difference": check, "n_iter": int(model.n_iter_)}


def configurations(dataset):
    widths, compressions = HASHED[dataset]
    for width in widths:
        for compression in compressions:
            yield "hashed", width, compression
    for width in DENSE[dataset]:
        yield "emlearn", width, "1"


# --------------------------------------------------------------------------
# one layer's inner loop, per virtual weight
# --------------------------------------------------------------------------
KERNELS = """\
#include <stdint.h>
#include <stdio.h>
#include "model.c"

#define N_IN {n_in}u
#define N_OUT {n_out}u
#define N_BUCKETS {n_buckets}u
#define COUNTER (*(volatile uint32_t *)0x40028018u)

static float w[N_BUCKETS], dense[N_IN * N_OUT], a[N_IN], zf[N_OUT];
static double zd[N_OUT];
static uint16_t codes[N_IN * N_OUT];  /* bucket in bits 0-14, sign in bit 15 */
static const model_layer_t layer = {{N_IN, N_OUT, N_BUCKETS, 0x9E3779B9u,
                                     0x7F4A7C15u, w, 0}};

static void exported(void)
{{
    uint32_t i, j;
    for (j = 0; j < N_OUT; ++j)
        zd[j] = 0.0;
    for (i = 0; i < N_IN; ++i)
        model_accumulate(&layer, i, a[i], zd);
}}

static void hashed_float(void)
{{
    uint32_t i, j;
    for (j = 0; j < N_OUT; ++j)
        zf[j] = 0.0f;
    for (i = 0; i < N_IN; ++i) {{
        const uint32_t hh = model_hash_i(i, layer.seed_h);
        const uint32_t hx = model_hash_i(i, layer.seed_xi);
        for (j = 0; j < N_OUT; ++j) {{
            const uint64_t h = model_hash_j(hh, j);
            const float v = a[i] * w[(uint32_t)((h * N_BUCKETS) >> 32)];
            zf[j] += (model_hash_j(hx, j) >> 31) ? -v : v;
        }}
    }}
}}

static void cached(void)
{{
    uint32_t i, j;
    const uint16_t *c = codes;
    for (j = 0; j < N_OUT; ++j)
        zf[j] = 0.0f;
    for (i = 0; i < N_IN; ++i)
        for (j = 0; j < N_OUT; ++j, ++c) {{
            const float v = a[i] * w[*c & 0x7FFFu];
            zf[j] += (*c >> 15) ? -v : v;
        }}
}}

static void dense_float(void)
{{
    uint32_t i, j;
    const float *row = dense;
    for (j = 0; j < N_OUT; ++j)
        zf[j] = 0.0f;
    for (i = 0; i < N_IN; ++i, row += N_OUT)
        for (j = 0; j < N_OUT; ++j)
            zf[j] += a[i] * row[j];
}}

static void time_it(const char *name, void (*kernel)(void))
{{
    uint32_t start = COUNTER, ticks;
    kernel();
    ticks = COUNTER - start;
    printf("%s %lu %.9g %.9g\\n", name, (unsigned long)ticks, zd[0], (double)zf[0]);
}}

int main(void)
{{
    uint32_t i, j;
    for (i = 0; i < N_BUCKETS; ++i)
        w[i] = (float)((int32_t)(i * 2654435761u) >> 8) * 1e-7f;
    for (i = 0; i < N_IN; ++i) {{
        const uint32_t hh = model_hash_i(i, layer.seed_h);
        const uint32_t hx = model_hash_i(i, layer.seed_xi);
        a[i] = 1.0f + (float)i / N_IN;
        for (j = 0; j < N_OUT; ++j) {{
            const uint64_t h = model_hash_j(hh, j);
            const uint32_t k = (uint32_t)((h * N_BUCKETS) >> 32);
            const uint32_t negative = model_hash_j(hx, j) >> 31;
            codes[i * N_OUT + j] = (uint16_t)(k | negative << 15);
            dense[i * N_OUT + j] = negative ? -w[k] : w[k];
        }}
    }}
    time_it("exported", exported);
    time_it("hashed_float", hashed_float);
    time_it("cached", cached);
    time_it("dense_float", dense_float);
    return 0;
}}
"""


def kernel_costs(tmp, n_in=128, n_out=128, n_buckets=2048):
    """Instructions per virtual weight of four versions of one layer's loop;
    every version computes the same z (checked)."""
    directory = Path(tempfile.mkdtemp(dir=tmp))
    X, y = load_digits(return_X_y=True)
    small = fit(HashedMLPClassifier((4,), max_iter=1, random_state=0), X / 16, y)
    export_c(small, directory / "model.c")  # for its hash functions only
    text = KERNELS.format(n_in=n_in, n_out=n_out, n_buckets=n_buckets)
    elf = mcu.link(directory, "kernels", text, cflags=["-Wno-unused-function"])
    costs, firsts = {}, []
    for line in mcu.run_elf(elf):
        name, ticks, zd0, zf0 = line.split()
        costs[name] = int(ticks) * mcu.INSTRUCTIONS_PER_TICK / (n_in * n_out)
        firsts.append(float(zd0) if name == "exported" else float(zf0))
    if np.ptp(firsts) > 1e-3:  # 128 products of order 1, in float
        raise RuntimeError(f"the four loops disagree: {firsts}")
    return {"n_in": n_in, "n_out": n_out, "n_buckets": n_buckets,
            "per_weight": costs}


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def summarize(results, dataset):
    """Rows (kind, width, compression, flash, ram, instructions, acc mean, std)."""
    rows = []
    for kind, width, compression in configurations(dataset):
        entries = [results[key(dataset, kind, width, compression, s)] for s in SEEDS
                   if key(dataset, kind, width, compression, s) in results]
        if len(entries) < len(SEEDS):
            continue
        acc = np.array([e["accuracy"] for e in entries])
        rows.append({"kind": kind, "width": width, "compression": compression,
                     "flash": entries[0]["flash"], "ram": entries[0]["ram"],
                     "stored": entries[0]["stored"],
                     "instructions": np.mean([e["instructions"] for e in entries]),
                     "mean": acc.mean(), "std": acc.std(),
                     "board": max(e["board_difference"] for e in entries)})
    return sorted(rows, key=lambda r: r["flash"])


def key(dataset, kind, width, compression, seed):
    return f"{dataset}/{kind}/{width}/{compression}/{seed}"


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, dataset in zip(axes, NAMES):
        rows = summarize(results, dataset)
        dense = [r for r in rows if r["kind"] == "emlearn"]
        ax.errorbar([r["flash"] / 1024 for r in dense], [r["mean"] for r in dense],
                    [r["std"] for r in dense], marker="s", color="k", capsize=3,
                    label="emlearn, dense MLPClassifier (widths "
                    + ", ".join(str(r["width"]) for r in dense) + ")")
        for width, color in zip(HASHED[dataset][0], ("C0", "C3")):
            mine = [r for r in rows if r["kind"] == "hashed" and r["width"] == width]
            ax.errorbar([r["flash"] / 1024 for r in mine], [r["mean"] for r in mine],
                        [r["std"] for r in mine], marker="o", color=color, capsize=3,
                        label=f"hashed, width {width} (1/64 ... 1/8)")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("flash the model adds (KiB, arm-none-eabi-size text + data)")
        ax.set_ylabel("test accuracy (mean ± std, 3 seeds)")
        ax.set_title(f"{NAMES[dataset]} on a Cortex-M4F (QEMU mps2-an386)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(results, kernels, command, fashion_rows, plot_path):
    lines = [
        "# On a Cortex-M4F: accuracy against flash",
        "",
        "Made by `benchmarks/mcu.py` (see its docstring for the protocol):",
        "",
        f"    {command}",
        "",
        f"arm-none-eabi-gcc {_version(['arm-none-eabi-gcc', '-dumpversion'])} "
        f"`{' '.join(mcu.CFLAGS)}`; {_version(['qemu-system-arm', '--version'])} "
        f"`-M mps2-an386 -icount shift=0`; emlearn {_emlearn_version()}; "
        f"Python {platform.python_version()}.",
        "",
        "Flash and RAM: bytes the model adds to a firmware, library code included "
        "(text + data; data + bss). Instructions: per inference, counted by QEMU "
        f"(`-icount`), mean over the first {BOARD_ROWS} test rows and the 3 seeds. "
        "Accuracy: mean ± std over seeds 0, 1, 2. Board check: largest difference "
        "of the board's output to `predict_proba` (hashed: relative; emlearn: "
        "absolute, labels equal).",
        "",
    ]
    for dataset in NAMES:
        what = ("1,497 training / 300 test rows, a stratified split per seed"
                if dataset == "digits" else
                f"{fashion_rows:,} of the 60,000 training rows (drawn per seed), all "
                "10,000 test rows")
        lines += [f"## {NAMES[dataset]} ({what})", "",
                  "| model | width | compression | stored params | flash (B) | RAM (B) "
                  "| instructions / inference | accuracy | board check |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in summarize(results, dataset):
            model = "hashed (export_c)" if r["kind"] == "hashed" else "dense (emlearn)"
            lines.append(
                f"| {model} | {r['width']} | {r['compression']} | {r['stored']:,} "
                f"| {r['flash']:,} | {r['ram']:,} | {r['instructions']:,.0f} "
                f"| {r['mean']:.3f} ± {r['std']:.3f} | {r['board']:.1e} |")
        lines.append("")
    lines += [f"![accuracy against flash]({plot_path})", ""]
    if kernels:
        per = kernels["per_weight"]
        lines += [
            f"## One layer's loop ({kernels['n_in']} x {kernels['n_out']}, "
            f"{kernels['n_buckets']:,} buckets), instructions per virtual weight",
            "",
            "| loop | instructions / weight | flash per virtual weight |",
            "| --- | --- | --- |",
            f"| export_c as it is: two hashes, double multiply-add (software on "
            f"an M4F) | {per['exported']:.1f} | 4 B x compression |",
            f"| the same two hashes, float multiply-add | {per['hashed_float']:.1f} "
            "| 4 B x compression |",
            f"| hashes cached in a 16-bit table (bucket, sign), float | "
            f"{per['cached']:.1f} | 2 B + 4 B x compression |",
            f"| dense float multiply-add | {per['dense_float']:.1f} | 4 B |",
            "",
        ]
    return "\n".join(lines)


def _version(command):
    try:
        out = subprocess.run(command, capture_output=True, text=True).stdout
    except OSError:
        return "?"
    return out.splitlines()[0] if out else "?"


def _emlearn_version():
    return getattr(import_emlearn(), "__version__", "?")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-rows", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "mcu.json")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "MCU.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "mcu.png")
    args = parser.parse_args(argv)
    reason = mcu.missing_tools()
    if reason:
        sys.exit(f"error: {reason}")
    import_emlearn()  # fail early, with its own message, if it is missing

    results = json.loads(args.json.read_text()) if args.json.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in NAMES:
            for seed in SEEDS:
                todo = [c for c in configurations(dataset)
                        if key(dataset, *c, seed) not in results]
                if not todo:
                    continue
                data = load(dataset, seed, args.fashion_rows)
                for kind, width, compression in todo:
                    entry = measure(kind, width, compression, seed, data, tmp)
                    results[key(dataset, kind, width, compression, seed)] = entry
                    print(f"{dataset} seed {seed} {kind} width {width} "
                          f"{compression}: accuracy {entry['accuracy']:.3f}, flash "
                          f"{entry['flash']:,} B, {entry['instructions']:,.0f} "
                          "instructions", flush=True)
                    args.json.write_text(json.dumps(results, indent=1) + "\n")
        if "kernels" not in results:
            results["kernels"] = kernel_costs(tmp)
            args.json.write_text(json.dumps(results, indent=1) + "\n")
    plot(results, args.plot)
    command = "OPENBLAS_NUM_THREADS=1 python benchmarks/mcu.py"
    if args.fashion_rows != 20_000:
        command += f" --fashion-rows {args.fashion_rows}"
    plot_link = Path("..") / args.plot.relative_to(ROOT)
    args.out.write_text(report(results, results["kernels"], command,
                               args.fashion_rows, plot_link.as_posix()))
    print(f"wrote {args.out}, {args.plot} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
