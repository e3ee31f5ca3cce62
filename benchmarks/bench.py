"""Speed and memory of HashedMLPClassifier, side by side with its peers.

    python benchmarks/bench.py            # everything; writes benchmarks/RESULTS.md
    python benchmarks/bench.py --quick    # small sizes: a smoke run, writes nothing
    python benchmarks/bench.py --parts train predict

Parts (all by default):

* ``train``: one epoch of a 784-1000-10 ReLU network on 60,000 x 784 float32
  rows (Fashion-MNIST when ``sk_hashednets.datasets.load_fashion_mnist``
  exists and loads, otherwise random data of that shape), batch sizes 50 and
  128, compression 1/8 and 1/64, for

  a. ``HashedMLPClassifier``;
  b. scikit-learn ``MLPClassifier(solver="sgd")``, same virtual architecture;
  c. a plain NumPy float32 dense MLP (the GEMM floor, ``peers.py``);
  d. a PyTorch hashed MLP gathering index/sign buffers every step (only when
     torch is installed; ``peers.py``).

  Every repeat runs all of them in turn on the same data; the tables report
  the median of the repeats, and the ratios are ratios of medians.
* ``predict``: ``predict`` time and peak traced memory on 10,000 rows, against
  ``MLPClassifier.predict``.
* ``compile``: import plus the first fit on digits in a fresh process, with an
  empty Numba cache (a new ``NUMBA_CACHE_DIR``) and with a warm one, against
  ``import sklearn`` alone.
* ``threads``: the gather and scatter kernels, serial against 2 threads.
* ``scale``: one epoch against the number of samples and the hidden width.
* ``memory``: peak RSS of one epoch of 784-16384-10 at 1/64 on 60,000 rows, in
  a fresh process (``peak_rss.py``).
"""

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import sk_hashednets  # noqa: E402
from sk_hashednets import HashedMLPClassifier  # noqa: E402
from sk_hashednets._layers import HashedWeights, _code_dtype  # noqa: E402

PARTS = ("steps", "train", "predict", "compile", "busy", "grid", "threads", "scale",
         "memory")
COMPRESSIONS = {"1/8": 1 / 8, "1/64": 1 / 64}
TARGETS = [  # (label, ratio key, compression, bound) of the "must show" list
    ("a/c at batch 50, 1/8", ("a/c", 50), "1/8", 1.10),
    ("a/c at batch 128, 1/8", ("a/c", 128), "1/8", 1.10),
    ("a/d at batch 50, 1/8", ("a/d", 50), "1/8", 0.3),
    ("a/d at batch 128, 1/8", ("a/d", 128), "1/8", 0.3),
    ("e/c at batch 50, 1/8", ("e/c", 50), "1/8", 1.10),
    ("e/c at batch 128, 1/8", ("e/c", 128), "1/8", 1.10),
    ("e/d at batch 50, 1/8", ("e/d", 50), "1/8", 0.3),
    ("e/d at batch 128, 1/8", ("e/d", 128), "1/8", 0.3),
]
PHASES = ("products", "gather", "scatter", "activation and loss", "optimizer")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def seconds(fn):
    tic = time.perf_counter()
    out = fn()
    return time.perf_counter() - tic, out


def median(values):
    return statistics.median(values)


def quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def load_workload(n_samples, n_features=784, n_classes=10):
    """Fashion-MNIST's training images when installed, else random float32 data."""
    from sk_hashednets.datasets import load_fashion_mnist

    try:
        X, y = load_fashion_mnist()[:2]  # float32 in [0, 1]
    except (OSError, ValueError) as exc:  # not installed or corrupt: say why
        note = f"random float32 data (Fashion-MNIST unavailable: {exc})"
    else:
        reps = -(-n_samples // X.shape[0])
        X, y = np.tile(X, (reps, 1))[:n_samples], np.tile(y, reps)[:n_samples]
        return X, y, f"Fashion-MNIST ({X.shape[0]} rows)"
    rng = np.random.default_rng(0)
    X = rng.random((n_samples, n_features), dtype=np.float32)
    y = rng.integers(0, n_classes, n_samples)
    return X, y, note


def machine_info():
    import numba
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, "
            f"{i.get('threading_layer', '?')}, {i.get('architecture', '?')}) "
            f"from {Path(i['filepath']).parent.parent.name}"
            for i in threadpool_info() if i["user_api"] == "blas"]
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "blas": blas,
        "numba threads": numba.get_num_threads(),
        "versions": (f"Python {platform.python_version()}, numpy {np.__version__}, "
                     f"scipy {__import__('scipy').__version__}, scikit-learn "
                     f"{sklearn.__version__}, numba {numba.__version__}, "
                     f"sk_hashednets {sk_hashednets.__version__}, torch "
                     f"{_torch_version() or 'not installed'}"),
        "load average at start": load,
    }


def _torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


