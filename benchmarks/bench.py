"""Speed and memory of HashedMLPClassifier, side by side with its peers.

    python benchmarks/bench.py            # everything; writes benchmarks/RESULTS.md
    python benchmarks/bench.py --quick    # small sizes: a smoke run, writes nothing
    python benchmarks/bench.py --parts train predict

Each part is a module of ``benchmarks/parts/`` holding its measurement and
its section of the report (:data:`PARTS`, in the report's order; all by
default):

* ``steps``: where a training step's time goes (gather, scatter, products...);
* ``busy``: a digits fit beside two CPU-bound processes;
* ``grid``: GridSearchCV with n_jobs 1 and 2;
* ``train``: one epoch of a 784-1000-10 ReLU network on 60,000 x 784 float32
  rows against scikit-learn, the NumPy GEMM floor and a PyTorch hashed MLP;
* ``predict``: ``predict`` time and peak traced memory on 10,000 rows;
* ``compile``: import plus the first fit in a fresh process, cold and warm
  Numba cache;
* ``threads``: the gather and scatter kernels, serial against 2 threads;
* ``scale``: one epoch against the number of samples and the hidden width;
* ``memory``: peak RSS of one epoch of 784-16384-10 at 1/64 on 60,000 rows;
* ``startup``: what comes before the first useful work, against scikit-learn:
  a fresh process's import and first fit, GridSearchCV on a fresh worker
  pool, one row through ``to_sklearn()``, ``predict`` on 10,000 rows.
"""

import argparse
import sys
import time
from pathlib import Path

from common import HERE, machine_info, md_table
from parts import (
    busy,
    compile_cost,
    grid,
    memory,
    predict,
    scale,
    startup,
    steps,
    threads,
    train,
)

#: the parts, by name, in the order they run and appear in the report
PARTS = {
    "steps": steps,
    "busy": busy,
    "grid": grid,
    "train": train,
    "predict": predict,
    "compile": compile_cost,
    "threads": threads,
    "scale": scale,
    "memory": memory,
    "startup": startup,
}


def write_results(cfg, results, info, command, path, elapsed):
    """The report: the machine, the targets of every part run, then each
    part's own section."""
    out = ["# Benchmark results", "",
           "Written by `benchmarks/bench.py`; regenerate with:", "",
           f"    {command}", "",
           "## Machine", ""]
    for k, v in info.items():
        if isinstance(v, list):
            v = "; ".join(v) or "none found"
        out.append(f"- {k}: {v}")
    out.append(f"- run finished: {time.strftime('%Y-%m-%d %H:%M:%S')}, "
               f"{elapsed:.0f} s in all")
    checks = all_checks(results)
    if checks:
        out += ["", "## Targets", "", md_table(["what", "target", "measured", "holds"],
                                             checks)]
    if cfg.busy_note:
        out += ["", cfg.busy_note]
    for name, result in results.items():
        out += ["", *PARTS[name].section(cfg, result)]
    Path(path).write_text("\n".join(out) + "\n")
    print(f"\nwrote {path}")


def all_checks(results):
    return [c for result in results.values() for c in result.get("checks", [])]


def parse_args(argv):
    p = argparse.ArgumentParser(description="Speed and memory of sk_hashednets "
                                "against scikit-learn, NumPy and PyTorch.")
    p.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    p.add_argument("--quick", action="store_true",
                   help="small sizes and one repeat: a smoke run")
    p.add_argument("--repeats", type=int, help="training repeats (default 3)")
    p.add_argument("--busy-note", default="",
                   help="a sentence for the report on what else loaded the machine")
    p.add_argument("--samples", type=int,
                   help="training rows (default 60000, 3000 with --quick)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    p.add_argument("--no-float64", dest="float64_reference", action="store_false",
                   help="skip scikit-learn on float64 data (the reference column)")
    p.add_argument("--output", help="where to write the report (default: "
                   "benchmarks/RESULTS.md for a full run, nothing with --quick)")
    cfg = p.parse_args(argv)
    full = not cfg.quick
    cfg.samples = cfg.samples or (60000 if full else 3000)
    cfg.step_samples = min(cfg.samples, 12000)
    cfg.busy_epochs = 40
    cfg.grid_epochs = 100 if full else 10
    cfg.hidden = 1000
    cfg.batch_sizes = (50, 128)
    cfg.repeats = cfg.repeats or (3 if full else 1)
    if cfg.repeats < 1:
        p.error("--repeats must be at least 1")
    cfg.predict_rows = 10000 if full else 1000
    cfg.predict_repeats = 5 if full else 2
    cfg.compile_repeats = 3 if full else 1
    cfg.kernel_repeats = 200 if full else 20
    cfg.thread_samples = 20000 if full else 2000
    cfg.scale_samples = (7500, 15000, 30000, 60000) if full else (1000, 2000)
    cfg.scale_hidden = (256, 1024, 4096, 16384) if full else (64, 256)
    cfg.scale_rows = 10000 if full else 1000
    cfg.memory_hidden = 16384 if full else 2048
    cfg.memory_samples = 60000 if full else 3000
    if cfg.output is None and full:
        cfg.output = str(HERE / "RESULTS.md")
    return cfg


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    cfg = parse_args(argv)
    command = "python benchmarks/bench.py" + ("".join(" " + a for a in argv)
                                              if argv else "")
    info = machine_info()
    for k, v in info.items():
        print(f"{k}: {v}")
    results = {}
    tic = time.perf_counter()
    for name, part in PARTS.items():
        if name in cfg.parts:
            results[name] = part.run(cfg)
            if cfg.output:  # a long run keeps what it has measured so far
                write_results(cfg, results, info, command, cfg.output,
                              time.perf_counter() - tic)
    checks = all_checks(results)
    if checks:
        print("\n" + md_table(["what", "target", "measured", "holds"], checks))


if __name__ == "__main__":
    main()
