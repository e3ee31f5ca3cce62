"""Training the experiments' runs and storing each result as it ends.

Each experiment keeps its results in one JSON file, ``{"settings": ...,
"runs": {key: result}}`` (keys from :func:`.plan.run_key`), so that an
interrupted experiment resumes where it stopped and several processes
(``--shard i/n``) can fill one file.
"""

import json
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

from .. import HashedMLPClassifier, __version__
from ..datasets import load_fashion_mnist
from .plan import (
    ARCHITECTURES,
    BASE_WIDTH,
    TABLE1_COMPRESSIONS,
    Run,
    best_settings,
    distillation_group,
    expansion_buckets,
    planned_runs,
    recipe,
    run_key,
    setting_params,
    table1_groups,
)


class SettingsMismatch(ValueError):
    """A results file holds runs made with other settings."""


def compatible(stored, settings):
    """Whether runs stored under ``stored`` settings belong to ``settings``:
    the same entries, where a dict (each method's best setting) may have
    gained methods but kept every stored one."""
    if set(stored) != set(settings):
        return False
    for name, value in stored.items():
        new = settings[name]
        if isinstance(value, dict) and isinstance(new, dict):
            if any(k not in new or new[k] != value[k] for k in value):
                return False
        elif value != new:
            return False
    return True


@contextmanager
def file_lock(path):
    """Hold an exclusive lock on ``path`` (created if needed): ``fcntl`` on
    POSIX, ``msvcrt`` on Windows, each imported only here."""
    with open(path, "a+b") as f:
        if os.name == "nt":
            import msvcrt

            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


