"""The experiments command: storage held fixed, resumable runs, honest report."""

import json

import numpy as np
import pytest
from conftest import write_fashion_mnist
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier, _report, experiments

DENSE_50 = 784 * 50 + 50 * 10 + 50 + 10  # a dense 784-50-10 network's parameters


@pytest.fixture
def small_fashion(tmp_path):
    (tmp_path / "data").mkdir()
    return write_fashion_mnist(tmp_path / "data", n_train=100, n_test=20)


@pytest.fixture
def small_experiments(monkeypatch):
    """The experiments at a small scale: two settings, narrow networks."""
    monkeypatch.setattr(experiments, "SOLVER_RATES", (("sgd", 0.03), ("adam", 0.001)))
    monkeypatch.setattr(experiments, "ARCHITECTURES",
                        {"1x1000": (16,), "3x1000": (8, 8, 8)})
    monkeypatch.setattr(experiments, "COMPRESSIONS", (1.0, 1 / 8, 1 / 64))
    monkeypatch.setattr(experiments, "PAPER_RATES", (0.03,))
    monkeypatch.setattr(experiments, "PAPER_EPOCHS", 3)
    monkeypatch.setattr(experiments, "TEMPERATURES", (2, 8))
    monkeypatch.setattr(experiments, "DISTILLATION_WEIGHTS", (0.9,))


@pytest.mark.slow
def test_every_experiment_in_two_processes_resumes_and_reports(
        small_fashion, tmp_path, monkeypatch, small_experiments):
    out = tmp_path / "docs"
    base = ["--epochs", "2", "--patience", "2", "--seeds", "0", "1",
            "--data", str(small_fashion), "--out", str(out)]
    # the sweep must come first
    assert experiments.main(["table1", *base]) == 2
    for shard in ("0/2", "1/2"):  # two processes share each experiment's file
        assert experiments.main(["sweep", *base, "--shard", shard]) == 0
    sweep = json.loads((out / "sweep.json").read_text())["runs"]
    # 2 settings x 2 compressions x 5 methods, both hashings' rescaled
    # versions, and the paper's recipe at one rate for three methods
    assert len(sweep) == 2 * 2 * 5 + 2 * 2 * 2 + 2 * 3
    assert "adam 0.001 rescaled | 1/64 hashing_blocks" in sweep
    assert sweep["paper sgd 0.03 | 1/8 shrunk"]["epochs_run"] <= 3
    best = experiments.best_settings(sweep)
    assert set(best) == set(experiments.METHODS)
    assert experiments.best_settings(sweep, "paper") == {
        m: "paper sgd 0.03" for m in experiments.PAPER_METHODS}
    for shard in ("0/2", "1/2"):
        assert experiments.main(["table1", "paper", "distillation", "compression",
                                 "expansion", *base, "--shard", shard]) == 0
    table1 = json.loads((out / "table1.json").read_text())
    assert table1["settings"]["best"] == best
    runs = table1["runs"]
    for arch, seeds in (("1x1000", (0, 1)), ("3x1000", (0, 1))):
        for seed in seeds:
            for c in ("1/8", "1/64"):
                for method in (*experiments.METHODS, "hashing+teacher"):
                    assert f"{arch} {c} {method} seed{seed}" in runs
            assert f"{arch} teacher seed{seed}" in runs
    paper = json.loads((out / "paper.json").read_text())["runs"]
    assert sorted(paper) == sorted(
        f"1x1000 {c} {m} seed{s}" for c in ("1/8", "1/64")
        for m in experiments.PAPER_METHODS for s in (0, 1))
    distilled = json.loads((out / "distillation.json").read_text())["runs"]
    assert sorted(distilled) == sorted(
        [f"1x1000 {c} T{t} w0.9 seed{s}" for c in ("1/8", "1/64") for t in (2, 8)
         for s in (0, 1)] + [f"1x1000 teacher seed{s}" for s in (0, 1)])
    assert all(r["clipped_steps"] <= r["steps"] for r in runs.values())
    expansion = json.loads((out / "expansion.json").read_text())["runs"]
    assert {r["stored_params"] for r in expansion.values()} == {DENSE_50}
    assert [expansion[f"x{f}"]["hidden_widths"] for f in experiments.EXPANSIONS] == [
        [50 * f] for f in experiments.EXPANSIONS]
    compression = json.loads((out / "compression.json").read_text())["runs"]
    assert sorted(compression) == sorted(f"{m} 1" for m in experiments.METHODS)

    report = (out / "RESULTS.md").read_text()
    assert ("python -m sk_hashednets.experiments table1 --epochs 2 --patience 2 "
            "--train-size 60000 --seed 0 --seeds 0 1") in report
    assert "Best settings: HashedNets: `" in report
    assert "fired in at most" in report
    assert "| 1x1000 | 1/64 |" in report
    assert (out / "expansion.png").stat().st_size > 0
    assert (out / "compression.png").stat().st_size > 0

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(experiments, "fit_and_score", no_training)
    assert experiments.main(["sweep", "table1", "paper", "distillation",
                             "compression", "expansion", *base]) == 0
    # other options are an error, and the stored runs stay
    assert experiments.main(["paper", *base, "--seeds", "0"]) == 2
    assert json.loads((out / "paper.json").read_text())["runs"] == paper


