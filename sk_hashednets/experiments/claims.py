"""What the stored runs say: the paper's claims checked one by one, and per
network and storage budget the method and setting to pick."""

from typing import NamedTuple

import numpy as np

from .. import HashedMLPClassifier
from .plan import (
    ARCHITECTURES,
    COMPRESSIONS,
    DISTILLATION_WEIGHTS,
    EXPANSIONS,
    METHODS,
    NAMES,
    PAPER_METHODS,
    TABLE1_COMPRESSIONS,
    TEMPERATURES,
    Run,
    frac,
    run_key,
)
from .results import NOTHING, compression_points, mean_sd, versus

#: the paper's baselines, each compared with HashedNets in the claims
BASELINES = tuple(m for m in METHODS if m not in ("hashing", "hashing_blocks"))


def claims_section(stored, n_test=10_000):
    """The paper's claims, checked one by one against the stored runs."""
    lines = ["## The paper's claims, checked\n",
             "Computed from the runs above. A difference of mean test errors "
             "counts only beyond two standard errors of the difference: the "
             "larger of the seeds' spread, `sqrt(var_a / n_a + var_b / n_b)`, and "
             "the test set's sampling error, `sqrt((e_a (1 - e_a) + e_b (1 - e_b)) "
             f"/ {n_test})`. Otherwise the two tie.\n"]
    table1 = stored.get("table1", NOTHING)
    rows, notes = [], []

    def errors(method, c, arch):
        return table1.errors("table1", method=method, compression=c, arch=arch)

    for arch in ARCHITECTURES:
        for c in TABLE1_COMPRESSIONS:
            hashed = errors("hashing", c, arch)
            if not hashed:
                continue
            cells = []
            for m in BASELINES:
                other = errors(m, c, arch)
                cells.append("–" if not other else
                             f"{versus(hashed, other, n_test)} "
                             f"({100 * np.mean(other):.2f})")
            rows.append(f"| {arch} | {frac(c)} | {100 * np.mean(hashed):.2f} | "
                        + " | ".join(cells) + " |")
            blocks = errors("hashing_blocks", c, arch)
            if blocks:
                notes.append(
                    f"- Block hashing, {arch} at {frac(c)}: {mean_sd(blocks)}% "
                    f"against plain hashing's {mean_sd(hashed)}% "
                    f"({100 * (np.mean(blocks) - np.mean(hashed)):+.2f} points): "
                    f"it {versus(blocks, hashed, n_test)} plain hashing"
                    + (f" and {versus(blocks, shrunk, n_test)} the equal-storage "
                       f"network ({mean_sd(shrunk)}%)."
                       if (shrunk := errors("shrunk", c, arch)) else "."))
            taught = errors("hashing+teacher", c, arch)
            if taught:
                notes.append(
                    f"- Dark knowledge, {arch} at {frac(c)}: "
                    f"{100 * np.mean(taught):.2f}% with the teacher against "
                    f"{100 * np.mean(hashed):.2f}% without: it "
                    f"{versus(taught, hashed, n_test)} plain hashing.")
            searched = searched_distillation(stored, arch, c)
            if searched:
                notes.append(
                    f"- Dark knowledge with its settings searched, {arch} at "
                    f"{frac(c)}: {searched.describe()}, the lowest validation "
                    f"error of the search, {mean_sd(searched.test)}% against "
                    f"{mean_sd(hashed)}% without a teacher: it "
                    f"{versus(searched.test, hashed, n_test)} plain hashing.")
    if rows:
        lines += ["| network | compression | HashedNets (mean) | " + " | ".join(
            f"vs {NAMES[m]}" for m in BASELINES) + " |",
            "|" + " --- |" * (3 + len(BASELINES)), *rows, "", *notes]
    paper = stored.get("paper", NOTHING)
    for c in TABLE1_COMPRESSIONS:
        shrunk = paper.errors("paper", method="shrunk", compression=c, arch="1x1000")
        for method in ("hashing", "hashing_blocks"):
            hashed = paper.errors("paper", method=method, compression=c,
                                  arch="1x1000")
            if hashed and shrunk:
                lines.append(
                    f"- The paper's recipe, 1x1000 at {frac(c)}: {NAMES[method]} "
                    f"{mean_sd(hashed)}% against the equal-storage network's "
                    f"{mean_sd(shrunk)}% ({len(hashed)} and {len(shrunk)} "
                    f"seeds): it {versus(hashed, shrunk, n_test)} it.")
    if "compression" in stored:
        lines.append(curve_claims(stored, n_test))
    expansion = stored.get("expansion", NOTHING).runs
    found = {f: expansion[key] for f in EXPANSIONS
             if (key := run_key(Run("expansion", factor=f))) in expansion}
    factors = list(found)
    if len(factors) > 1:
        errs = [found[f]["test_error"] for f in factors]
        rises = [f"x{a} to x{b}" for a, b, ea, eb in
                 zip(factors, factors[1:], errs, errs[1:]) if eb > ea]
        best = factors[int(np.argmin(errs))]
        lines.append(
            f"- Expansion at fixed storage: the error goes from "
            f"{100 * errs[0]:.2f}% (x1) to {100 * errs[-1]:.2f}% "
            f"(x{factors[-1]}), lowest at x{best}; "
            + ("it falls at every step." if not rises else
               "it rises from " + ", ".join(rises) + ".")
            + f" x{factors[-1]} against x1: "
            f"{versus(errs[-1], errs[0], n_test)}.")
    return "\n".join(lines) + "\n"


