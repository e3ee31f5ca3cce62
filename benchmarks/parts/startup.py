"""startup: what a user pays before the first useful work, side by side with
scikit-learn's MLP in one run.

* a fresh process: import and the first fit on digits (Numba's kernels cached),
  against ``MLPClassifier`` doing the same in its own fresh process;
* ``GridSearchCV`` with n_jobs 1 and 2, each search in a fresh process, so
  that n_jobs=2 starts a fresh loky pool whose workers pay the import and
  Numba's start again (4 settings x 3 folds, 1000 hidden units, SGD);
* one row: ``predict_proba`` of the hashed model, of its ``to_sklearn()``
  conversion and of scikit-learn's own MLP of the same shape;
* ``predict`` on 10,000 rows, hashed against scikit-learn's.

Fresh processes alternate between the two libraries and each figure is a
median; the load average is recorded beside each measurement.
"""

import os
import resource
import subprocess
import sys
import time
from contextlib import nullcontext

import numpy as np
from common import ROOT, load_workload, md_table, median, quiet_fit
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sk_hashednets import HashedMLPClassifier

FIRST_FIT = """\
import time
tic = time.perf_counter()
import warnings
from sklearn.datasets import load_digits
from {module} import {cls}
imported = time.perf_counter()
X, y = load_digits(return_X_y=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    {cls}(random_state=0).fit(X / 16, y)
print(imported - tic, time.perf_counter() - imported, time.time())
"""

GRID = """\
import time
import warnings
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from {module} import {cls}
X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
est = {cls}(hidden_layer_sizes=(1000,), solver="sgd", max_iter={epochs},
            random_state=0)
search = GridSearchCV(est, {grid}, cv=3, n_jobs={n_jobs})
tic = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    search.fit(X, y)
print(time.perf_counter() - tic)
"""

LIBRARIES = {
    "a hashed": ("sk_hashednets", "HashedMLPClassifier",
                 {"compression": [1 / 8, 1 / 16, 1 / 32, 1 / 64]}),
    "b sklearn": ("sklearn.neural_network", "MLPClassifier",
                  {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]}),
}


def load():
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


