"""The experiments' stored results, read back, and the statistics every
section of the report shares: mean ± sd over seeds and the rule by which one
error beats, ties or loses to another."""

import json
from typing import NamedTuple

import numpy as np

from .plan import COMPRESSIONS, METHODS, Run, run_key, seed_runs


class Results(NamedTuple):
    """One experiment's stored runs (``{key: result}``) and settings."""

    runs: dict
    settings: dict

    @property
    def seeds(self):
        return self.settings.get("seeds", [self.settings.get("seed", 0)])

    def over_seeds(self, experiment, **fields):
        """The stored results of one run for each of the seeds."""
        return seed_runs(self.runs, self.seeds, experiment=experiment, **fields)

    def errors(self, experiment, **fields):
        return [r["test_error"] for r in self.over_seeds(experiment, **fields)]


NOTHING = Results({}, {})


def load(out, name):
    path = out / f"{name}.json"
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    if "max_grad_norm" not in stored["settings"]:  # written before the sweep
        print(f"{path}: written by an earlier version of the experiments; "
              "left out of the report", flush=True)
        return None
    return Results(stored["runs"], stored["settings"])


def mean_sd(errors):
    errors = 100 * np.asarray(errors)
    if len(errors) == 1:
        return f"{errors[0]:.2f}"
    return f"{errors.mean():.2f} ± {errors.std(ddof=1):.2f}"


def versus(a, b, n_test=10_000):
    """How test errors ``a`` compare with ``b`` (lists of fractions over seeds,
    or single fractions, on ``n_test`` images).

    A difference of the means counts only beyond two standard errors of the
    difference: the larger of the seeds' spread, ``sqrt(var_a / n_a + var_b /
    n_b)`` (where both have at least two seeds), and the test set's sampling
    error, ``sqrt((e_a (1 - e_a) + e_b (1 - e_b)) / n_test)``.
    """
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    ma, mb = a.mean(), b.mean()
    se = np.sqrt((ma * (1 - ma) + mb * (1 - mb)) / n_test)
    if len(a) > 1 and len(b) > 1:
        se = max(se, np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    if abs(ma - mb) <= 2 * se:
        return "ties"
    return "beats" if ma < mb else "loses to"


def compression_points(runs, stored):
    """(compression, test error) per method: this experiment's runs, and 1/8
    and 1/64 from Table 1's first seed."""
    table1 = stored.get("table1", NOTHING)
    points = {}
    for method in METHODS:
        for c in COMPRESSIONS:
            run = runs.get(run_key(Run("compression", method, c)))
            if run is None:
                first = Run("table1", method, c, "1x1000", table1.seeds[0])
                run = table1.runs.get(run_key(first))
            if run is not None:
                points.setdefault(method, []).append((c, run["test_error"]))
    return points
