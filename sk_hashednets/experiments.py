"""The paper's comparisons, every method at its best.

``python -m sk_hashednets.experiments`` runs them.

Experiments (each resumable: finished runs are read back from their JSON file
instead of being trained again, and several processes may share one file):

* ``sweep``: every method tries the same settings (momentum SGD at four
  learning rates, Adam at three, and for both hashing methods each of them
  with and without ``rescale_grad``) on a 784-1000-10 network at compression
  1/8 and 1/64; each method's best setting is the one with the lowest mean
  validation error, chosen on the validation split only. Hashing, block
  hashing and the equal-storage network also try the paper's own recipe
  (:data:`PAPER_RATES`, see :func:`setting_params`), chosen apart;
* ``table1``: test error of a 784-1000-10 network and a 784-1000-1000-1000-10
  network (each seed) at compression 1/8 and 1/64, every method and hashing
  distilled from a teacher (the dense network of the same architecture) at
  its best setting;
* ``paper``: the paper's recipe at its best rate for hashing, block hashing
  and the equal-storage network, 784-1000-10 at 1/8 and 1/64, each seed;
* ``distillation``: hashing distilled from the dense 784-1000-10 teacher at
  every temperature of :data:`TEMPERATURES` and weight of
  :data:`DISTILLATION_WEIGHTS`, at 1/8 and 1/64, each seed;
* ``compression``: test error against compression, 1 down to 1/64, one hidden
  layer of 1000 units (1/8 and 1/64 come from ``table1``'s first seed);
* ``expansion``: the storage of a dense 784-50-10 network spread over hashed
  networks whose hidden layer is 1, 2, 4, ..., 32 times wider;
* ``report``: rewrite RESULTS.md and the figures from the stored runs.

Every run uses the authors' recipe: dropout 0.25 on the inputs and the hidden
units, batch 50, inputs scaled to [0, 1], and the epoch with the best accuracy
on a 20% validation split of the training data (early stopping after
``--patience`` epochs without improvement). The paper's full recipe also
decays the momentum-SGD rate as ``lr / (1 + 1e-4 t)`` over the steps ``t``,
with classical momentum 0.9, for up to :data:`PAPER_EPOCHS` epochs with
patience :data:`PAPER_PATIENCE`.
"""

import argparse
import fcntl
import json
import os
import sys
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

from . import HashedMLPClassifier
from .datasets import load_fashion_mnist

METHODS = ("hashing", "hashing_blocks", "low_rank", "random_edges", "shrunk")
#: methods whose stored weights have loads, so that ``rescale_grad`` applies
RESCALABLE = ("hashing", "hashing_blocks")
#: methods that also try the paper's recipe
PAPER_METHODS = ("hashing", "hashing_blocks", "shrunk")
NAMES = {"hashing": "HashedNets", "hashing_blocks": "HashedNets, blocks",
         "low_rank": "Low-rank (LRD)",
         "random_edges": "Random edges (RER)", "shrunk": "Equal-storage NN",
         "hashing+teacher": "HashedNets + dark knowledge"}
ARCHITECTURES = {"1x1000": (1000,), "3x1000": (1000, 1000, 1000)}
TABLE1_COMPRESSIONS = (1 / 8, 1 / 64)
COMPRESSIONS = (1.0, 1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64)
EXPANSIONS = (1, 2, 4, 8, 16, 32)
BASE_WIDTH = 50
#: The settings every method tries in the sweep: (solver, learning rate).
SOLVER_RATES = (("sgd", 0.1), ("sgd", 0.03), ("sgd", 0.01), ("sgd", 0.003),
                ("adam", 0.003), ("adam", 0.001), ("adam", 0.0003))
#: The paper's recipe: momentum SGD's initial rates tried, the rate's decay
#: per step, the epochs and the patience.
PAPER_RATES = (0.1, 0.03, 0.01)
PAPER_DECAY = 1e-4
PAPER_EPOCHS = 200
PAPER_PATIENCE = 20
#: The distillation search: temperatures and weights of the teacher's term.
TEMPERATURES = (2, 4, 8)
DISTILLATION_WEIGHTS = (0.5, 0.9)
#: The families of settings: each method's best is chosen within one.
FAMILIES = ("tuned", "paper")