def curve_claims(stored, n_test):
    """HashedNets against each method at the compressions that only the curve
    runs (one seed each, so only the test set's sampling error counts)."""
    points = {m: dict(pts) for m, pts in
              compression_points(stored["compression"].runs, stored).items()}
    hashed = points.get("hashing", {})
    cells = []
    for c in COMPRESSIONS:
        if c in TABLE1_COMPRESSIONS or c not in hashed:
            continue
        verdicts = [f"{versus(hashed[c], points[m][c], n_test)} "
                    f"{NAMES[m]} ({100 * points[m][c]:.2f})"
                    for m in BASELINES if c in points.get(m, {})]
        if not verdicts:
            continue
        cells.append(f"at {frac(c)} {100 * hashed[c]:.2f}%: "
                     + ", ".join(verdicts))
    lines = []
    if cells:
        lines.append("- Error against compression, one seed per point: "
                     "HashedNets " + "; ".join(cells) + ".")
    blocks = points.get("hashing_blocks", {})
    pairs = [(c, blocks[c], hashed[c]) for c in COMPRESSIONS
             if c in blocks and c in hashed]
    if pairs:
        lines.append(
            "- Block hashing against plain hashing along the curve, one seed "
            "per point: " + "; ".join(
                f"at {frac(c)} {100 * b:.2f}% against {100 * h:.2f}% "
                f"({100 * (b - h):+.2f} points, {versus(b, h, n_test)})"
                for c, b, h in pairs) + ".")
    return "\n".join(lines)


class Candidate(NamedTuple):
    """One way to spend a budget: a method trained with one setting, and its
    stored runs (one per seed) out of ``planned`` seeds."""

    name: str
    setting: str
    runs: list
    planned: int
    knobs: tuple = ()  # the distillation search's (temperature, weight)

    @property
    def validation(self):
        return np.mean([r["best_validation_error"] for r in self.runs])

    @property
    def test(self):
        return [r["test_error"] for r in self.runs]

    def describe(self):
        seeds = len(self.runs)
        partial = f", {seeds} of {self.planned} seeds" if seeds < self.planned else ""
        return f"{self.name} (`{self.setting}`{partial})"