class Runs:
    """Results of one experiment, kept in a JSON file so that runs resume.

    Several processes may fill one file: each result is merged into what the
    file holds under an exclusive lock, and a run another process has stored
    is not trained again. A file written with other settings is an error,
    never overwritten; settings that only add methods keep its runs.
    """

    def __init__(self, path, settings):
        self.path = Path(path)
        self.settings = settings
        self.runs = {}
        if self.path.exists():
            stored = json.loads(self.path.read_text())
            if not compatible(stored.get("settings", {}), settings):
                raise SettingsMismatch(
                    f"{self.path} holds runs with other settings "
                    f"({stored.get('settings')}) than these ({settings}); "
                    "pass the same options, or another --out.")
            self.runs = stored["runs"]

    def _merge(self, key=None, result=None):
        """Read the file's runs into ``self.runs`` (adding ``key`` first)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self.path.with_suffix(".lock")):
            if self.path.exists():
                stored = json.loads(self.path.read_text())
                if compatible(stored.get("settings", {}), self.settings):
                    self.runs = {**stored["runs"], **self.runs}
            if key is not None:
                self.runs[key] = result
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"settings": self.settings,
                                           "runs": self.runs}, indent=1))
                os.replace(tmp, self.path)

    def has(self, run):
        """Whether ``run`` is stored (by this process or another)."""
        if run_key(run) not in self.runs:
            self._merge()
        return run_key(run) in self.runs

    def run(self, run, data, **params):
        """Train ``run`` with :func:`fit_and_score`, store its result and
        return the fitted classifier."""
        key = run_key(run)
        print(f"  {key} ...", end=" ", flush=True)
        tic = time.perf_counter()
        clf, result = fit_and_score(data, **params)
        result["seconds"] = round(time.perf_counter() - tic, 1)
        self._merge(key, result)
        print(f"test error {100 * result['test_error']:.2f}% "
              f"({result['seconds']:.0f} s)", flush=True)
        return clf

    def get(self, run, data, **params):
        """The stored result of ``run``, training it first if needed."""
        if not self.has(run):
            self.run(run, data, **params)
        return self.runs[run_key(run)]


def fit_and_score(data, teacher=None, **params):
    X_train, y_train, X_test, y_test = data
    clf = HashedMLPClassifier(teacher=teacher, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    return clf, {
        "test_error": float(1 - clf.score(X_test, y_test)),
        "best_validation_error": float(1 - clf.best_validation_score_),
        "best_epoch": int(np.argmax(clf.validation_scores_)) + 1,
        "epochs_run": int(clf.n_iter_),
        "steps": int(clf._step),
        "clipped_steps": int(clf.n_clipped_steps_),
        "stored_params": int(clf.n_stored_params_),
        "virtual_params": int(clf.n_virtual_params_),
        "hidden_widths": [len(b) for b in clf.intercepts_[:-1]],
        "blas_threads": max((pool["num_threads"] for pool in threadpool_info()
                             if pool["user_api"] == "blas"), default=None),
        # what gives the same bits again: the code's version and the kernels
        # BLAS picked for this CPU (other kernels sum in another order)
        "version": __version__,
        "blas": describe_blas(),
    }


def describe_blas():
    """NumPy's BLAS library, its version and the kernels it picked for this
    CPU, e.g. ``'openblas 0.3.30, its Haswell kernels'``."""
    found = sorted((info for info in threadpool_info() if info["user_api"] == "blas"),
                   key=lambda info: "numpy" not in info["filepath"])
    if not found:
        return "unknown"
    info = found[0]  # NumPy's own, which the estimators' products call
    kernels = info.get("architecture")
    return (f"{info['internal_api']} {info.get('version') or ''}".rstrip()
            + (f", its {kernels} kernels" if kernels else ""))


def load_data(args):
    if args.dataset == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)  # pixels in [0, 1], as Fashion-MNIST's
        # the README's split
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=0)
    else:
        X_train, y_train, X_test, y_test = load_fashion_mnist(args.data)
    if args.train_size < len(X_train):
        idx = np.random.RandomState(args.seed).permutation(len(X_train))
        keep = idx[:args.train_size]
        X_train, y_train = X_train[keep], y_train[keep]
    return X_train, y_train, X_test, y_test


def scaled_by_maximum(data):
    """The paper's input scaling: every image divided by the training
    images' largest value (Fashion-MNIST's loader already gives [0, 1], so
    there this changes no bit)."""
    X_train, y_train, X_test, y_test = data
    top = X_train.max()
    return X_train / top, y_train, X_test / top, y_test


def settings(args):
    return {"dataset": args.dataset, "epochs": args.epochs,
            "train_size": args.train_size, "patience": args.patience,
            "seed": args.seed,
            "max_grad_norm": HashedMLPClassifier().max_grad_norm}


def stored_best_settings(args, family="tuned"):
    """Each method's best setting of ``family`` from OUT/sweep.json; with
    ``--wait``, wait for other processes to finish the sweep."""
    sweep = args.out / "sweep.json"
    while True:
        if not sweep.exists():
            raise FileNotFoundError(f"{sweep} not found: the experiments take "
                                    "each method's setting from the sweep; run "
                                    "it first.")
        try:
            return best_settings(json.loads(sweep.read_text())["runs"], family)
        except ValueError:
            if not getattr(args, "wait", False):
                raise
        print(f"waiting for the sweep ({family} settings) ...", flush=True)
        time.sleep(60)


def _mine(args, units):
    """The units of work of this process: every ``n``-th from ``i`` for
    ``--shard i/n``."""
    i, n = args.shard
    return [unit for j, unit in enumerate(units) if j % n == i]


def _params(args, run, setting, **extra):
    """Constructor arguments of ``run`` trained with ``setting``."""
    params = {**recipe(args), **setting_params(setting), **extra}
    if run.seed is not None:
        params["random_state"] = run.seed
    if run.arch is not None:
        params["hidden_layer_sizes"] = ARCHITECTURES[run.arch]
    if run.method in ("teacher", "hashing+teacher"):
        params["method"] = "shrunk" if run.method == "teacher" else "hashing"
    elif run.method is not None:
        params["method"] = run.method
    if run.compression is not None:
        params["compression"] = run.compression
    return params


def _run_group(runs, group, data, params):
    """Train the runs of ``group`` not stored yet; a leading teacher trains
    (again: models are not stored, and it gives the same bits each time)
    only when one of its students must."""
    teacher, students = (group[0], group[1:]) if group[0].method == "teacher" \
        else (None, group)
    if all(runs.has(run) for run in students):
        return
    taught = {}
    if teacher is not None:
        taught["teacher"] = runs.run(teacher, data, **params(teacher))
    for run in students:
        runs.get(run, data, **params(run), **taught)


def run_sweep(args, data):
    """Every method tries the same settings; see :func:`.plan.best_settings`."""
    runs = Runs(args.out / "sweep.json", settings(args))
    for run in _mine(args, planned_runs("sweep")):
        runs.get(run, data, hidden_layer_sizes=ARCHITECTURES["1x1000"],
                 **_params(args, run, run.setting))
    return runs


def run_table1(args, data):
    best = stored_best_settings(args)
    runs = Runs(args.out / "table1.json", {**settings(args), "seeds": args.seeds,
                                           "best": best})

    def params(run):
        method = {"teacher": "shrunk", "hashing+teacher": "hashing"}.get(
            run.method, run.method)
        return _params(args, run, best[method])

    groups = [group for arch in ARCHITECTURES if arch in args.architectures
              for seed in args.seeds for group in table1_groups(arch, seed)]
    for group in _mine(args, groups):
        _run_group(runs, group, data, params)
    return runs


def run_paper(args, data):
    """The paper's recipe at its best rate from the sweep, for hashing, block
    hashing and the equal-storage network, 784-1000-10 at 1/8 and 1/64."""
    best = stored_best_settings(args, "paper")
    runs = Runs(args.out / "paper.json", {**settings(args), "seeds": args.seeds,
                                          "best": best})
    data = scaled_by_maximum(data)
    for run in _mine(args, planned_runs("paper", args.seeds)):
        runs.get(run, data, **_params(args, run, best[run.method]))
    return runs


def run_distillation(args, data):
    """Hashing distilled from the dense 784-1000-10 network (the teacher, at
    the equal-storage network's best setting) at every temperature and weight
    of the search; hashing at its best setting."""
    best = stored_best_settings(args)
    runs = Runs(args.out / "distillation.json", {
        **settings(args), "seeds": args.seeds, "teacher": best["shrunk"],
        "student": best["hashing"]})

    def params(run):
        if run.method == "teacher":
            return _params(args, run, best["shrunk"])
        return _params(args, run, best["hashing"],
                       distillation_temperature=run.temperature,
                       distillation_weight=run.weight)

    groups = [distillation_group(seed, c) for seed in args.seeds
              for c in TABLE1_COMPRESSIONS[::-1]]
    for group in _mine(args, groups):
        _run_group(runs, group, data, params)
    return runs


def run_compression(args, data):
    best = stored_best_settings(args)
    runs = Runs(args.out / "compression.json", {**settings(args), "best": best})
    for run in _mine(args, planned_runs("compression")):
        runs.get(run, data, hidden_layer_sizes=ARCHITECTURES["1x1000"],
                 **_params(args, run, best[run.method]))
    return runs


def run_expansion(args, data):
    best = stored_best_settings(args)
    runs = Runs(args.out / "expansion.json", {**settings(args),
                                              "setting": best["hashing"]})
    for run in _mine(args, planned_runs("expansion")):
        width = BASE_WIDTH * run.factor
        runs.get(run, data, hidden_layer_sizes=(width,),
                 n_buckets=expansion_buckets(width),
                 **_params(args, Run("expansion"), best["hashing"]))
    return runs


RUNNERS = {"sweep": run_sweep, "table1": run_table1, "paper": run_paper,
           "distillation": run_distillation, "compression": run_compression,
           "expansion": run_expansion}