def setting_name(solver, rate, rescale=False):
    return f"{solver} {rate}" + (" rescaled" if rescale else "")


def settings_of(method, family="tuned"):
    """The settings a method tries in one family: ``'tuned'``, every solver
    and rate (both hashing methods also rescaled), or ``'paper'``, the paper's
    recipe at each of :data:`PAPER_RATES` (for :data:`PAPER_METHODS`)."""
    if family == "paper":
        if method not in PAPER_METHODS:
            return []
        return [f"paper sgd {rate}" for rate in PAPER_RATES]
    names = [setting_name(s, r) for s, r in SOLVER_RATES]
    if method in RESCALABLE:
        names += [setting_name(s, r, True) for s, r in SOLVER_RATES]
    return names


def setting_params(name):
    """Constructor arguments of a setting name such as ``'adam 0.001 rescaled'``.

    ``'paper sgd RATE'`` is the paper's recipe: classical momentum (0.9) SGD
    whose rate decays as ``RATE / (1 + 1e-4 t)`` over the steps ``t``, for up
    to :data:`PAPER_EPOCHS` epochs with patience :data:`PAPER_PATIENCE` (the
    recipe's dropout and batch are every run's)."""
    if name.startswith("paper "):
        return {**setting_params(name[len("paper "):]),
                "learning_rate": "inverse_time", "learning_rate_decay": PAPER_DECAY,
                "nesterovs_momentum": False, "max_iter": PAPER_EPOCHS,
                "n_iter_no_change": PAPER_PATIENCE}
    solver, rate, *rest = name.split()
    return {"solver": solver, "learning_rate_init": float(rate),
            "rescale_grad": rest == ["rescaled"]}


def recipe(args):
    """Constructor arguments shared by every run; a setting of the sweep
    (:func:`setting_params`) adds the solver and its learning rate."""
    return dict(dropout=0.25, input_dropout=0.25, momentum=0.9, batch_size=50,
                max_iter=args.epochs, early_stopping=True, validation_fraction=0.2,
                n_iter_no_change=args.patience, random_state=args.seed)


def frac(c):
    return str(Fraction(c).limit_denominator(1 << 20))


# ---------------------------------------------------------------------------
# running and storing
# ---------------------------------------------------------------------------
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
            if any(new.get(k, value[k]) != value[k] or k not in new for k in value):
                return False
        elif value != new:
            return False
    return True


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
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
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

    def run(self, key, data, **params):
        """Train with ``fit_and_score``, store the result under ``key`` and
        return the fitted classifier."""
        print(f"  {key} ...", end=" ", flush=True)
        tic = time.perf_counter()
        clf, result = fit_and_score(data, **params)
        result["seconds"] = round(time.perf_counter() - tic, 1)
        self._merge(key, result)
        print(f"test error {100 * result['test_error']:.2f}% "
              f"({result['seconds']:.0f} s)", flush=True)
        return clf

    def get(self, key, data, **params):
        """The stored result of ``key``, training it first if needed."""
        if key not in self.runs:
            self._merge()
        if key not in self.runs:
            self.run(key, data, **params)
        return self.runs[key]


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
    }


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


def settings(args):
    return {"dataset": args.dataset, "epochs": args.epochs,
            "train_size": args.train_size, "patience": args.patience,
            "seed": args.seed,
            "max_grad_norm": HashedMLPClassifier().max_grad_norm}


def _mine(args, units):
    """The units of work of this process: every ``n``-th from ``i`` for
    ``--shard i/n``."""
    i, n = args.shard
    return [unit for j, unit in enumerate(units) if j % n == i]