def test_digits_dataset(tmp_path, small_experiments):
    out = tmp_path / "digits"
    assert experiments.main(["sweep", "--dataset", "digits", "--epochs", "1",
                             "--out", str(out)]) == 0
    report = (out / "RESULTS.md").read_text()
    assert "comparisons on digits" in report
    assert "--dataset digits" in report


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
        n_buckets=experiments.expansion_buckets(width, n_features=12, n_classes=3,
                                                base_width=base)).fit(X, y)
    assert net.n_stored_params_ == 12 * base + base + base * 3 + 3
    assert net.n_virtual_params_ == 12 * width + width + width * 3 + 3


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    code = experiments.main(["sweep", "--data", str(tmp_path), "--out",
                             str(tmp_path / "docs")])
    assert code == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_ties_are_differences_within_two_standard_errors():
    # two standard errors of a difference of two 15% errors on 10,000 images: 1.0
    assert _report._versus(0.150, 0.159) == "ties"
    assert _report._versus(0.150, 0.162) == "beats"
    assert _report._versus(0.162, 0.150) == "loses to"
    # with seeds, their spread counts when it is the larger error
    assert _report._versus([0.150, 0.151, 0.149], [0.162, 0.163, 0.161]) == "beats"
    assert _report._versus([0.13, 0.15, 0.17], [0.16, 0.18, 0.20]) == "ties"


def test_claims_are_computed_from_the_runs():
    def run(error):
        return {"test_error": error}

    table1 = {"1x1000 1/64 hashing seed0": run(0.20),
              "1x1000 1/64 low_rank seed0": run(0.35),
              "1x1000 1/64 random_edges seed0": run(0.201),
              "1x1000 1/64 shrunk seed0": run(0.18),
              "1x1000 1/64 hashing+teacher seed0": run(0.17)}
    expansion = {"x1": run(0.20), "x2": run(0.18), "x4": run(0.19), "x8": run(0.15)}
    text = _report._claims_section({"table1": table1, "expansion": expansion})
    row = next(line for line in text.splitlines() if line.startswith("| 1x1000 | 1/64"))
    assert row == ("| 1x1000 | 1/64 | 20.00 | beats (35.00) | ties (20.10) | "
                   "loses to (18.00) |")
    assert "17.00% with the teacher against 20.00% without: it beats" in text
    assert "lowest at x8; it rises from x2 to x4. x8 against x1: beats." in text


def test_curve_claims_compare_hashing_at_the_curve_only_compressions():
    def run(error):
        return {"test_error": error}

    compression = {"hashing 1/16": run(0.150), "low_rank 1/16": run(0.170),
                   "random_edges 1/16": run(0.155), "shrunk 1/16": run(0.120),
                   "hashing 1/2": run(0.110)}
    table1 = {"1x1000 1/8 hashing seed0": run(0.5),
              "1x1000 1/8 low_rank seed0": run(0.1)}
    text = _report._claims_section({"table1": table1, "compression": compression})
    line = next(x for x in text.splitlines() if x.startswith("- Error against"))
    # 1/8 belongs to Table 1's check (with its seeds), not to this line; 1/2
    # has nothing to compare with
    assert "1/8" not in line and "1/2" not in line
    assert line == ("- Error against compression, one seed per point: HashedNets "
                    "at 1/16 15.00%: beats Low-rank (LRD) (17.00), "
                    "ties Random edges (RER) (15.50), loses to Equal-storage NN "
                    "(12.00).")


def test_each_method_takes_its_own_best_setting_from_the_sweep(tmp_path, capsys):
    names = experiments.settings_of("low_rank")
    validation = {"hashing": (0.20, 0.15, 0.16), "hashing_blocks": (0.1, 0.2, 0.3),
                  "low_rank": (0.3, 0.35, 0.4),
                  "random_edges": (0.1, 0.2, 0.3), "shrunk": (0.5, 0.4, 0.2)}
    sweep = {}
    for method, errors in validation.items():
        for i, name in enumerate(experiments.settings_of(method)):
            for c in ("1/8", "1/64"):
                error = errors[i] if i < 3 else 0.9
                sweep[f"{name} | {c} {method}"] = {"best_validation_error": error}
    assert experiments.best_settings(sweep) == {
        "hashing": names[1], "hashing_blocks": names[0], "low_rank": names[0],
        "random_edges": names[0], "shrunk": names[2]}
    sweep[f"{names[3]} rescaled | 1/8 hashing"]["best_validation_error"] = 0.01
    sweep[f"{names[3]} rescaled | 1/64 hashing"]["best_validation_error"] = 0.01
    assert experiments.best_settings(sweep)["hashing"] == f"{names[3]} rescaled"
    assert experiments.setting_params(f"{names[3]} rescaled") == {
        "solver": "sgd", "learning_rate_init": 0.003, "rescale_grad": True}
    del sweep[f"{names[0]} | 1/64 low_rank"]  # an incomplete sweep is an error
    with pytest.raises(ValueError, match="run the sweep experiment to the end"):
        experiments.best_settings(sweep)
    assert experiments.main(["table1", "--out", str(tmp_path)]) == 2
    assert "run it first" in capsys.readouterr().err


def test_every_experiment_has_a_description(capsys):
    with pytest.raises(SystemExit):
        experiments.main(["--help"])
    text = capsys.readouterr().out
    for name in ("sweep", "table1", "paper", "distillation", "compression",
                 "expansion", "report"):
        assert f"  {name} " in text
    assert "(default: 50)" in text and "(default: docs)" in text
