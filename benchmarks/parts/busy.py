"""busy: a digits fit beside two CPU-bound processes, against the same fit
without them (and scikit-learn's MLPClassifier likewise)."""

import subprocess
import sys
import time

from common import digits32, md_table, median, quiet_fit, seconds
from sklearn.neural_network import MLPClassifier

from sk_hashednets import HashedMLPClassifier

SPIN = "while True: pass"


def run(cfg):
    X, y = digits32()
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
    return {"table": table, "checks": checks}


def section(cfg, result):
    return ["## Beside two CPU-bound processes", "",
            f"A digits fit (X / 16 as float32, 1000 hidden units, "
            f"{cfg.busy_epochs} epochs, default solver) without and with two "
            "helper processes running `while True: pass`, median of "
            f"{cfg.repeats}; the background load above ran throughout.", "",
            result["table"]]