def run_sweep(args, data):
    """Every method tries the same settings; see :func:`best_settings`."""
    runs = Runs(args.out / "sweep.json", settings(args))
    units = [(name, c, method) for family in FAMILIES for c in TABLE1_COMPRESSIONS
             for method in METHODS for name in settings_of(method, family)]
    for name, c, method in _mine(args, units):
        runs.get(f"{name} | {frac(c)} {method}", data,
                 hidden_layer_sizes=ARCHITECTURES["1x1000"], compression=c,
                 method=method,
                 **{**recipe(args), **setting_params(name)})
    return runs


def best_settings(sweep, family="tuned"):
    """Each method's setting with the lowest mean validation error over
    compression 1/8 and 1/64 (every method chooses from the same settings of
    ``family``, on validation data only; both hashing methods also from their
    rescaled versions)."""
    best = {}
    for method in (PAPER_METHODS if family == "paper" else METHODS):
        errors = {}
        for name in settings_of(method, family):
            keys = [f"{name} | {frac(c)} {method}" for c in TABLE1_COMPRESSIONS]
            if all(key in sweep for key in keys):
                errors[name] = np.mean([sweep[k]["best_validation_error"]
                                        for k in keys])
        if len(errors) < len(settings_of(method, family)):
            raise ValueError(
                f"The sweep has {len(errors)} of the "
                f"{len(settings_of(method, family))} {family} "
                f"settings of method={method!r}; run the sweep experiment to the "
                "end first.")
        best[method] = min(errors, key=errors.get)
    return best


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


def _table1_units(args):
    """(architecture, seed) pairs in the order they run: every seed of the
    one-layer network, then every seed of the three-layer one (only those of
    ``--architectures``)."""
    return [(arch, s) for arch in ARCHITECTURES if arch in args.architectures
            for s in args.seeds]


def run_table1(args, data):
    best = stored_best_settings(args)
    runs = Runs(args.out / "table1.json", {**settings(args), "seeds": args.seeds,
                                           "best": best})

    def params(arch, method, seed, **extra):
        return {"hidden_layer_sizes": ARCHITECTURES[arch], "method": method,
                **recipe(args), "random_state": seed,
                **setting_params(best[method]), **extra}

    def single(arch, seed, c, method):
        runs.get(f"{arch} {frac(c)} {method} seed{seed}", data,
                 **params(arch, method, seed, compression=c))

    def distilled(arch, seed):
        keys = [f"{arch} {frac(c)} hashing+teacher seed{seed}"
                for c in TABLE1_COMPRESSIONS]
        runs._merge()
        if all(key in runs.runs for key in keys):
            return
        # models are not stored: train the teacher when it is needed
        teacher = runs.run(f"{arch} teacher seed{seed}", data,
                           **params(arch, "shrunk", seed, compression=1.0))
        for c, key in zip(TABLE1_COMPRESSIONS, keys):
            runs.get(key, data, teacher=teacher,
                     **params(arch, "hashing", seed, compression=c))

    units = []
    for arch, seed in _table1_units(args):
        units += [lambda a=arch, s=seed, c=c, m=m: single(a, s, c, m)
                  for c in TABLE1_COMPRESSIONS for m in METHODS]
        units.append(lambda a=arch, s=seed: distilled(a, s))
    for unit in _mine(args, units):
        unit()
    return runs


def expansion_buckets(width, n_features=784, n_classes=10, base_width=BASE_WIDTH):
    """Per-layer buckets of a hashed n_features-width-n_classes network that
    stores exactly what a dense n_features-base_width-n_classes network does
    (784-50-10 by default): the output layer keeps the dense one's weights and
    the first layer gets what the wider hidden biases leave."""
    total = (n_features * base_width + base_width * n_classes
             + base_width + n_classes)
    out_buckets = base_width * n_classes
    return [total - out_buckets - width - n_classes, out_buckets]


def run_expansion(args, data):
    best = stored_best_settings(args)
    runs = Runs(args.out / "expansion.json", {**settings(args),
                                              "setting": best["hashing"]})
    for factor in _mine(args, EXPANSIONS):
        width = BASE_WIDTH * factor
        runs.get(f"x{factor}", data, hidden_layer_sizes=(width,),
                 n_buckets=expansion_buckets(width),
                 **{**recipe(args), **setting_params(best["hashing"])})
    return runs


