"""ONNX export: file size, latency in onnxruntime, memory at session creation.

    python benchmarks/export_onnx.py           # writes benchmarks/ONNX.md
    python benchmarks/export_onnx.py --quick   # small sizes, writes nothing

(Not ``onnx.py``: a script of that name would shadow the ``onnx`` package
for everything it imports.) Three measurements, each beside its reference in
the same run:

* **size**: ``export_onnx`` files of digits 64-1000-10 and of 784-1000-10 at
  1/64, both methods, against the bound ``4 x stored parameters + scaler +
  4 KiB`` and against skl2onnx's dense graph of an ``MLPClassifier`` of the
  same shape;
* **latency**: 1 row and 1,000 rows through onnxruntime (one intra-op
  thread), our 784-1000-10 at 1/64 against skl2onnx's dense graph of an
  ``MLPClassifier`` of that shape and against ``predict_proba`` (BLAS on one
  thread); each call timed alone, the median call of a round, the median
  of several rounds, each round running the contenders in another order;
* **creation**: the peak memory onnxruntime adds while it creates a session
  (VmHWM, reset through ``/proc/self/clear_refs``, in a fresh process) for one
  4096 x 4096 layer at 1/64, per virtual weight, for both methods and for a
  dense graph storing that layer's V; beside it what the export estimates
  (the bytes of the hash's ``n_in x n_out`` intermediates, which onnxruntime
  keeps until its folding pass ends).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import (
    HERE,
    digits32,
    load_workload,
    machine_info,
    md_table,
    median,
    quiet_fit,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, export_onnx
from sk_hashednets._export_onnx import CREATION_WARNING_BYTES, bytes_per_weight

METHODS = ("hashing", "hashing_blocks")


def dense_onnx(model, X, path):
    """skl2onnx's graph of a fitted MLPClassifier, without ZipMap."""
    from skl2onnx import to_onnx

    onx = to_onnx(model, X[:1], target_opset=18, options={"zipmap": False})
    path.write_bytes(onx.SerializeToString())
    return path


def session(path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------
# size
# --------------------------------------------------------------------------
def sizes(tmp, quick):
    X_digits, y_digits = digits32()
    X_big, y_big, note = load_workload(500 if quick else 2000)
    rows = []
    for name, X, y in (("digits 64-1000-10", X_digits, y_digits),
                       ("784-1000-10", X_big, y_big)):
        dense = quiet_fit(MLPClassifier(hidden_layer_sizes=(1000,), max_iter=2,
                                        random_state=0), X, y)
        dense_bytes = dense_onnx(dense, X, tmp / "dense.onnx").stat().st_size
        for method in METHODS:
            pipe = quiet_fit(make_pipeline(StandardScaler(), HashedMLPClassifier(
                hidden_layer_sizes=(1000,), compression=1 / 64, method=method,
                max_iter=2, random_state=0)), X, y)
            size = export_onnx(pipe, tmp / "m.onnx").stat().st_size
            stored = pipe[-1].n_stored_params_
            bound = 4 * stored + 2 * 8 * X.shape[1] + 4096
            rows.append({"model": name, "method": method, "bytes": size,
                         "stored": stored, "bound": bound, "dense": dense_bytes})
            print(f"  {name} {method}: {size} bytes (bound {bound}, dense "
                  f"{dense_bytes})", flush=True)
    return {"rows": rows, "data": note}


# --------------------------------------------------------------------------
# latency
# --------------------------------------------------------------------------
def per_call(fn, calls):
    """The median time of ``calls`` calls, each timed alone: a call of one row
    (tens of microseconds) is much shorter than a time slice of the
    scheduler, so the median call ran uninterrupted even on a busy machine."""
    times = []
    for _ in range(calls):
        tic = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tic)
    return median(times)


