"""grid: GridSearchCV over 4 settings x 3 folds on digits, n_jobs 1 and 2."""

from common import digits32, md_table, median, quiet_fit, seconds
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier

from sk_hashednets import HashedMLPClassifier


def run(cfg):
    X, y = digits32()
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
    return {"table": table, "checks": checks}


def section(cfg, result):
    return ["## GridSearchCV, n_jobs 1 and 2", "",
            f"Digits (X / 16 as float32), 4 settings x 3 folds, "
            f"`max_iter={cfg.grid_epochs}`, median of {cfg.repeats}, after a "
            "warm-up search that starts joblib's workers.", "",
            result["table"]]
