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
import subprocess
import sys
import time

import numpy as np
from common import ROOT, load_workload, md_table, median, quiet_fit
from sklearn.neural_network import MLPClassifier

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
print(imported - tic, time.perf_counter() - imported)
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


def child(code):
    """``(wall seconds, printed numbers)`` of a fresh interpreter running code,
    this checkout first on its path (and on its loky workers')."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    tic = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - tic, [float(v) for v in out.split()]


def first_fit(repeats):
    child(FIRST_FIT.format(module="sk_hashednets", cls="HashedMLPClassifier"))
    walls, parts, loads = {}, {}, []
    for rep in range(repeats):
        loads.append(load())
        for name, (module, cls, _) in LIBRARIES.items():
            wall, split = child(FIRST_FIT.format(module=module, cls=cls))
            walls.setdefault(name, []).append(wall)
            parts.setdefault(name, []).append(split)
        print(f"  first fit {rep + 1}: hashed {walls['a hashed'][-1]:.2f} s, "
              f"sklearn {walls['b sklearn'][-1]:.2f} s (load {loads[-1]})",
              flush=True)
    rows = []
    for name in LIBRARIES:
        imports, fit = np.median(np.array(parts[name]), axis=0)
        rows.append([name, f"{median(walls[name]):.2f}", f"{imports:.2f}",
                     f"{fit:.2f}", " ".join(f"{w:.2f}" for w in walls[name])])
    extra = median(walls["a hashed"]) - median(walls["b sklearn"])
    return {"rows": rows, "extra": extra, "loads": loads}


def grid(repeats, epochs):
    times, loads = {}, []
    for rep in range(repeats):
        loads.append(load())
        for name, (module, cls, params) in LIBRARIES.items():
            for n_jobs in (1, 2):
                code = GRID.format(module=module, cls=cls, epochs=epochs,
                                   grid=params, n_jobs=n_jobs)
                t = child(code)[1][0]
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


def per_call(fn, calls, blocks):
    """Median over ``blocks`` of the mean seconds of ``calls`` calls of fn."""
    out = []
    for _ in range(blocks):
        tic = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - tic) / calls)
    return out


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
    calls, blocks = (200, 2 * cfg.repeats + 1) if not cfg.quick else (20, 1)
    one = {k: [] for k in models}
    many = {k: [] for k in models}
    loads = []
    for _ in range(cfg.repeats):  # each model in turn, repeatedly
        loads.append(load())
        for k, m in models.items():
            m.predict_proba(row)  # warm
            one[k] += per_call(lambda m=m: m.predict_proba(row), calls, blocks)
            many[k] += per_call(lambda m=m: m.predict(X_pred), 1, 2)
    diff = np.abs(models["c to_sklearn() of a"].predict_proba(X_pred)
                  - hashed.predict_proba(X_pred)).max()
    same_labels = bool((models["c to_sklearn() of a"].predict(X_pred)
                        == hashed.predict(X_pred)).all())
    b_one, b_many = median(one["b sklearn"]), median(many["b sklearn"])
    rows = []
    for k, m in models.items():
        held = sum(a.nbytes for a in getattr(m, "buckets_", m.coefs_))
        rows.append([k, f"{median(one[k]) * 1e6:.0f}",
                     f"{median(one[k]) / b_one:.2f}",
                     f"{median(many[k]) * 1e3:.1f}",
                     f"{median(many[k]) / b_many:.2f}", f"{held / 2**20:.2f}"])
    return {"rows": rows, "note": note, "n_pred": rows_pred, "loads": loads,
            "diff": float(diff), "same_labels": same_labels,
            "one_ratio": median(one["c to_sklearn() of a"]) / b_one,
            "hashed_one_ratio": median(one["a hashed 1/8"]) / b_one,
            "many_ratio": median(many["a hashed 1/8"]) / b_many}


def run(cfg):
    repeats = 2 * cfg.repeats + 1 if not cfg.quick else 1
    epochs = 50 if not cfg.quick else 3
    print(f"\n[startup] fresh processes ({repeats} each), GridSearchCV in fresh "
          f"processes ({cfg.repeats} each, {epochs} epochs), one row and "
          "10,000 rows", flush=True)
    result = {"first_fit": first_fit(repeats), "grid": grid(cfg.repeats, epochs),
              "serving": serving(cfg), "repeats": repeats, "epochs": epochs}
    extra = result["first_fit"]["extra"]
    ratio = result["grid"]["ratios"]["a hashed"]
    s = result["serving"]
    result["checks"] = [
        ["fresh process, import + first fit, beyond scikit-learn's MLP", "<= 0.4 s",
         f"{extra:.2f} s", "yes" if extra <= 0.4 else "NO"],
        ["GridSearchCV n_jobs=2 / n_jobs=1, fresh loky pool", "<= 0.75",
         f"{ratio:.2f}", "yes" if ratio <= 0.75 else "NO"],
        ["one row predict_proba, to_sklearn() / scikit-learn's own", "<= 1.1",
         f"{s['one_ratio']:.2f}", "yes" if s["one_ratio"] <= 1.1 else "NO"],
        ["to_sklearn() predict_proba, max abs difference", "<= 1e-5",
         f"{s['diff']:.1e}", "yes" if s["diff"] <= 1e-5 and s["same_labels"]
         else "NO"],
        [f"predict on {s['n_pred']:,} rows / scikit-learn's", "<= 1.0",
         f"{s['many_ratio']:.2f}", "yes" if s["many_ratio"] <= 1.0 else "NO"],
    ]
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
        f"{result['repeats']} processes each (load average before each pair: "
        f"{', '.join(ff['loads'])}). Wall is the whole process, start and "
        "exit included; the next columns split the child's own time.", "",
        md_table(["process", "wall, median (s)", "imports (s)", "first fit (s)",
                  "walls (s)"], ff["rows"]), "",
        f"The hashed process takes {ff['extra']:.2f} s beyond scikit-learn's.", "",
        "`GridSearchCV(cv=3)` on digits (X / 16 as float32) over 4 settings "
        "(`compression` 1/8 to 1/64 for the hashed net, `alpha` 1e-5 to 1e-2 "
        "for scikit-learn's), 1000 hidden units, `solver=\"sgd\"`, "
        f"`max_iter={result['epochs']}`. Each search runs in a fresh process "
        "(imports done, the clock starts at `fit`), so n_jobs=2 starts a fresh "
        "loky pool whose two workers import everything and start Numba again; "
        f"median of {len(gr['loads'])} (load average before each round: "
        f"{', '.join(gr['loads'])}).", "",
        md_table(["search", "n_jobs=1 (s)", "n_jobs=2 (s)", "ratio",
                  "n_jobs=2 runs (s)"], gr["rows"]), "",
        f"Serving: 784-1000-10 models fitted on 2,000 rows of {s['note']} "
        "(float32, one epoch); `predict_proba` of one float32 row (the mean "
        "of 200 calls, median over blocks) and `predict` of "
        f"{s['n_pred']:,} rows (median), the three models in turn (load "
        f"average: {', '.join(s['loads'])}). The last column is what each "
        "model holds for its weights: buckets, or the dense V.", "",
        md_table(["model", "one row (us)", "ratio to b", f"{s['n_pred']:,} rows "
                  "(ms)", "ratio to b", "weights held (MiB)"], s["rows"]), "",
        f"The conversion's probabilities differ from the hashed model's by at "
        f"most {s['diff']:.1e} on the {s['n_pred']:,} rows, and its labels are "
        f"{'the same' if s['same_labels'] else 'NOT the same'}.",
    ]
