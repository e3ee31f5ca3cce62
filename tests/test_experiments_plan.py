"""sk_hashednets.experiments.plan: settings, the recipe and run keys."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier
from sk_hashednets.experiments import plan
from sk_hashednets.experiments.plan import Run, read_key, run_key

DOCS = Path(__file__).parents[1] / "docs"
EXPERIMENTS = ("sweep", "table1", "paper", "distillation", "compression",
               "expansion")


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_planned_run_has_its_own_key_and_reads_back(experiment):
    planned = plan.planned_runs(experiment, seeds=(0, 1, 2))
    assert planned
    keys = {run_key(run) for run in planned}
    # a key names one run (the distillation teacher serves two groups)
    assert len(keys) == len(set(planned))
    for run in planned:
        assert read_key(run_key(run), planned) == run
    assert read_key("not a key", planned) is None


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_stored_key_reads_back_into_a_planned_run(experiment):
    """The keys of the committed results are the plan's, so that the
    experiments resume them instead of training them again."""
    path = DOCS / f"{experiment}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not committed yet")
    stored = json.loads(path.read_text())
    seeds = stored["settings"].get("seeds", [0])
    planned = plan.planned_runs(experiment, seeds)
    for key in stored["runs"]:
        run = read_key(key, planned)
        assert run is not None, key
        assert run_key(run) == key


def test_keys_keep_the_format_of_the_stored_results():
    assert run_key(Run("sweep", "hashing", 1 / 64, setting="adam 0.001 rescaled")) \
        == "adam 0.001 rescaled | 1/64 hashing"
    assert run_key(Run("table1", "hashing+teacher", 1 / 8, "3x1000", 2)) \
        == "3x1000 1/8 hashing+teacher seed2"
    assert run_key(Run("table1", "teacher", 1.0, "1x1000", 1)) \
        == "1x1000 teacher seed1"
    assert run_key(Run("distillation", "hashing+teacher", 1 / 64, "1x1000", 0,
                       temperature=8, weight=0.9)) == "1x1000 1/64 T8 w0.9 seed0"
    assert run_key(Run("compression", "shrunk", 1 / 32)) == "shrunk 1/32"
    assert run_key(Run("expansion", factor=16)) == "x16"


def test_seed_runs_reads_the_runs_of_each_seed_in_order():
    runs = {"1x1000 1/8 shrunk seed2": {"e": 2}, "1x1000 1/8 shrunk seed0": {"e": 0},
            "1x1000 1/8 hashing seed1": {"e": 9}}
    found = plan.seed_runs(runs, [0, 1, 2], experiment="table1", method="shrunk",
                           compression=1 / 8, arch="1x1000")
    assert found == [{"e": 0}, {"e": 2}]


def test_each_method_takes_its_own_best_setting_from_the_sweep():
    names = plan.settings_of("low_rank")
    validation = {"hashing": (0.20, 0.15, 0.16), "hashing_blocks": (0.1, 0.2, 0.3),
                  "low_rank": (0.3, 0.35, 0.4),
                  "random_edges": (0.1, 0.2, 0.3), "shrunk": (0.5, 0.4, 0.2)}
    sweep = {}
    for method, errors in validation.items():
        for i, name in enumerate(plan.settings_of(method)):
            for c in ("1/8", "1/64"):
                error = errors[i] if i < 3 else 0.9
                sweep[f"{name} | {c} {method}"] = {"best_validation_error": error}
    assert plan.best_settings(sweep) == {
        "hashing": names[1], "hashing_blocks": names[0], "low_rank": names[0],
        "random_edges": names[0], "shrunk": names[2]}
    sweep[f"{names[3]} rescaled | 1/8 hashing"]["best_validation_error"] = 0.01
    sweep[f"{names[3]} rescaled | 1/64 hashing"]["best_validation_error"] = 0.01
    assert plan.best_settings(sweep)["hashing"] == f"{names[3]} rescaled"
    assert plan.setting_params(f"{names[3]} rescaled") == {
        "solver": "sgd", "learning_rate_init": 0.003, "rescale_grad": True}
    # the paper's settings are a family of their own, chosen apart
    with pytest.raises(ValueError, match="0 of the 3 paper settings"):
        plan.best_settings(sweep, "paper")
    del sweep[f"{names[0]} | 1/64 low_rank"]  # an incomplete sweep is an error
    with pytest.raises(ValueError, match="run the sweep experiment to the end"):
        plan.best_settings(sweep)


def test_the_papers_recipe_is_a_setting():
    assert plan.settings_of("low_rank", "paper") == []
    assert plan.settings_of("hashing_blocks", "paper") == [
        f"paper sgd {rate}" for rate in plan.PAPER_RATES]
    params = plan.setting_params("paper sgd 0.03")
    assert params == {"solver": "sgd", "learning_rate_init": 0.03,
                      "rescale_grad": False, "learning_rate": "inverse_time",
                      "learning_rate_decay": 1e-4, "nesterovs_momentum": False,
                      "max_iter": 200, "n_iter_no_change": 20}
    HashedMLPClassifier(**params)._validate_params()


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
@pytest.mark.parametrize("factor", [1, 2, 8])
def test_expansion_buckets_fit_other_input_and_class_counts(factor):
    """The notebooks hold a small dense network's storage on digits too."""
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 12), np.arange(60) % 3
    base = 4
    width = base * factor
    net = HashedMLPClassifier(
        hidden_layer_sizes=(width,), max_iter=1,
        n_buckets=plan.expansion_buckets(width, n_features=12, n_classes=3,
                                         base_width=base)).fit(X, y)
    assert net.n_stored_params_ == 12 * base + base + base * 3 + 3
    assert net.n_virtual_params_ == 12 * width + width + width * 3 + 3
