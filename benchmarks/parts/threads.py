"""threads: the gather and scatter kernels, serial against the deterministic
2-thread variants of ``threaded_kernels.py``, alone and in a whole epoch."""

import os
import subprocess
import sys

import numba
import numpy as np
import threaded_kernels as tk
from common import HERE, md_table, median, seconds

from sk_hashednets import _kernels
from sk_hashednets._layers import HashedWeights

COMPRESSIONS = {"1/8": 1 / 8, "1/64": 1 / 64}


def run(cfg):
    n_max = numba.config.NUMBA_NUM_THREADS
    print(f"\n[threads] gather and scatter on 784 x {cfg.hidden}, {n_max} numba "
          "threads", flush=True)
    rows = []
    for name, comp in COMPRESSIONS.items():
        k = round(comp * 784 * cfg.hidden)
        layer = HashedWeights(784, cfg.hidden, k, np.array([1, 2], np.uint32),
                              cache=True)
        codes = layer._codes
        rng = np.random.default_rng(0)
        w = rng.random(k, dtype=np.float32)
        G = rng.random((784, cfg.hidden), dtype=np.float32)
        table = np.empty(2 * k, np.float32)
        _kernels.signed_table(w, table)
        V = np.empty_like(G)
        grad = np.empty(k, np.float32)
        buffers = np.empty((tk.N_CHUNKS, 2 * k), np.float32)
        variants = {
            ("gather", "serial"): (_kernels.gather, (table, codes, V)),
            ("scatter", "serial"): (_serial_scatter, (G, codes, table, grad)),
            ("gather", "chunked"): (tk.gather, (table, codes, V)),
            ("scatter", "chunked"): (tk.scatter, (G, codes, buffers, grad)),
        }
        res, outputs = {}, {}
        for n_threads in sorted({1, min(2, n_max)}):
            numba.set_num_threads(n_threads)
            for (kernel, kind), (fn, args) in variants.items():
                if kind == "serial" and n_threads > 1:
                    continue
                fn(*args)
                outputs[(kernel, kind, n_threads)] = (V.copy() if kernel == "gather"
                                                      else grad.copy())
                ts = [seconds(lambda f=fn, a=args: f(*a))[0]
                      for _ in range(cfg.kernel_repeats)]
                res[(kernel, kind, n_threads)] = median(ts)
        numba.set_num_threads(n_max)
        for kernel in ("gather", "scatter"):
            serial = res[(kernel, "serial", 1)]
            one = res[(kernel, "chunked", 1)]
            two = res.get((kernel, "chunked", 2), one)
            same = np.array_equal(outputs[(kernel, "chunked", 1)],
                                  outputs.get((kernel, "chunked", 2),
                                              outputs[(kernel, "chunked", 1)]))
            rows.append([kernel, name, f"{k:,}", str(codes.dtype),
                         f"{serial * 1e3:.3f}", f"{one * 1e3:.3f}", f"{two * 1e3:.3f}",
                         f"{serial / two:.2f}", "yes" if same else "NO"])
    table = md_table(["kernel", "compression", "buckets", "codes", "serial (ms)",
                      "chunked, 1 thread (ms)", "chunked, 2 threads (ms)",
                      "serial / 2 threads", "1 and 2 threads bit-identical"], rows)
    print(table, flush=True)
    floor_table = _streaming_floor(cfg)
    print(floor_table, flush=True)

    # what counts: a whole epoch, where the kernels alternate with BLAS calls
    script = str(HERE / "threaded_kernels.py")
    variants = [("serial", None), ("chunked", None), ("chunked", "PASSIVE")]
    epochs = {}
    for _ in range(cfg.repeats):
        for bs in cfg.batch_sizes:
            for kernels, policy in variants:
                env = dict(os.environ)
                if policy:
                    env["OMP_WAIT_POLICY"] = policy
                out = subprocess.run(
                    [sys.executable, script, "--kernels", kernels, "--samples",
                     str(cfg.thread_samples), "--batch-size", str(bs)],
                    env=env, check=True, capture_output=True, text=True).stdout
                # the script prints the epoch's loss, then its seconds
                epochs.setdefault((bs, kernels, policy), []).append(
                    float(out.split()[-1]))
    epoch_rows = [[bs, kernels, policy or "(default)",
                   f"{median(epochs[(bs, kernels, policy)]):.2f}"]
                  for bs in cfg.batch_sizes for kernels, policy in variants]
    epoch_table = md_table(["batch", "kernels", "OMP_WAIT_POLICY", "epoch (s)"],
                           epoch_rows)
    print(epoch_table, flush=True)
    def ratio(bs, policy):
        return (median(epochs[(bs, "chunked", policy)])
                / median(epochs[(bs, "serial", None)]))

    summary = "With 2 threads an epoch takes " + ", ".join(
        f"{ratio(bs, policy):.2f}x the serial one at batch {bs} "
        f"({'passive' if policy else 'default'} wait)"
        for bs in cfg.batch_sizes for policy in (None, "PASSIVE")) + "."
    return {"table": table, "layer": numba.threading_layer(),
                         "epochs": epoch_table, "floor": floor_table,
                         "summary": summary}