def candidates(stored, arch, c):
    """Every method and recipe the experiments ran on network ``arch`` at
    compression ``c``: Table 1's methods at their tuned settings, the paper's
    recipe, and distillation at its searched temperature and weight with the
    lowest validation error (Table 1's default one where no search ran)."""
    table1, paper = (stored.get(name, NOTHING) for name in ("table1", "paper"))
    best = table1.settings.get("best", {})
    found = [Candidate(NAMES[m], best.get(m, "?"), runs, len(table1.seeds))
             for m in METHODS
             if (runs := table1.over_seeds("table1", method=m, compression=c,
                                           arch=arch))]
    found += [Candidate(f"{NAMES[m]}, the paper's recipe", paper.settings["best"][m],
                        runs, len(paper.seeds))
              for m in PAPER_METHODS
              if (runs := paper.over_seeds("paper", method=m, compression=c,
                                           arch=arch))]
    taught = searched_distillation(stored, arch, c)
    if taught is None:
        default = HashedMLPClassifier()
        runs = table1.over_seeds("table1", method="hashing+teacher",
                                 compression=c, arch=arch)
        taught = runs and _taught(best.get("hashing", "?"),
                                  default.distillation_temperature,
                                  default.distillation_weight, runs,
                                  len(table1.seeds))
    return found + ([taught] if taught else [])


def _taught(student, t, w, runs, planned):
    """Distillation at temperature ``t`` and weight ``w`` as a candidate."""
    return Candidate(NAMES["hashing+teacher"], f"{student}, T={t:g} w={w:g}", runs,
                     planned, (t, w))


def searched_distillation(stored, arch, c):
    """The distillation search's setting (temperature and weight) with the
    lowest mean validation error on network ``arch`` at compression ``c``, or
    None where the search has no run."""
    search = stored.get("distillation", NOTHING)
    taught = [_taught(search.settings["student"], t, w, runs, len(search.seeds))
              for t in TEMPERATURES for w in DISTILLATION_WEIGHTS
              if (runs := search.over_seeds(
                  "distillation", method="hashing+teacher", compression=c,
                  arch=arch, temperature=t, weight=w))]
    return min(taught, key=lambda cand: cand.validation) if taught else None


def picks_section(stored, n_test=10_000):
    """Per network and budget, the candidate with the lowest mean validation
    error, and those whose test error ties with or beats it."""
    rows = []
    for arch in ARCHITECTURES:
        for c in TABLE1_COMPRESSIONS:
            found = candidates(stored, arch, c)
            if not found:
                continue
            pick = min(found, key=lambda cand: cand.validation)
            others = []
            for cand in sorted(found, key=lambda cand: np.mean(cand.test)):
                verdict = versus(cand.test, pick.test, n_test)
                if cand is not pick and verdict != "loses to":
                    others.append(f"{cand.name} {mean_sd(cand.test)}"
                                  + (" (beats it)" if verdict == "beats" else ""))
            rows.append(f"| {arch} | {frac(c)} | {pick.describe()} | "
                        f"{mean_sd(pick.test)} | "
                        + ("; ".join(others) or "none") + " |")
    if not rows:
        return ""
    return "\n".join([
        "## What to pick per budget\n",
        "For each network and storage budget, every method and recipe below "
        "that ran there: the pick is the one with the lowest mean validation "
        "error (chosen without the test set; for distillation, its searched "
        "temperature and weight with the lowest), shown with its test error "
        "(%), mean ± standard deviation over the seeds. The last column lists "
        "every other candidate (at its setting in the sections below) whose "
        "test error ties with the pick's, or beats it, by the rule of the "
        "claims below; those the pick beats are left out. "
        "Among ties, pick the cheapest: the speed guide "
        "(`docs/user_guide/speed.md`) gives the cost of a step of each method.\n",
        "| network | compression | pick (lowest validation error) | test error "
        "(%) | the others that tie with it or beat it on test |",
        "| --- | --- | --- | --- | --- |",
        *rows]) + "\n"