# --------------------------------------------------------------------------
# a, b, c, d: one epoch of training
# --------------------------------------------------------------------------
def bench_train(cfg, report):
    X, y, data_note = load_workload(cfg.samples)
    n_classes = int(y.max()) + 1
    Y = peers.one_hot(y, n_classes)
    hidden = (cfg.hidden,)
    torch = None
    if not cfg.no_torch:
        try:
            import torch
            torch.set_num_threads(2)
        except ImportError:
            torch = None
    print(f"\n[train] {X.shape[0]} x {X.shape[1]} float32, {data_note}; layers "
          f"{X.shape[1]}-{cfg.hidden}-{n_classes}; {cfg.repeats} repeats", flush=True)

    def run_a(bs, comp, method="hashing"):
        clf = HashedMLPClassifier(hidden_layer_sizes=hidden, compression=comp,
                                  method=method, batch_size=bs, max_iter=1,
                                  solver="sgd", learning_rate_init=0.01,
                                  random_state=0)
        t, clf = seconds(lambda: quiet_fit(clf, X, y))
        return t, clf.loss_

    def run_b(bs, data=X):
        mlp = MLPClassifier(hidden_layer_sizes=hidden, solver="sgd", batch_size=bs,
                            max_iter=1, learning_rate_init=0.01, momentum=0.9,
                            nesterovs_momentum=True, random_state=0)
        t, mlp = seconds(lambda: quiet_fit(mlp, data, y))
        return t, mlp.loss_

    # scikit-learn trains in float64 unless it is given float32 (uint8 pixels
    # or float64 arrays train in float64): measured too, for reference
    X64 = X.astype(np.float64) if cfg.float64_reference else None

    def run_c(bs):  # the floor on BLAS's threads
        return seconds(lambda: peers.numpy_dense_epoch(X, Y, hidden, bs))

    def run_c1(bs):  # the floor on one BLAS thread
        with threadpool_limits(1, user_api="blas"):
            return seconds(lambda: peers.numpy_dense_epoch(X, Y, hidden, bs))

    def run_d(bs, comp):
        model = peers.torch_hashed_mlp(X.shape[1], hidden, n_classes, comp)
        return seconds(lambda: peers.torch_epoch(model, X, y, bs))

    # warm up: compile the kernels, page in the data, spin up torch
    quiet_fit(HashedMLPClassifier(hidden_layer_sizes=hidden, max_iter=1),
              X[:500], y[:500])
    peers.numpy_dense_epoch(X[:500], Y[:500], hidden, 50)
    if torch is not None:
        peers.torch_epoch(peers.torch_hashed_mlp(X.shape[1], hidden, n_classes, 1 / 8),
                          X[:500], y[:500], 50)

    times, losses = {}, {}
    for rep in range(cfg.repeats):
        for bs in cfg.batch_sizes:
            runs = [(("b", bs, None), lambda bs=bs: run_b(bs)),
                    (("c", bs, None), lambda bs=bs: run_c(bs)),
                    (("c1", bs, None), lambda bs=bs: run_c1(bs))]
            if X64 is not None:
                runs.append((("b64", bs, None), lambda bs=bs: run_b(bs, X64)))
            for name, comp in COMPRESSIONS.items():
                runs.append((("a", bs, name), lambda bs=bs, c=comp: run_a(bs, c)))
                runs.append((("e", bs, name),
                             lambda bs=bs, c=comp: run_a(bs, c, "hashing_blocks")))
                if torch is not None:
                    runs.append((("d", bs, name), lambda bs=bs, c=comp: run_d(bs, c)))
            for key, run in runs:
                t, loss = run()
                times.setdefault(key, []).append(t)
                losses[key] = loss
                print(f"  repeat {rep + 1}: {key[0]} batch {key[1]}"
                      f"{' compression ' + key[2] if key[2] else ''}: {t:.2f} s "
                      f"(loss {loss:.4f})", flush=True)

    med = {k: median(v) for k, v in times.items()}
    floor_threads = {}
    for bs in cfg.batch_sizes:  # the floor at its faster thread setting
        if med[("c1", bs, None)] < med[("c", bs, None)]:
            med[("c", bs, None)] = med[("c1", bs, None)]
            floor_threads[bs] = "1 BLAS thread"
        else:
            floor_threads[bs] = "BLAS's threads"
    rows, ratios = [], {}
    for bs in cfg.batch_sizes:
        for name in COMPRESSIONS:
            a, e = med[("a", bs, name)], med[("e", bs, name)]
            b, c = med[("b", bs, None)], med[("c", bs, None)]
            d = med.get(("d", bs, name))
            b64 = med.get(("b64", bs, None))
            r = {"a/b": a / b, "a/c": a / c, "a/d": a / d if d else None,
                 "e/c": e / c, "e/d": e / d if d else None}
            for k, v in r.items():
                if v is not None:
                    ratios[(k, bs, name)] = v
            rows.append([bs, name, f"{a:.2f}", f"{b:.2f}", f"{c:.2f}",
                         f"{d:.2f}" if d else "n/a", f"{e:.2f}", f"{r['a/b']:.2f}",
                         f"{r['a/c']:.2f}",
                         f"{r['a/d']:.2f}" if d else "n/a", f"{r['e/c']:.2f}",
                         f"{r['e/d']:.2f}" if d else "n/a",
                         f"{b64:.2f}" if b64 else "n/a",
                         f"{a / b64:.2f}" if b64 else "n/a"])
    table = md_table(["batch", "compression", "a hashed (s)", "b sklearn (s)",
                      "c numpy floor (s)", "d torch hashed (s)",
                      "e hashed blocks (s)", "a/b", "a/c", "a/d", "e/c", "e/d",
                      "b on float64 data (s)", "a / that"], rows)
    loss_rows = [[bs, name, f"{losses[('a', bs, name)]:.4f}",
                  f"{losses[('e', bs, name)]:.4f}",
                  f"{losses[('b', bs, None)]:.4f}", f"{losses[('c', bs, None)]:.4f}",
                  f"{losses[('d', bs, name)]:.4f}" if ("d", bs, name) in losses
                  else "n/a"]
                 for bs in cfg.batch_sizes for name in COMPRESSIONS]
    loss_table = md_table(["batch", "compression", "a", "e", "b", "c (dense)", "d"],
                          loss_rows)
    print("\n" + table, flush=True)

    checks = []
    for label, (kind, bs), name, bound in TARGETS:
        if (kind, bs, name) in ratios:
            r = ratios[(kind, bs, name)]
            checks.append([label, f"<= {bound}", f"{r:.2f}",
                           "yes" if r <= bound else "NO"])
    report["train"] = {
        "data": data_note,
        "table": table,
        "loss_table": loss_table,
        "checks": checks,
        "floor_threads": floor_threads,
        "raw": {" ".join(map(str, k)): v for k, v in times.items()},
    }