def scaled_by_maximum(data):
    """The paper's input scaling: every image divided by the training
    images' largest value (Fashion-MNIST's loader already gives [0, 1], so
    there this changes no bit)."""
    X_train, y_train, X_test, y_test = data
    top = X_train.max()
    return X_train / top, y_train, X_test / top, y_test


def run_paper(args, data):
    """The paper's recipe at its best rate from the sweep, for hashing, block
    hashing and the equal-storage network, 784-1000-10 at 1/8 and 1/64."""
    best = stored_best_settings(args, "paper")
    runs = Runs(args.out / "paper.json", {**settings(args), "seeds": args.seeds,
                                          "best": best})
    data = scaled_by_maximum(data)
    units = [(seed, c, method) for seed in args.seeds
             for c in TABLE1_COMPRESSIONS[::-1] for method in PAPER_METHODS]
    for seed, c, method in _mine(args, units):
        runs.get(f"1x1000 {frac(c)} {method} seed{seed}", data,
                 hidden_layer_sizes=ARCHITECTURES["1x1000"], compression=c,
                 method=method, **{**recipe(args), **setting_params(best[method]),
                                   "random_state": seed})
    return runs


def distillation_key(c, temperature, weight, seed):
    return f"1x1000 {frac(c)} T{temperature} w{weight} seed{seed}"


def run_distillation(args, data):
    """Hashing distilled from the dense 784-1000-10 network (the teacher, at
    the equal-storage network's best setting) at every temperature and weight
    of the search; hashing at its best setting."""
    best = stored_best_settings(args)
    runs = Runs(args.out / "distillation.json", {
        **settings(args), "seeds": args.seeds, "teacher": best["shrunk"],
        "student": best["hashing"]})

    def unit(seed, c):
        keys = {(t, w): distillation_key(c, t, w, seed)
                for t in TEMPERATURES for w in DISTILLATION_WEIGHTS}
        runs._merge()
        if all(key in runs.runs for key in keys.values()):
            return
        # models are not stored: train the teacher (the same bits each time)
        teacher = runs.run(f"1x1000 teacher seed{seed}", data,
                           hidden_layer_sizes=ARCHITECTURES["1x1000"],
                           method="shrunk", compression=1.0,
                           **{**recipe(args), **setting_params(best["shrunk"]),
                              "random_state": seed})
        for (t, w), key in keys.items():
            runs.get(key, data, teacher=teacher, distillation_temperature=t,
                     distillation_weight=w,
                     hidden_layer_sizes=ARCHITECTURES["1x1000"], compression=c,
                     method="hashing",
                     **{**recipe(args), **setting_params(best["hashing"]),
                        "random_state": seed})

    for seed, c in _mine(args, [(seed, c) for seed in args.seeds
                                for c in TABLE1_COMPRESSIONS[::-1]]):
        unit(seed, c)
    return runs


def run_compression(args, data):
    best = stored_best_settings(args)
    runs = Runs(args.out / "compression.json", {**settings(args), "best": best})
    units = [(m, c) for c in COMPRESSIONS if c not in TABLE1_COMPRESSIONS
             for m in METHODS]
    for method, c in _mine(args, units):
        runs.get(f"{method} {frac(c)}", data,
                 hidden_layer_sizes=ARCHITECTURES["1x1000"], compression=c,
                 method=method,
                 **{**recipe(args), **setting_params(best[method])})
    return runs


RUNNERS = {"sweep": run_sweep, "table1": run_table1, "paper": run_paper,
           "distillation": run_distillation, "compression": run_compression,
           "expansion": run_expansion}