#: the child's BLAS threads: as found, or one (what a busy machine wants and
#: joblib's workers get; scikit-learn's two OpenBLAS threads spin on a busy one)
BLAS = {"BLAS as found": {},
        "one BLAS thread": {k: "1" for k in ("OPENBLAS_NUM_THREADS",
                                             "MKL_NUM_THREADS", "OMP_NUM_THREADS")}}


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child(code, blas=None):
    """``(wall seconds, printed numbers, CPU seconds)`` of a fresh interpreter
    running code, this checkout first on its path (and on its loky
    workers')."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", **(blas or {}))
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cpu, tic = children_cpu(), time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return (time.perf_counter() - tic, [float(v) for v in out.split()],
            children_cpu() - cpu, time.time())


def first_fit(repeats):
    child(FIRST_FIT.format(module="sk_hashednets", cls="HashedMLPClassifier"))
    walls, parts, loads = {}, {}, []
    for rep in range(repeats):
        loads.append(load())
        for blas, env in BLAS.items():
            for name, (module, cls, _) in LIBRARIES.items():
                wall, (imports, fit, last), cpu, end = child(
                    FIRST_FIT.format(module=module, cls=cls), env)
                walls.setdefault((blas, name), []).append(wall)
                parts.setdefault((blas, name), []).append(
                    [imports, fit, end - last, cpu])
            print(f"  first fit {rep + 1}, {blas}: hashed "
                  f"{walls[(blas, 'a hashed')][-1]:.2f} s, sklearn "
                  f"{walls[(blas, 'b sklearn')][-1]:.2f} s (load {loads[-1]})",
                  flush=True)
    rows, extra = [], {}
    for blas in BLAS:
        for name in LIBRARIES:
            imports, fit, end, cpu = np.median(np.array(parts[(blas, name)]), axis=0)
            rows.append([f"{name}, {blas}", f"{median(walls[(blas, name)]):.2f}",
                         f"{imports:.2f}", f"{fit:.2f}", f"{end:.2f}", f"{cpu:.2f}",
                         " ".join(f"{w:.2f}" for w in walls[(blas, name)])])
        extra[blas] = (median(walls[(blas, "a hashed")])
                       - median(walls[(blas, "b sklearn")]))
    return {"rows": rows, "extra": extra, "loads": loads}


#: The searches run on one BLAS thread: the hashed fits train on one anyway
#: (the package's thread policy, and joblib gives each of two workers one),
#: while scikit-learn's n_jobs=1 search on two spinning OpenBLAS threads took
#: several times longer on a busy machine than on one.
GRID_BLAS = "one BLAS thread"


def grid(repeats, epochs):
    times, loads = {}, []
    for rep in range(repeats):
        loads.append(load())
        for name, (module, cls, params) in LIBRARIES.items():
            for n_jobs in (1, 2):
                code = GRID.format(module=module, cls=cls, epochs=epochs,
                                   grid=params, n_jobs=n_jobs)
                t = child(code, BLAS[GRID_BLAS])[1][0]
                times.setdefault((name, n_jobs), []).append(t)
                print(f"  grid {rep + 1}: {name}, n_jobs={n_jobs}: {t:.2f} s "
                      f"(load {loads[-1]})", flush=True)
    rows, ratios = [], {}
    for name in LIBRARIES:
        one, two = median(times[(name, 1)]), median(times[(name, 2)])
        ratios[name] = two / one
        rows.append([name, f"{one:.2f}", f"{two:.2f}", f"{two / one:.2f}",
                     " ".join(f"{t:.2f}" for t in times[(name, 2)])])
    return {"rows": rows, "ratios": ratios, "loads": loads}


def interleaved(fns, calls):
    """Seconds of each of ``calls`` calls of every fn, the fns taking turns
    call by call (so that a change of load reaches all of them alike)."""
    times = {k: [] for k in fns}
    for _ in range(calls):
        for k, fn in fns.items():
            tic = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - tic)
    return times


def serving(cfg):
    rows_pred = 10000 if not cfg.quick else 1000
    X, y, note = load_workload(max(rows_pred, 2000))
    X_fit, y_fit, X_pred = X[:2000], y[:2000], np.ascontiguousarray(X[:rows_pred])
    hashed = quiet_fit(HashedMLPClassifier(
        (1000,), compression=1 / 8, solver="sgd", max_iter=1, random_state=0),
        X_fit, y_fit)
    own = quiet_fit(MLPClassifier((1000,), solver="sgd", max_iter=1,
                                  random_state=0), X_fit, y_fit)
    models = {"a hashed 1/8": hashed, "c to_sklearn() of a": hashed.to_sklearn(),
              "b sklearn": own}
    row = X_pred[:1]
    calls = (1000, 5 * cfg.repeats) if not cfg.quick else (50, 2)
    loads = [load()]
    for m in models.values():
        m.predict_proba(row)  # warm
    rows, ratios = [], {}
    for blas in BLAS:
        with threadpool_limits(1, user_api="blas") if BLAS[blas] else nullcontext():
            one = interleaved({k: (lambda m=m: m.predict_proba(row))
                               for k, m in models.items()}, calls[0])
            many = interleaved({k: (lambda m=m: m.predict(X_pred))
                                for k, m in models.items()}, calls[1])
        b_one, b_many = median(one["b sklearn"]), median(many["b sklearn"])
        for k, m in models.items():
            held = sum(a.nbytes for a in getattr(m, "buckets_", m.coefs_))
            rows.append([f"{k}, {blas}", f"{median(one[k]) * 1e6:.0f}",
                         f"{median(one[k]) / b_one:.2f}",
                         f"{median(many[k]) * 1e3:.1f}",
                         f"{median(many[k]) / b_many:.2f}", f"{held / 2**20:.2f}"])
        ratios[blas] = (median(one["c to_sklearn() of a"]) / b_one,
                        median(many["a hashed 1/8"]) / b_many)
    loads.append(load())
    diff = np.abs(models["c to_sklearn() of a"].predict_proba(X_pred)
                  - hashed.predict_proba(X_pred)).max()
    same_labels = bool((models["c to_sklearn() of a"].predict(X_pred)
                        == hashed.predict(X_pred)).all())
    return {"rows": rows, "note": note, "n_pred": rows_pred, "loads": loads,
            "calls": calls, "ratios": ratios, "diff": float(diff),
            "same_labels": same_labels}


def run(cfg):
    repeats = 2 * cfg.repeats + 1 if not cfg.quick else 1
    epochs = 50 if not cfg.quick else 3
    print(f"\n[startup] fresh processes ({repeats} each), GridSearchCV in fresh "
          f"processes ({cfg.repeats} each, {epochs} epochs), one row and "
          "10,000 rows", flush=True)
    result = {"first_fit": first_fit(repeats), "grid": grid(cfg.repeats, epochs),
              "serving": serving(cfg), "repeats": repeats, "epochs": epochs}
    ratio = result["grid"]["ratios"]["a hashed"]
    s = result["serving"]
    result["checks"] = [
        [f"fresh process, import + first fit, beyond scikit-learn's MLP ({blas})",
         "<= 0.4 s", f"{extra:.2f} s", "yes" if extra <= 0.4 else "NO"]
        for blas, extra in result["first_fit"]["extra"].items()] + [
        ["GridSearchCV n_jobs=2 / n_jobs=1, fresh loky pool", "<= 0.75",
         f"{ratio:.2f}", "yes" if ratio <= 0.75 else "NO"],
        ["to_sklearn() predict_proba, max abs difference", "<= 1e-5",
         f"{s['diff']:.1e}", "yes" if s["diff"] <= 1e-5 and s["same_labels"]
         else "NO"],
    ]
    for blas, (one, many) in s["ratios"].items():
        result["checks"] += [
            [f"one row predict_proba, to_sklearn() / scikit-learn's own ({blas})",
             "<= 1.1", f"{one:.2f}", "yes" if one <= 1.1 else "NO"],
            [f"predict on {s['n_pred']:,} rows / scikit-learn's ({blas})", "<= 1.0",
             f"{many:.2f}", "yes" if many <= 1.0 else "NO"]]
    for line in section(cfg, result):
        print(line)
    return result


def section(cfg, result):
    ff, gr, s = result["first_fit"], result["grid"], result["serving"]
    return [
        "## Start-up, one row and a fresh worker pool", "",
        "Each row of the first table is a fresh `python -c` process that "
        "imports the library and fits `HashedMLPClassifier(random_state=0)` or "
        "`MLPClassifier(random_state=0)` on digits (X / 16) once, Numba's "
        "kernels already cached; the two alternate, "
        f"{result['repeats']} processes each, with BLAS's threads as found and "
        "with one (load average before each round: "
        f"{', '.join(ff['loads'])}). Wall is the whole process, start and "
        "exit included; the next columns are the child's imports and first "
        "fit as it times them, the time from its last line to its end (the "
        "interpreter's exit: atexit, its final garbage collections, freeing "
        "the modules), then the CPU time it used (all its threads).", "",
        md_table(["process", "wall, median (s)", "imports (s)", "first fit (s)",
                  "exit (s)", "CPU, user + system (s)", "walls (s)"], ff["rows"]), "",
        "The hashed process takes " + " and ".join(
            f"{extra:.2f} s ({blas})" for blas, extra in ff["extra"].items())
        + " beyond scikit-learn's.", "",
        "`GridSearchCV(cv=3)` on digits (X / 16 as float32) over 4 settings "
        "(`compression` 1/8 to 1/64 for the hashed net, `alpha` 1e-5 to 1e-2 "
        "for scikit-learn's), 1000 hidden units, `solver=\"sgd\"`, "
        f"`max_iter={result['epochs']}`. Each search runs in a fresh process "
        "(imports done, the clock starts at `fit`), so n_jobs=2 starts a fresh "
        "loky pool whose two workers import everything and start Numba again, "
        f"with {GRID_BLAS} (`OPENBLAS_NUM_THREADS=1`; joblib gives its workers "
        "one anyway), and the best setting is refitted in the parent process; "
        f"median of {len(gr['loads'])} (load average before each round: "
        f"{', '.join(gr['loads'])}).", "",
        md_table(["search", "n_jobs=1 (s)", "n_jobs=2 (s)", "ratio",
                  "n_jobs=2 runs (s)"], gr["rows"]), "",
        "Serving: 784-1000-10 models fitted on the first 2,000 rows of "
        f"{s['note']} (float32, one epoch); the median of {s['calls'][0]} "
        "calls of `predict_proba` on one float32 row and of "
        f"{s['calls'][1]} calls of `predict` on {s['n_pred']:,} rows, the three "
        "models taking turns call by call, with BLAS's threads as found and "
        "inside `threadpool_limits(1)` (load average before and after: "
        f"{', '.join(s['loads'])}). The last column is what each model holds "
        "for its weights: buckets, or the dense V.", "",
        md_table(["model", "one row (us)", "ratio to b", f"{s['n_pred']:,} rows "
                  "(ms)", "ratio to b", "weights held (MiB)"], s["rows"]), "",
        f"The conversion's probabilities differ from the hashed model's by at "
        f"most {s['diff']:.1e} on the {s['n_pred']:,} rows, and its labels are "
        f"{'the same' if s['same_labels'] else 'NOT the same'}.",
    ]