def latency(tmp, quick):
    from threadpoolctl import threadpool_limits

    X, y, note = load_workload(2000)
    X = np.ascontiguousarray(X)
    contenders = {}
    dense = quiet_fit(MLPClassifier(hidden_layer_sizes=(1000,), max_iter=1,
                                    random_state=0), X, y)
    contenders["skl2onnx dense graph"] = session(dense_onnx(dense, X, tmp / "d.onnx"))
    models = {}
    for method in METHODS:
        models[method] = quiet_fit(HashedMLPClassifier(
            hidden_layer_sizes=(1000,), compression=1 / 64, method=method,
            max_iter=1, random_state=0), X, y)
        path = export_onnx(models[method], tmp / f"{method}.onnx")
        contenders[f"export_onnx, {method}"] = session(path)
    calls = {name: (lambda rows, s=sess: s.run(None, {"X": rows}))
             for name, sess in contenders.items()}
    calls["predict_proba (hashing)"] = models["hashing"].predict_proba
    rounds = 3 if quick else 12
    results = {}
    for batch, repeat in ((1, 50 if quick else 400), (1000, 3 if quick else 20)):
        rows = X[:batch]
        times = {name: [] for name in calls}
        order = list(calls)
        with threadpool_limits(1, user_api="blas"):
            for fn in calls.values():  # warm up
                fn(rows)
            for r in range(rounds):  # each round in another order
                for name in order[r % len(order):] + order[:r % len(order)]:
                    times[name].append(per_call(
                        lambda fn=calls[name], rows=rows: fn(rows), repeat))
        dense = times["skl2onnx dense graph"]
        # the ratio of each round, whose contenders ran seconds apart, then
        # their median: steadier than a ratio of medians on a busy machine
        results[batch] = {name: (median(t), median(a / b for a, b in zip(t, dense)))
                          for name, t in times.items()}
        print(f"  {batch} rows: " + ", ".join(
            f"{k} {v[0] * 1e6:.1f} us" for k, v in results[batch].items()), flush=True)
    return {"times": results, "data": note, "rounds": rounds}


# --------------------------------------------------------------------------
# memory at session creation
# --------------------------------------------------------------------------
def measure_creation(path):
    """In this (fresh) process: the memory onnxruntime adds while it creates
    a session on ``path``; printed as JSON."""
    import onnxruntime as ort

    def status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    base = status("VmRSS")
    tic = time.perf_counter()
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    seconds = time.perf_counter() - tic
    print(json.dumps({"peak": status("VmHWM") - base, "kept": status("VmRSS") - base,
                      "seconds": seconds, "inputs": len(sess.get_inputs())}))


