"""What the experiments run: the methods, the settings each one tries, the
recipe every run shares, and the runs of each experiment with their keys.

Nothing here trains or reads a file. A run is a :class:`Run`; its key in the
experiment's JSON file is made by :func:`run_key` alone, and a stored key is
read back by :func:`read_key`, which looks it up among the runs an experiment
plans (so no key is ever taken apart as a string).
"""

from dataclasses import dataclass
from fractions import Fraction

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


# ---------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------
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


def best_settings(sweep, family="tuned"):
    """Each method's setting with the lowest mean validation error over
    compression 1/8 and 1/64 (every method chooses from the same settings of
    ``family``, on validation data only; both hashing methods also from their
    rescaled versions)."""
    best = {}
    for method in (PAPER_METHODS if family == "paper" else METHODS):
        errors = {}
        for name in settings_of(method, family):
            keys = [run_key(Run("sweep", method, c, setting=name))
                    for c in TABLE1_COMPRESSIONS]
            if all(key in sweep for key in keys):
                errors[name] = sum(sweep[k]["best_validation_error"]
                                   for k in keys) / len(keys)
        if len(errors) < len(settings_of(method, family)):
            raise ValueError(
                f"The sweep has {len(errors)} of the "
                f"{len(settings_of(method, family))} {family} "
                f"settings of method={method!r}; run the sweep experiment to the "
                "end first.")
        best[method] = min(errors, key=errors.get)
    return best


def frac(c):
    return str(Fraction(c).limit_denominator(1 << 20))


# ---------------------------------------------------------------------------
# runs and their keys
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One training run of an experiment.

    ``method`` is a method of :data:`METHODS`, ``'teacher'`` (the dense
    network a student learns from) or ``'hashing+teacher'`` (hashing distilled
    at the estimator's default temperature and weight); ``setting`` is a
    sweep setting's name; ``temperature`` and ``weight`` are the
    distillation search's; ``factor`` is the expansion's.
    """

    experiment: str
    method: str = None
    compression: float = None
    arch: str = None
    seed: int = None
    setting: str = None
    temperature: float = None
    weight: float = None
    factor: int = None


def run_key(run):
    """The key of ``run`` in its experiment's JSON file (the only place a key
    is made)."""
    c = None if run.compression is None else frac(run.compression)
    if run.experiment == "sweep":
        return f"{run.setting} | {c} {run.method}"
    if run.experiment == "compression":
        return f"{run.method} {c}"
    if run.experiment == "expansion":
        return f"x{run.factor}"
    if run.method == "teacher":
        return f"{run.arch} teacher seed{run.seed}"
    if run.temperature is not None:
        return (f"{run.arch} {c} T{run.temperature} w{run.weight} "
                f"seed{run.seed}")
    return f"{run.arch} {c} {run.method} seed{run.seed}"


def read_key(key, planned):
    """The run of ``planned`` (runs, see :func:`planned_runs`) whose key is
    ``key``, or None for a key the plan does not make."""
    return {run_key(run): run for run in planned}.get(key)


def planned_runs(experiment, seeds=(0,), architectures=tuple(ARCHITECTURES)):
    """Every run of ``experiment``, in the order they run; ``seeds`` and
    ``architectures`` are the command's ``--seeds`` and ``--architectures``."""
    if experiment == "sweep":
        return [Run("sweep", method, c, setting=name) for family in FAMILIES
                for c in TABLE1_COMPRESSIONS for method in METHODS
                for name in settings_of(method, family)]
    if experiment == "table1":
        return [run for arch in ARCHITECTURES if arch in architectures
                for seed in seeds for group in table1_groups(arch, seed)
                for run in group]
    if experiment == "paper":
        return [Run("paper", method, c, "1x1000", seed) for seed in seeds
                for c in TABLE1_COMPRESSIONS[::-1] for method in PAPER_METHODS]
    if experiment == "distillation":
        return [run for seed in seeds for c in TABLE1_COMPRESSIONS[::-1]
                for run in distillation_group(seed, c)]
    if experiment == "compression":
        return [Run("compression", method, c) for c in COMPRESSIONS
                if c not in TABLE1_COMPRESSIONS for method in METHODS]
    if experiment == "expansion":
        return [Run("expansion", "hashing", factor=f) for f in EXPANSIONS]
    raise ValueError(f"no experiment {experiment!r}")


def table1_groups(arch, seed):
    """Table 1's runs of one network and seed, in groups that run together:
    each method at each compression alone, then the teacher with the two
    runs distilled from it (the teacher is not stored, so it trains with
    them)."""
    singles = [[Run("table1", method, c, arch, seed)] for c in TABLE1_COMPRESSIONS
               for method in METHODS]
    teacher = Run("table1", "teacher", 1.0, arch, seed)
    return singles + [[teacher] + [Run("table1", "hashing+teacher", c, arch, seed)
                                   for c in TABLE1_COMPRESSIONS]]


def distillation_group(seed, c):
    """The teacher of ``seed`` and every student of the search at ``c``."""
    return [Run("distillation", "teacher", 1.0, "1x1000", seed)] + [
        Run("distillation", "hashing+teacher", c, "1x1000", seed,
            temperature=t, weight=w)
        for t in TEMPERATURES for w in DISTILLATION_WEIGHTS]


def seed_runs(runs, seeds, **fields):
    """The stored results of the run with ``fields`` for each of ``seeds``
    (those stored, in the order of ``seeds``)."""
    keys = (run_key(Run(**fields, seed=seed)) for seed in seeds)
    return [runs[key] for key in keys if key in runs]


def expansion_buckets(width, n_features=784, n_classes=10, base_width=BASE_WIDTH):
    """Per-layer buckets of a hashed n_features-width-n_classes network that
    stores exactly what a dense n_features-base_width-n_classes network does
    (784-50-10 by default): the output layer keeps the dense one's weights and
    the first layer gets what the wider hidden biases leave."""
    total = (n_features * base_width + base_width * n_classes
             + base_width + n_classes)
    out_buckets = base_width * n_classes
    return [total - out_buckets - width - n_classes, out_buckets]