# --------------------------------------------------------------------------
# steps: where a training step's time goes
# --------------------------------------------------------------------------
class PhaseClock:
    """Seconds per phase of a training step, from wrappers around the calls
    that make it up (each wrapper costs about a microsecond per call)."""

    def __init__(self):
        self.seconds = dict.fromkeys(PHASES, 0.0)

    def __call__(self, phase):
        return _Phase(self.seconds, phase)

    def wrap(self, phase, fn):
        seconds_ = self.seconds

        def timed(*args, **kwargs):
            tic = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds_[phase] += time.perf_counter() - tic
        return timed


    def wrap_outer(self, phase, inner, fn):
        """Like :meth:`wrap`, less the time the ``inner`` phase gains meanwhile."""
        seconds_ = self.seconds

        def timed(*args, **kwargs):
            tic, before = time.perf_counter(), seconds_[inner]
            try:
                return fn(*args, **kwargs)
            finally:
                seconds_[phase] += (time.perf_counter() - tic
                                    - (seconds_[inner] - before))
        return timed


class _Phase:
    def __init__(self, seconds_, phase):
        self.seconds, self.phase = seconds_, phase

    def __enter__(self):
        self.tic = time.perf_counter()

    def __exit__(self, *exc):
        self.seconds[self.phase] += time.perf_counter() - self.tic


class _TimedNumpy:
    """numpy, with ``matmul`` timed as "products" (for ``_layers``)."""

    def __init__(self, clock):
        self.matmul = clock.wrap("products", np.matmul)

    def __getattr__(self, name):
        return getattr(np, name)


def _timed_hashed_epoch(clf, X, y):
    """Fit ``clf`` for one epoch with its step's phases timed; return the
    clock and the epoch's seconds (the epoch loop alone, as ``_run_epoch``)."""
    from sk_hashednets import _kernels, _layers, _optimizers, _threads, _training

    clock = PhaseClock()
    epoch = {}
    run_epoch = _training._run_epoch

    def timed_epoch(*args):
        tic = time.perf_counter()
        run_epoch(*args)
        epoch["seconds"] = time.perf_counter() - tic

    patches = [(_layers, "np", _TimedNumpy(clock)),
               (_threads, "matmul", clock.wrap("products", _threads.matmul)),
               (_training, "_run_epoch", timed_epoch),
               (_training, "_clip_grad_norm",
                clock.wrap("optimizer", _training._clip_grad_norm))]
    for name in ("signed_table", "gather", "block_table", "block_gather"):
        patches.append((_kernels, name, clock.wrap("gather", getattr(_kernels, name))))
    for name in ("scatter_rows", "signed_fold", "block_scatter_rows", "block_fold"):
        patches.append((_kernels, name, clock.wrap("scatter", getattr(_kernels, name))))
    # dL/dV's product adds its rows into the table as they come: its products
    # are its time less the scatter's within it
    patches.append((_threads, "matmul_rows",
                    clock.wrap_outer("products", "scatter", _threads.matmul_rows)))
    for name in ("activate_train", "softmax_cross_entropy", "dropout_dense"):
        patches.append((_kernels, name, clock.wrap("activation and loss",
                                                   getattr(_kernels, name))))
    for cls in (_optimizers.MomentumSGD, _optimizers.Adam):
        patches.append((cls, "update", clock.wrap("optimizer", cls.update)))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        quiet_fit(clf, X, y)
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)
    return clock.seconds, epoch["seconds"]


