"""compile: import plus the first fit on digits in a fresh process, with an
empty Numba cache (a new ``NUMBA_CACHE_DIR``) and with a warm one, against
``import sklearn`` alone."""

import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from common import ROOT, md_table, median, seconds

from parts import startup
from sk_hashednets import HashedMLPClassifier

# the child of the startup part, as the package's own classifier
FIRST_FIT = startup.FIRST_FIT.format(module="sk_hashednets", cls="HashedMLPClassifier")


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


def run(cfg):
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
    return {
        "table": table,
        "checks": [
            ["warm: beyond import sklearn", "<= 1 s", f"{median(warm) - b:.2f} s",
             "yes" if median(warm) - b <= 1 else "NO"],
            ["cold: beyond import sklearn", "<= 5 s", f"{median(cold) - b:.2f} s",
             "yes" if median(cold) - b <= 5 else "NO"],
        ],
    }


def section(cfg, result):
    return ["## Numba compile cost", "",
            "Each row is a fresh `python -c` process: `import sklearn` alone, "
            "or importing sk_hashednets and fitting `HashedMLPClassifier("
            "random_state=0)` on digits (X / 16), with `NUMBA_CACHE_DIR` set "
            "to an empty folder (cold) or to one filled by an earlier run "
            f"(warm); median of {cfg.compile_repeats}. The last columns "
            "split the child's time as it measures it (the rest is the "
            "interpreter's start and exit).", "", result["table"]]