DESCRIPTIONS = {
    "sweep": "every method tries the same solvers and learning rates (hashing "
             "also with rescale_grad) on 784-1000-10 at 1/8 and 1/64; writes "
             "sweep.json",
    "table1": "Table 1 with every method at its best setting from the sweep: "
              "1x1000 and 3x1000 (see --architectures) for each of --seeds; "
              "writes table1.json",
    "paper": "the paper's recipe (dropout, decaying momentum-SGD rate, 200 "
             "epochs, patience 20) at its best rate from the sweep for hashing, "
             "block hashing and the equal-storage net, 1x1000 at 1/8 and 1/64 "
             "for each of --seeds; writes paper.json",
    "distillation": "hashing distilled from the dense 1x1000 teacher at every "
                    "temperature (2, 4, 8) and weight (0.5, 0.9), at 1/8 and "
                    "1/64 for each of --seeds; writes distillation.json",
    "compression": "test error against compression (1 to 1/64), 784-1000-10; "
                   "writes compression.json and compression.png",
    "expansion": "fixed storage (a dense 784-50-10), hidden layer 1x to 32x "
                 "wider; writes expansion.json and expansion.png",
    "report": "rewrite RESULTS.md and the figures from the stored runs (every "
              "other experiment does this too when it ends)",
}


def _shard(text):
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n, got {text!r}") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"expected 0 <= i < n, got {text!r}")
    return i, n


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sk_hashednets.experiments",
        description="The paper's comparisons with every method at its best "
                    "setting. Run the sweep first: the other experiments read "
                    "each method's setting from OUT/sweep.json. Every run is "
                    "stored in OUT as it ends, so an interrupted experiment "
                    "resumes where it stopped.",
        epilog="experiments:\n" + "\n".join(
            f"  {name:12} {text}" for name, text in DESCRIPTIONS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", nargs="+", choices=list(DESCRIPTIONS),
                        metavar="experiment",
                        help="one or more of: " + ", ".join(DESCRIPTIONS))
    parser.add_argument("--dataset", choices=["fashion-mnist", "digits"],
                        default="fashion-mnist",
                        help="Fashion-MNIST (the default; 60,000 training and "
                             "10,000 test images), or scikit-learn's digits "
                             "with the README's 70/30 split")
    parser.add_argument("--epochs", type=int, default=50,
                        help="maximum epochs per run (default: 50)")
    parser.add_argument("--patience", type=int, default=10,
                        help="stop after this many epochs without validation "
                             "gain (default: 10)")
    parser.add_argument("--train-size", type=int, default=60000,
                        help="training images to use, a random subset "
                             "(default: 60000, all of Fashion-MNIST)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of every run, and of the training "
                             "subset (default: 0)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="the seeds of table1, paper and distillation "
                             "(default: 0 1 2)")
    parser.add_argument("--architectures", nargs="+", choices=list(ARCHITECTURES),
                        default=list(ARCHITECTURES),
                        help="the networks table1 runs now (the others are "
                             "left for later; default: all)")
    parser.add_argument("--wait", action="store_true",
                        help="wait for other processes to finish the sweep "
                             "instead of stopping when it is incomplete")
    parser.add_argument("--shard", type=_shard, default=(0, 1), metavar="I/N",
                        help="run only every N-th unit of work from the I-th, so "
                             "that N processes share an experiment (default: 0/1)")
    parser.add_argument("--data", default=None,
                        help="folder with the Fashion-MNIST IDX files (default: "
                             "$SK_HASHEDNETS_FASHION_MNIST, else "
                             "/usr/share/datasets/fashion-mnist)")
    parser.add_argument("--out", type=Path, default=Path("docs"),
                        help="where the JSON files, figures and RESULTS.md go "
                             "(default: docs)")
    args = parser.parse_args(argv)
    try:
        if set(args.experiment) - {"sweep", "report"} and (
                "sweep" not in args.experiment) and not args.wait:
            stored_best_settings(args)  # fail before loading anything
        data = load_data(args) if set(args.experiment) - {"report"} else None
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ._report import write_report

    for name in args.experiment:
        if name in RUNNERS:
            print(f"{name}:", flush=True)
            try:
                RUNNERS[name](args, data)
            except SettingsMismatch as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        write_report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