def bench_steps(cfg, report):
    X, y, data_note = load_workload(cfg.step_samples)
    hidden = (cfg.hidden,)
    Y = peers.one_hot(y, int(y.max()) + 1)
    print(f"\n[steps] per-step breakdown on {X.shape[0]} rows ({data_note}), "
          f"784-{cfg.hidden}-10 at 1/8", flush=True)
    quiet_fit(HashedMLPClassifier(hidden_layer_sizes=hidden, max_iter=1),
              X[:500], y[:500])
    results = {}

    def floor(bs, n_steps, kind):
        clock = PhaseClock()
        total = seconds(lambda: peers.numpy_dense_epoch(X, Y, hidden, bs,
                                                        clock=clock))[0]
        results.setdefault((kind, bs), []).append(
            {k: v / n_steps for k, v in clock.seconds.items()} | {
                "step": total / n_steps})

    for _ in range(cfg.repeats):
        for bs in cfg.batch_sizes:
            n_steps = -(-X.shape[0] // bs)
            for kind, method in (("hashed", "hashing"),
                                 ("hashed blocks", "hashing_blocks")):
                clf = HashedMLPClassifier(hidden_layer_sizes=hidden,
                                          compression=1 / 8, batch_size=bs,
                                          method=method, max_iter=1,
                                          solver="sgd", learning_rate_init=0.01,
                                          random_state=0)
                phases, total = _timed_hashed_epoch(clf, X, y)
                results.setdefault((kind, bs), []).append(
                    {k: v / n_steps for k, v in phases.items()} | {
                        "step": total / n_steps})
            floor(bs, n_steps, "floor")
            with threadpool_limits(1, user_api="blas"):
                floor(bs, n_steps, "floor, 1 BLAS thread")
    rows = []
    medians = {}
    for (kind, bs), runs in results.items():
        m = {k: median([r[k] for r in runs]) for k in runs[0]}
        medians[(kind, bs)] = m
        other = m["step"] - sum(m[p] for p in PHASES)
        rows.append([kind, bs] + [f"{m[p] * 1e3:.3f}" for p in PHASES]
                    + [f"{other * 1e3:.3f}", f"{m['step'] * 1e3:.3f}"])
        print(f"  {kind} batch {bs}: " + ", ".join(
            f"{p} {m[p] * 1e3:.3f} ms" for p in PHASES)
            + f", step {m['step'] * 1e3:.3f} ms", flush=True)
    table = md_table(["net", "batch"] + [f"{p} (ms)" for p in PHASES]
                     + ["other (ms)", "step (ms)"], rows)
    print(table, flush=True)
    checks = []
    for bs in cfg.batch_sizes:
        plain, blocks = medians[("hashed", bs)], medians[("hashed blocks", bs)]
        gain = ((plain["gather"] + plain["scatter"])
                / (blocks["gather"] + blocks["scatter"]))
        checks.append([f"gather+scatter, hashing / hashing_blocks, batch {bs}",
                       ">= 2", f"{gain:.2f}", "yes" if gain >= 2 else "NO"])
    report["steps"] = {"table": table, "data": data_note, "medians": medians,
                       "checks": checks}


# --------------------------------------------------------------------------
# busy: a digits fit beside two CPU-bound processes
# --------------------------------------------------------------------------
SPIN = "while True: pass"


def _digits32():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def bench_busy(cfg, report):
    X, y = _digits32()
    print(f"\n[busy] digits, 1000 hidden units, {cfg.busy_epochs} epochs, without "
          "and with two CPU-bound helper processes", flush=True)
    fits = {
        "a hashed 1/8": lambda: HashedMLPClassifier(
            hidden_layer_sizes=(1000,), max_iter=cfg.busy_epochs, random_state=0),
        "b sklearn": lambda: MLPClassifier(
            hidden_layer_sizes=(1000,), max_iter=cfg.busy_epochs, random_state=0),
    }
    for make in fits.values():
        quiet_fit(make(), X[:300], y[:300])
    times = {}
    for _ in range(cfg.repeats):
        for helpers in (0, 2):
            procs = [subprocess.Popen([sys.executable, "-c", SPIN])
                     for _ in range(helpers)]
            try:
                if procs:
                    time.sleep(1.0)  # let them take their share of the cores
                for name, make in fits.items():
                    t = seconds(lambda make=make: quiet_fit(make(), X, y))[0]
                    times.setdefault((name, helpers), []).append(t)
                    print(f"  {name}, {helpers} helpers: {t:.2f} s", flush=True)
            finally:
                for proc in procs:
                    proc.kill()
                    proc.wait()
    rows, checks = [], []
    for name in fits:
        quiet, busy = median(times[(name, 0)]), median(times[(name, 2)])
        rows.append([name, f"{quiet:.2f}", f"{busy:.2f}", f"{busy / quiet:.2f}"])
        if name.startswith("a"):
            checks.append(["digits fit beside two CPU-bound processes / without",
                           "<= 2.0", f"{busy / quiet:.2f}",
                           "yes" if busy / quiet <= 2.0 else "NO"])
    table = md_table(["model", "without helpers (s)", "with two helpers (s)",
                      "ratio"], rows)
    print(table, flush=True)
    report["busy"] = {"table": table, "checks": checks}


# --------------------------------------------------------------------------
# grid: GridSearchCV with n_jobs 1 and 2
# --------------------------------------------------------------------------
def bench_grid(cfg, report):
    from sklearn.model_selection import GridSearchCV

    X, y = _digits32()
    print(f"\n[grid] GridSearchCV on digits, 4 settings x 3 folds, "
          f"{cfg.grid_epochs} epochs per fit, n_jobs 1 and 2", flush=True)
    searches = {
        "a hashed (compression 1/8 to 1/64)": (
            HashedMLPClassifier(max_iter=cfg.grid_epochs, random_state=0),
            {"compression": [1 / 8, 1 / 16, 1 / 32, 1 / 64]}),
        "b sklearn (alpha 1e-5 to 1e-2)": (
            MLPClassifier(max_iter=cfg.grid_epochs, random_state=0),
            {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]}),
    }

    def search(est, grid, n_jobs):
        gs = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs)
        return seconds(lambda: quiet_fit(gs, X, y))[0]

    for est, grid in searches.values():  # start the workers, load the kernels
        search(est, {k: v[:2] for k, v in grid.items()}, 2)
    times = {}
    for _ in range(cfg.repeats):
        for name, (est, grid) in searches.items():
            for n_jobs in (1, 2):
                t = search(est, grid, n_jobs)
                times.setdefault((name, n_jobs), []).append(t)
                print(f"  {name}, n_jobs={n_jobs}: {t:.2f} s", flush=True)
    rows, checks = [], []
    for name in searches:
        one, two = median(times[(name, 1)]), median(times[(name, 2)])
        rows.append([name, f"{one:.2f}", f"{two:.2f}", f"{two / one:.2f}"])
        if name.startswith("a"):
            checks.append(["GridSearchCV n_jobs=2 / n_jobs=1", "<= 0.6",
                           f"{two / one:.2f}", "yes" if two / one <= 0.6 else "NO"])
    table = md_table(["search", "n_jobs=1 (s)", "n_jobs=2 (s)", "ratio"], rows)
    print(table, flush=True)
    report["grid"] = {"table": table, "checks": checks}