def dense_layer(V, b, path):
    """A graph storing V: X @ V + b."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "V"], ["Z"]),
         helper.make_node("Add", ["Z", "b"], ["variable"])], "dense",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, V.shape[0]])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT,
                                       [None, V.shape[1]])],
        initializer=[numpy_helper.from_array(V, "V"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def creation(tmp, quick):
    import warnings

    n = 1024 if quick else 4096
    rng = np.random.default_rng(0)
    X = rng.random((16, n), dtype=np.float32)
    Y = rng.random((16, n), dtype=np.float32)
    paths = {}
    warned = {}
    for method in METHODS:
        model = quiet_fit(HashedMLPRegressor(hidden_layer_sizes=(), compression=1 / 64,
                                             method=method, max_iter=1,
                                             random_state=0), X, Y)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            paths[method] = export_onnx(model, tmp / f"layer-{method}.onnx")
        warned[method] = any("onnxruntime session" in str(w.message) for w in caught)
        if method == "hashing":
            V, b = model.coefs_[0], model.intercepts_[0]
    paths["dense"] = dense_layer(V.astype(np.float32), b.astype(np.float32),
                                 tmp / "layer-dense.onnx")
    del V
    rows = []
    for name, path in paths.items():
        out = subprocess.run([sys.executable, __file__, "--creation", str(path)],
                             capture_output=True, text=True, check=True).stdout
        got = json.loads(out.strip().splitlines()[-1])
        estimate = bytes_per_weight(name, 4) if name in METHODS else None
        rows.append({"graph": name, "file": path.stat().st_size,
                     "peak": got["peak"] / (n * n), "kept": got["kept"] / (n * n),
                     "seconds": got["seconds"], "estimate": estimate,
                     "warned": warned.get(name)})
        print(f"  {name}: peak {rows[-1]['peak']:.1f} B per virtual weight, kept "
              f"{rows[-1]['kept']:.1f}, {got['seconds']:.2f} s", flush=True)
    return {"n": n, "rows": rows}


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def verdict(ok):
    return "holds" if ok else "does not hold"


def section(result):
    size, lat, cre = result["size"], result["latency"], result["creation"]
    out = ["## File size", "",
           f"Data for the 784-wide model: {size['data']}.", "",
           md_table(["model", "method", "file (bytes)", "bound 4 x stored + scaler "
                     "+ 4 KiB", "skl2onnx dense (bytes)", "dense / ours"],
                    [[r["model"], r["method"], r["bytes"], r["bound"], r["dense"],
                      f"{r['dense'] / r['bytes']:.0f}x"] for r in size["rows"]]),
           "", "Every file within its bound: "
           + verdict(all(r["bytes"] <= r["bound"] for r in size["rows"])) + "."]
    t1, tk = lat["times"][1], lat["times"][1000]
    out += ["", "## Latency in onnxruntime (784-1000-10 at 1/64)", "",
            f"One intra-op thread, BLAS on one thread for `predict_proba`; each call "
            f"timed alone, the median call of a round, the median of {lat['rounds']} "
            "rounds, each running the contenders in another order; "
            f"a ratio is the median of the rounds' ratios. Data: {lat['data']}.",
            "", md_table(["graph", "1 row (us)", "vs dense", "1,000 rows (ms)",
                          "vs dense"],
                         [[k, f"{t1[k][0] * 1e6:.1f}", f"{t1[k][1]:.2f}",
                           f"{tk[k][0] * 1e3:.2f}", f"{tk[k][1]:.2f}"]
                          for k in t1])]
    worst = max(t1[k][1] for k in t1 if k.startswith("export_onnx"))
    out += ["", f"One row at most 1.2x the dense graph: {verdict(worst <= 1.2)} "
            f"(worst {worst:.2f}x)."]
    n = cre["n"]
    out += ["", f"## Memory at session creation ({n} x {n} layer at 1/64)", "",
            "Peak bytes onnxruntime adds while it creates a session, per virtual "
            "weight (VmHWM in a fresh process), and what stays after; the estimate "
            "is what the export counts on its graph (the bytes of the hash's "
            f"{n} x {n} intermediates) and warns on above "
            f"{CREATION_WARNING_BYTES / 2**30:g} GiB.", "",
            md_table(["graph", "file (bytes)", "peak (B / weight)",
                      "kept (B / weight)", "estimate (B / weight)", "creation (s)",
                      "export warned"],
                     [[r["graph"], r["file"], f"{r['peak']:.1f}", f"{r['kept']:.1f}",
                       r["estimate"] if r["estimate"] is not None else "-",
                       f"{r['seconds']:.2f}",
                       {None: "-", True: "yes", False: "no"}[r["warned"]]]
                      for r in cre["rows"]])]
    for r in cre["rows"]:
        if r["graph"] in METHODS:
            out += ["", f"At most 32 bytes per virtual weight, {r['graph']}: "
                    + ("holds" if r["peak"] <= 32 else "blocked (onnxruntime keeps "
                       "every folded intermediate until its folding pass ends)")
                    + f" ({r['peak']:.1f})."]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes, write nothing")
    p.add_argument("--creation", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.creation:
        return measure_creation(args.creation)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, fn in (("size", sizes), ("latency", latency),
                         ("creation", creation)):
            print(f"[{name}]", flush=True)
            result[name] = fn(tmp, args.quick)
    info = machine_info()
    import onnxruntime
    import skl2onnx

    lines = ["# ONNX export", "",
             "Written by `benchmarks/export_onnx.py`; regenerate with:", "",
             "    OPENBLAS_NUM_THREADS=1 python benchmarks/export_onnx.py", "",
             f"Machine: {info['cpu']}, {info['cores']} cores; {info['versions']}, "
             f"onnxruntime {onnxruntime.__version__}, skl2onnx "
             f"{skl2onnx.__version__}; load average at start "
             f"{info['load average at start']}.", "", *section(result), ""]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        (HERE / "ONNX.md").write_text(text)


if __name__ == "__main__":
    main()