def _serial_scatter(G, codes, table, out):
    """The package's serial scatter in one call: zero, add every row, fold."""
    table[:] = 0
    _kernels.scatter_rows(G, codes, table)
    _kernels.signed_fold(table, out)


def _streaming_floor(cfg):
    """The serial gather and scatter of a 784 x hidden layer at 1/8 against
    the same kernels with 500 buckets, whose signed table (4 KiB) stays in L1:
    what is left then is streaming the codes and V (or dL/dV) through memory,
    the least any kernel reading one code per virtual weight can cost."""
    rng = np.random.default_rng(0)
    G = rng.random((784, cfg.hidden), dtype=np.float32)
    V = np.empty_like(G)
    res = {}
    for label, k in (("1/8", round(784 * cfg.hidden / 8)), ("500 buckets", 500)):
        layer = HashedWeights(784, cfg.hidden, k, np.array([1, 2], np.uint32),
                              cache=True)
        table = np.empty(2 * k, np.float32)
        _kernels.signed_table(rng.random(k, dtype=np.float32), table)
        grad = np.empty(k, np.float32)
        calls = {"gather": (_kernels.gather, (table, layer._codes, V)),
                 "scatter": (_serial_scatter, (G, layer._codes, table, grad))}
        for name, (fn, args) in calls.items():
            fn(*args)
            res[(name, label)] = median([seconds(lambda f=fn, a=args: f(*a))[0]
                                         for _ in range(cfg.kernel_repeats)])
    rows = [[name, f"{res[(name, '1/8')] * 1e3:.3f}",
             f"{res[(name, '500 buckets')] * 1e3:.3f}",
             f"{res[(name, '1/8')] / res[(name, '500 buckets')]:.2f}"]
            for name in ("gather", "scatter")]
    return md_table(["serial kernel", "1/8 (ms)", "500 buckets, table in L1 (ms)",
                     "ratio"], rows)


def section(cfg, result):
    return ["## Gather and scatter, 1 against 2 threads", "",
            f"The training kernels on a 784 x {cfg.hidden} float32 layer, "
            f"median of {cfg.kernel_repeats} calls each: the package's serial "
            "`gather` and `scatter` against the deterministic 2-thread "
            "variants of `benchmarks/threaded_kernels.py` (fixed row chunks, "
            "one scatter buffer per chunk, added in chunk order), run with "
            "`numba.set_num_threads(1)` and `(2)`, Numba threading layer "
            f"`{result['layer']}`.", "",
            result["table"], "",
            f"One epoch of 784-1000-10 at 1/8 on {cfg.thread_samples} random "
            "rows with each kind of kernel, each in a fresh process "
            "(`python benchmarks/threaded_kernels.py --kernels serial|chunked`), "
            f"median of {cfg.repeats}:", "",
            result["epochs"], "",
            "The same serial kernels with 500 buckets instead of 1/8 of the "
            "layer: the codes and V stream through memory as before, but "
            "the signed table (4 KiB) stays in L1. The ratio bounds what any "
            "faster way of reaching the buckets could gain while one code "
            "per virtual weight is read:", "",
            result["floor"], "",
            result["summary"] + " The package keeps serial "
            "kernels: even alone, 2 threads make the gather and scatter "
            "less than twice as fast (they are bound by memory, as the "
            "table above shows), the epoch gains little, OpenMP workers "
            "that spin between BLAS products compete with whatever else "
            "runs on a shared machine, and serial kernels are bit-identical "
            "for any thread count, safe to call from many Python threads at "
            "once whatever Numba threading layer is installed (its "
            "`workqueue` layer is not thread-safe), and safe in forked "
            "processes (GNU OpenMP is not fork-safe)."]