# --------------------------------------------------------------------------
# e: predict
# --------------------------------------------------------------------------
def traced_peak(fn):
    """Peak bytes allocated through the traced allocators while fn runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def array_bytes(obj, seen=None):
    """Bytes of all NumPy arrays reachable from obj's attributes, lists and dicts."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None else 0
    if isinstance(obj, dict):
        return sum(array_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(array_bytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__"):
        return array_bytes(vars(obj), seen)
    return 0


def bench_predict(cfg, report):
    X, y, data_note = load_workload(max(cfg.predict_rows, 2000))
    X_fit, y_fit = X[:2000], y[:2000]
    X_pred = np.ascontiguousarray(X[:cfg.predict_rows])
    hidden = (cfg.hidden,)
    print(f"\n[predict] {X_pred.shape[0]} rows, {data_note}", flush=True)
    models = {f"a hashed {name}": quiet_fit(HashedMLPClassifier(
        hidden_layer_sizes=hidden, compression=comp, max_iter=1, random_state=0),
        X_fit, y_fit) for name, comp in COMPRESSIONS.items()}
    models["b sklearn"] = quiet_fit(MLPClassifier(
        hidden_layer_sizes=hidden, solver="sgd", max_iter=1, random_state=0),
        X_fit, y_fit)
    for m in models.values():
        m.predict(X_pred[:100])  # warm up
    # the first layer's product alone, the GEMM both kinds of model run
    V = models["a hashed 1/8"].coefs_[0]
    times = {k: [] for k in models}
    product = []
    for _ in range(cfg.predict_repeats):
        for k, m in models.items():
            times[k].append(seconds(lambda m=m: m.predict(X_pred))[0])
        product.append(seconds(lambda: X_pred @ V)[0])
    peaks = {k: traced_peak(lambda m=m: m.predict(X_pred)) for k, m in models.items()}
    b = median(times["b sklearn"])
    n_in = X.shape[1]
    v_mib = n_in * cfg.hidden * 4 / 2**20
    act_mib = X_pred.shape[0] * cfg.hidden * 4 / 2**20
    rows = []
    for k, m in models.items():
        t = median(times[k])
        params = getattr(m, "buckets_", getattr(m, "coefs_", None))
        param_mib = sum(p.nbytes for p in params + m.intercepts_) / 2**20
        rows.append([k, f"{t * 1e3:.1f}", f"{t / b:.2f}", f"{peaks[k] / 2**20:.1f}",
                     f"{param_mib:.2f}", f"{array_bytes(m) / 2**20:.2f}",
                     f"{len(pickle.dumps(m)) / 2**20:.2f}"])
        print(f"  {k}: {t * 1e3:.1f} ms, peak {peaks[k] / 2**20:.1f} MiB", flush=True)
    table = md_table(["model", "predict (ms)", "ratio to b", "peak traced memory (MiB)",
                      "weights and biases (MiB)", "all arrays held (MiB)",
                      "pickle (MiB)"], rows)
    worst = max(median(times[k]) / b for k in models if k.startswith("a"))
    report["predict"] = {
        "table": table,
        "note": (f"The first layer's product alone (`X @ V`, {X_pred.shape[0]} "
                 f"x {n_in} times {n_in} x {cfg.hidden} float32, the product "
                 "both kinds of model compute) takes "
                 f"{median(product) * 1e3:.1f} ms, {median(product) / b:.2f}x "
                 "scikit-learn's whole `predict`. "
                 f"For scale: the first layer's virtual matrix is {n_in} x "
                 f"{cfg.hidden} float32 = {v_mib:.1f} MiB, and its activations "
                 f"for {X_pred.shape[0]} rows are {act_mib:.1f} MiB."),
        "checks": [["predict a/b", "<= 0.8", f"{worst:.2f}",
                    "yes" if worst <= 0.8 else "NO"]],
    }


# --------------------------------------------------------------------------
# f: compile cost
# --------------------------------------------------------------------------
FIRST_FIT = """\
import time
tic = time.perf_counter()
import warnings
from sklearn.datasets import load_digits
from sk_hashednets import HashedMLPClassifier
imported = time.perf_counter()
X, y = load_digits(return_X_y=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    HashedMLPClassifier(random_state=0).fit(X / 16, y)
print(imported - tic, time.perf_counter() - imported)
"""


ONE_KERNEL = """\
import numpy as np
from sk_hashednets import _kernels
_kernels.step_seed(np.uint32(0), 0, 0)
"""


def _digits_fit():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        HashedMLPClassifier(random_state=0).fit(X / 16, y)


def _run_child(code, env):
    tic = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - tic, out


def bench_compile(cfg, report):
    print("\n[compile] fresh processes", flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    base, cold, warm, fixed = [], [], [], []
    cold_parts, warm_parts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        warm_env = dict(env, NUMBA_CACHE_DIR=str(Path(tmp) / "warm"))
        _run_child(FIRST_FIT, warm_env)  # fill the warm cache
        for rep in range(cfg.compile_repeats):
            base.append(_run_child("import sklearn", env)[0])
            cold_env = dict(env, NUMBA_CACHE_DIR=str(Path(tmp) / f"cold{rep}"))
            t, out = _run_child(FIRST_FIT, cold_env)
            cold.append(t)
            cold_parts.append([float(v) for v in out.split()])
            t, out = _run_child(FIRST_FIT, warm_env)
            warm.append(t)
            warm_parts.append([float(v) for v in out.split()])
            fixed.append(_run_child(ONE_KERNEL, warm_env)[0])
            print(f"  repeat {rep + 1}: import sklearn {base[-1]:.2f} s, cold "
                  f"{cold[-1]:.2f} s, warm {warm[-1]:.2f} s", flush=True)
    _digits_fit()  # compiled in this process: what the fit costs by itself
    compiled = median([seconds(_digits_fit)[0] for _ in range(cfg.compile_repeats)])
    b = median(base)
    rows = [["`import sklearn` alone", f"{b:.2f}", "", "", ""]]
    for name, ts, parts in (("empty cache (cold)", cold, cold_parts),
                            ("warm cache", warm, warm_parts)):
        p = np.median(np.array(parts), axis=0)
        rows.append([name, f"{median(ts):.2f}", f"{median(ts) - b:.2f}",
                     f"{p[0]:.2f}", f"{p[1]:.2f}"])
    rows.append(["`import sk_hashednets` and one cached kernel call (no fit)",
                 f"{median(fixed):.2f}", f"{median(fixed) - b:.2f}", "", ""])
    table = md_table(["process", "wall (s)", "beyond import sklearn (s)",
                      "imports, in the child (s)", "first fit, in the child (s)"],
                     rows)
    table += (f"\n\nThe same fit in a process where everything is already "
              f"compiled takes {compiled:.2f} s: that much of the first fit is "
              "training, not compilation. The last row is what any first fit "
              "pays before it trains: importing Numba, initialising it on the "
              "first call of a jitted function, loading one kernel from the "
              f"cache, and Numba's share of the interpreter's exit; "
              f"{median(fixed) - b:.2f} s plus {compiled:.2f} s of training is "
              f"{median(fixed) - b + compiled:.2f} s.")
    report["compile"] = {
        "table": table,
        "checks": [
            ["warm: beyond import sklearn", "<= 1 s", f"{median(warm) - b:.2f} s",
             "yes" if median(warm) - b <= 1 else "NO"],
            ["cold: beyond import sklearn", "<= 5 s", f"{median(cold) - b:.2f} s",
             "yes" if median(cold) - b <= 5 else "NO"],
        ],
    }


# --------------------------------------------------------------------------
# threads: the kernels, serial against 2 threads
# --------------------------------------------------------------------------
def bench_threads(cfg, report):
    import numba
    import threaded_kernels as tk

    from sk_hashednets import _kernels

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
    report["threads"] = {"table": table, "layer": numba.threading_layer(),
                         "epochs": epoch_table, "floor": floor_table,
                         "summary": summary}


def _serial_scatter(G, codes, table, out):
    """The package's serial scatter in one call: zero, add every row, fold."""
    from sk_hashednets import _kernels

    table[:] = 0
    _kernels.scatter_rows(G, codes, table)
    _kernels.signed_fold(table, out)


def _streaming_floor(cfg):
    """The serial gather and scatter of a 784 x hidden layer at 1/8 against
    the same kernels with 500 buckets, whose signed table (4 KiB) stays in L1:
    what is left then is streaming the codes and V (or dL/dV) through memory,
    the least any kernel reading one code per virtual weight can cost."""
    from sk_hashednets import _kernels

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


# --------------------------------------------------------------------------
# scale and memory
# --------------------------------------------------------------------------
def _peak_rss(args):
    out = subprocess.run([sys.executable, str(HERE / "peak_rss.py"), *args],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_scale(cfg, report):
    print("\n[scale] one epoch, 1/64, batch 128, each in a fresh process", flush=True)
    _peak_rss(["--samples", "256", "--hidden", str(cfg.hidden)])  # fill the cache
    rows_n, rows_h = [], []
    for n in cfg.scale_samples:
        r = _peak_rss(["--samples", str(n), "--hidden", str(cfg.hidden),
                       "--batch-size", "128"])
        rows_n.append([n, f"{r['fit_seconds']:.2f}",
                       f"{r['fit_seconds'] / n * 1e6:.1f}", f"{r['peak_rss_mib']:.0f}"])
        print(f"  {n} samples: {r['fit_seconds']:.2f} s", flush=True)
    for h in cfg.scale_hidden:
        r = _peak_rss(["--samples", str(cfg.scale_rows), "--hidden", str(h),
                       "--batch-size", "128"])
        virt = 784 * h + h * 10
        rows_h.append([h, f"{virt:,}", f"{r['fit_seconds']:.2f}",
                       f"{r['fit_seconds'] / (cfg.scale_rows * virt) * 1e9:.2f}",
                       f"{r['peak_rss_mib']:.0f}"])
        print(f"  hidden {h}: {r['fit_seconds']:.2f} s", flush=True)
    report["scale"] = {
        "samples": md_table(["samples", "epoch (s)", "us per sample", "peak RSS (MiB)"],
                            rows_n),
        "hidden": md_table(["hidden units", "virtual weights", "epoch (s)",
                            "ns per sample per virtual weight", "peak RSS (MiB)"],
                           rows_h),
        "rows": cfg.scale_rows,
        "hidden_fixed": cfg.hidden,
    }


def bench_memory(cfg, report):
    args = ["--samples", str(cfg.memory_samples), "--hidden", str(cfg.memory_hidden),
            "--compression", "1/64", "--batch-size", "128"]
    print(f"\n[memory] python benchmarks/peak_rss.py {' '.join(args)}", flush=True)
    # fill the Numba cache for these kernels first: compilation is a one-time
    # cost (see the compile part), not what training needs
    _peak_rss(["--samples", "256", *args[2:]])
    r = _peak_rss(args)
    print(f"  peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
    gib = r["peak_rss_mib"] / 1024
    report["memory"] = {
        "command": "python benchmarks/peak_rss.py " + " ".join(args),
        "result": r,
        "checks": [[f"784-{cfg.memory_hidden}-10 at 1/64, one epoch on "
                    f"{cfg.memory_samples} rows: peak RSS", "< 1 GiB",
                    f"{gib:.2f} GiB", "yes" if gib < 1 else "NO"]],
    }


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def write_results(cfg, report, info, command, path):
    out = ["# Benchmark results", "",
           "Written by `benchmarks/bench.py`; regenerate with:", "",
           f"    {command}", "",
           "## Machine", ""]
    for k, v in info.items():
        if isinstance(v, list):
            v = "; ".join(v) or "none found"
        out.append(f"- {k}: {v}")
    out.append(f"- run finished: {time.strftime('%Y-%m-%d %H:%M:%S')}, "
               f"{report['elapsed']:.0f} s in all")
    checks = [c for part in report.values() if isinstance(part, dict)
              for c in part.get("checks", [])]
    if checks:
        out += ["", "## Targets", "", md_table(["what", "target", "measured", "holds"],
                                             checks)]
    if cfg.busy_note:
        out += ["", cfg.busy_note]
    if "steps" in report:
        r = report["steps"]
        out += ["", "## Where a training step's time goes", "",
                f"One epoch of 784-{cfg.hidden}-10 at 1/8 on {cfg.step_samples} "
                f"rows ({r['data']}), milliseconds per step, median of "
                f"{cfg.repeats}. Hashed: `HashedMLPClassifier(solver=\"sgd\", "
                "learning_rate_init=0.01)` on the package's thread policy (one "
                "BLAS thread; a product of 2**24 multiply-adds or more split in "
                "halves, the second on a helper thread), with its kernels and "
                "products timed through wrappers (products: the wall time of "
                "both halves; hashed blocks: the same with "
                "`method=\"hashing_blocks\"`, whose gather is `block_table` "
                "plus `block_gather`); floor: the NumPy dense MLP of "
                "`benchmarks/peers.py` with its sections timed, on BLAS's "
                "threads and on one. Gather is "
                "`signed_table` plus `gather` (buckets to V), scatter is dL/dV to "
                "bucket gradients; optimizer includes the gradient clipping and "
                "(floor) the L2 term; other is the rest of the step (batch "
                "copies, bias gradients, Python).", "", r["table"]]
    if "busy" in report:
        out += ["", "## Beside two CPU-bound processes", "",
                f"A digits fit (X / 16 as float32, 1000 hidden units, "
                f"{cfg.busy_epochs} epochs, default solver) without and with two "
                "helper processes running `while True: pass`, median of "
                f"{cfg.repeats}; the background load above ran throughout.", "",
                report["busy"]["table"]]
    if "grid" in report:
        out += ["", "## GridSearchCV, n_jobs 1 and 2", "",
                f"Digits (X / 16 as float32), 4 settings x 3 folds, "
                f"`max_iter={cfg.grid_epochs}`, median of {cfg.repeats}, after a "
                "warm-up search that starts joblib's workers.", "",
                report["grid"]["table"]]
    if "train" in report:
        r = report["train"]
        out += ["", "## Training: one epoch", "",
                f"784-{cfg.hidden}-10 ReLU network on {cfg.samples} x 784 float32 "
                f"rows: {r['data']}. Softmax cross-entropy, learning rate 0.01, "
                "Nesterov momentum 0.9, L2 1e-4. Seconds are the median of "
                f"{cfg.repeats} repeats run in turn on the same data; each ratio "
                "is a ratio of medians. b and c are dense, so they do not depend "
                "on the compression. All four get the same float32 array. The "
                "last two columns are for reference: scikit-learn trains in "
                "float64 whenever its input is not float32 (for instance raw "
                "uint8 pixels or a float64 array), and that is much slower.", "",
                "a: `HashedMLPClassifier(max_iter=1)`; b: scikit-learn "
                "`MLPClassifier(solver=\"sgd\", max_iter=1)`; c: plain NumPy float32 "
                "dense MLP (the GEMM floor, `benchmarks/peers.py`); d: PyTorch "
                "hashed layers gathering int64 index and float sign buffers into a "
                "dense weight every step, autograd, `torch.optim.SGD` "
                "(`benchmarks/peers.py`, `torch.set_num_threads(2)`); e: a with "
                "`method=\"hashing_blocks\"`.", "",
                r["table"], "",
                "c is the floor at its faster BLAS setting, measured both ways: "
                + ", ".join(f"batch {bs}: {t}" for bs, t in
                            r["floor_threads"].items()) + ".", "",
                "Training loss after the epoch (a sanity check that every "
                "implementation learns; b and c train the dense network):", "",
                r["loss_table"]]
    if "predict" in report:
        r = report["predict"]
        out += ["", "## Predict", "",
                f"`predict` on {cfg.predict_rows} rows with a 784-{cfg.hidden}-10 "
                f"model, median of {cfg.predict_repeats} calls; peak memory is "
                "what `tracemalloc` traces during one call (NumPy reports its "
                "buffers to it). The hashed model builds one layer's virtual "
                "matrix at a time by hashing on the fly: no index array. The "
                "last columns are what a fitted model holds: its weights (buckets "
                "for the hashed models) and biases, every array it references "
                "(the optimizer's velocities, which have the size of the "
                "weights, are dropped when `fit` returns and kept only after "
                "`partial_fit`), and its pickle.", "",
                r["table"], "", r["note"]]
    if "compile" in report:
        out += ["", "## Numba compile cost", "",
                "Each row is a fresh `python -c` process: `import sklearn` alone, "
                "or importing sk_hashednets and fitting `HashedMLPClassifier("
                "random_state=0)` on digits (X / 16), with `NUMBA_CACHE_DIR` set "
                "to an empty folder (cold) or to one filled by an earlier run "
                f"(warm); median of {cfg.compile_repeats}. The last columns "
                "split the child's time as it measures it (the rest is the "
                "interpreter's start and exit).", "", report["compile"]["table"]]
    if "threads" in report:
        out += ["", "## Gather and scatter, 1 against 2 threads", "",
                f"The training kernels on a 784 x {cfg.hidden} float32 layer, "
                f"median of {cfg.kernel_repeats} calls each: the package's serial "
                "`gather` and `scatter` against the deterministic 2-thread "
                "variants of `benchmarks/threaded_kernels.py` (fixed row chunks, "
                "one scatter buffer per chunk, added in chunk order), run with "
                "`numba.set_num_threads(1)` and `(2)`, Numba threading layer "
                f"`{report['threads']['layer']}`.", "",
                report["threads"]["table"], "",
                f"One epoch of 784-1000-10 at 1/8 on {cfg.thread_samples} random "
                "rows with each kind of kernel, each in a fresh process "
                "(`python benchmarks/threaded_kernels.py --kernels serial|chunked`), "
                f"median of {cfg.repeats}:", "",
                report["threads"]["epochs"], "",
                "The same serial kernels with 500 buckets instead of 1/8 of the "
                "layer: the codes and V stream through memory as before, but "
                "the signed table (4 KiB) stays in L1. The ratio bounds what any "
                "faster way of reaching the buckets could gain while one code "
                "per virtual weight is read:", "",
                report["threads"]["floor"], "",
                report["threads"]["summary"] + " The package keeps serial "
                "kernels: even alone, 2 threads make the gather and scatter "
                "less than twice as fast (they are bound by memory, as the "
                "table above shows), the epoch gains little, OpenMP workers "
                "that spin between BLAS products compete with whatever else "
                "runs on a shared machine, and serial kernels are bit-identical "
                "for any thread count, safe to call from many Python threads at "
                "once whatever Numba threading layer is installed (its "
                "`workqueue` layer is not thread-safe), and safe in forked "
                "processes (GNU OpenMP is not fork-safe)."]
    if "scale" in report:
        r = report["scale"]
        out += ["", "## Scale", "",
                "One epoch of `HashedMLPClassifier`, compression 1/64, batch 128, "
                "random float32 data, each run in a fresh process "
                "(`benchmarks/peak_rss.py`; the kernels are loaded by a fit on "
                "256 rows first). The peak RSS includes the data and the "
                "interpreter with NumPy, SciPy, scikit-learn and Numba (about "
                "200 MiB).", "",
                f"Against the number of samples (784-{r['hidden_fixed']}-10):", "",
                r["samples"], "",
                f"Against the hidden width ({r['rows']} samples):", "", r["hidden"]]
    if "memory" in report:
        r = report["memory"]
        res = r["result"]
        out += ["", "## Memory at scale", "",
                f"    {r['command']}", "",
                f"784-{cfg.memory_hidden}-10 at 1/64 ({res['stored_params']:,} stored "
                f"of {res['virtual_params']:,} virtual parameters), one epoch on "
                f"{res['samples']} rows of random float32 ({res['data_mib']:.0f} MiB): "
                f"peak RSS {res['peak_rss_mib']:.0f} MiB "
                f"({res['peak_rss_before_fit_mib']:.0f} MiB before the fit, with "
                f"the data loaded), {res['fit_seconds']:.1f} s. The peak is "
                "VmHWM, the process's high-water mark, measured in a fresh "
                "process after a run on 256 rows has filled the Numba cache."]
        h = cfg.memory_hidden
        codes = np.dtype(_code_dtype(2 * round(784 * h / 64)))
        out += ["", f"The fit adds, for the 784 x {h} layer, its index cache "
                f"({codes.name} codes, {784 * h * codes.itemsize / 2**20:.0f} MiB) "
                f"and its virtual-matrix buffer (float32, {784 * h * 4 / 2**20:.0f} "
                "MiB), batch-sized activations, and OpenBLAS's work buffers."]
    Path(path).write_text("\n".join(out) + "\n")
    print(f"\nwrote {path}")


def parse_args(argv):
    p = argparse.ArgumentParser(description="Speed and memory of sk_hashednets "
                                "against scikit-learn, NumPy and PyTorch.")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
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
    report = {}
    tic = time.perf_counter()
    for part in PARTS:
        if part in cfg.parts:
            globals()[f"bench_{part}"](cfg, report)
            report["elapsed"] = time.perf_counter() - tic
            if cfg.output:  # a long run keeps what it has measured so far
                write_results(cfg, report, info, command, cfg.output)
    checks = [c for part in report.values() if isinstance(part, dict)
              for c in part.get("checks", [])]
    if checks:
        print("\n" + md_table(["what", "target", "measured", "holds"], checks))
    if cfg.output:
        write_results(cfg, report, info, command, cfg.output)


if __name__ == "__main__":
    main()
