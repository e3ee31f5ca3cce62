"""sk_hashednets.experiments.runs and .cli: resumable runs in several
processes, and the command line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_fashion_mnist

import sk_hashednets
from sk_hashednets.experiments import cli, plan, report, runs

DENSE_50 = 784 * 50 + 50 * 10 + 50 + 10  # a dense 784-50-10 network's parameters


@pytest.fixture
def small_fashion(tmp_path):
    (tmp_path / "data").mkdir()
    return write_fashion_mnist(tmp_path / "data", n_train=100, n_test=20)


@pytest.fixture
def small_experiments(monkeypatch):
    """The experiments at a small scale: two settings, narrow networks."""
    small = {"SOLVER_RATES": (("sgd", 0.03), ("adam", 0.001)),
             "ARCHITECTURES": {"1x1000": (16,), "3x1000": (8, 8, 8)},
             "COMPRESSIONS": (1.0, 1 / 8, 1 / 64), "PAPER_RATES": (0.03,),
             "PAPER_EPOCHS": 3, "TEMPERATURES": (2, 8),
             "DISTILLATION_WEIGHTS": (0.9,)}
    for name, value in small.items():
        for module in (plan, runs, report):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)


@pytest.mark.slow
def test_every_experiment_in_two_processes_resumes_and_reports(
        small_fashion, tmp_path, monkeypatch, small_experiments):
    out = tmp_path / "docs"
    base = ["--epochs", "2", "--patience", "2", "--seeds", "0", "1",
            "--data", str(small_fashion), "--out", str(out)]
    # the sweep must come first
    assert cli.main(["table1", *base]) == 2
    for shard in ("0/2", "1/2"):  # two processes share each experiment's file
        assert cli.main(["sweep", *base, "--shard", shard]) == 0
    sweep = json.loads((out / "sweep.json").read_text())["runs"]
    # 2 settings x 2 compressions x 5 methods, both hashings' rescaled
    # versions, and the paper's recipe at one rate for three methods
    assert len(sweep) == 2 * 2 * 5 + 2 * 2 * 2 + 2 * 3
    assert "adam 0.001 rescaled | 1/64 hashing_blocks" in sweep
    assert sweep["paper sgd 0.03 | 1/8 shrunk"]["epochs_run"] <= 3
    best = plan.best_settings(sweep)
    assert set(best) == set(plan.METHODS)
    assert plan.best_settings(sweep, "paper") == {
        m: "paper sgd 0.03" for m in plan.PAPER_METHODS}
    for shard in ("0/2", "1/2"):
        assert cli.main(["table1", "paper", "distillation", "compression",
                         "expansion", *base, "--shard", shard]) == 0
    table1 = json.loads((out / "table1.json").read_text())
    assert table1["settings"]["best"] == best
    stored = table1["runs"]
    assert sorted(stored) == sorted({plan.run_key(run) for run in
                                     plan.planned_runs("table1", (0, 1))})
    assert "3x1000 1/64 hashing_blocks seed1" in stored
    assert all(r["clipped_steps"] <= r["steps"] for r in stored.values())
    # each run records what gives its bits again: the code and BLAS's kernels
    assert {(r["version"], r["blas"]) for r in stored.values()} == {
        (sk_hashednets.__version__, runs.describe_blas())}
    paper = json.loads((out / "paper.json").read_text())["runs"]
    assert sorted(paper) == sorted(
        f"1x1000 {c} {m} seed{s}" for c in ("1/8", "1/64")
        for m in plan.PAPER_METHODS for s in (0, 1))
    distilled = json.loads((out / "distillation.json").read_text())["runs"]
    assert sorted(distilled) == sorted(
        [f"1x1000 {c} T{t} w0.9 seed{s}" for c in ("1/8", "1/64") for t in (2, 8)
         for s in (0, 1)] + [f"1x1000 teacher seed{s}" for s in (0, 1)])
    expansion = json.loads((out / "expansion.json").read_text())["runs"]
    assert {r["stored_params"] for r in expansion.values()} == {DENSE_50}
    assert [expansion[f"x{f}"]["hidden_widths"] for f in plan.EXPANSIONS] == [
        [50 * f] for f in plan.EXPANSIONS]
    compression = json.loads((out / "compression.json").read_text())["runs"]
    assert sorted(compression) == sorted(f"{m} 1" for m in plan.METHODS)

    text = (out / "RESULTS.md").read_text()
    assert ("python -m sk_hashednets.experiments table1 --epochs 2 --patience 2 "
            "--train-size 60000 --seed 0 --seeds 0 1") in text
    assert "Best settings: HashedNets: `" in text
    assert "## What to pick per budget" in text
    assert "every run names them in its `blas` field" in text
    assert "The paper's recipe, 1x1000 at 1/64: HashedNets" in text
    assert "Block hashing, 1x1000 at 1/8" in text
    assert "| 1x1000 | 1/64 |" in text and "fired in at most" in text
    assert "Runs still to do" not in text
    assert (out / "expansion.png").stat().st_size > 0
    assert (out / "compression.png").stat().st_size > 0

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(runs, "fit_and_score", no_training)
    assert cli.main(["sweep", "table1", "paper", "distillation", "compression",
                     "expansion", *base]) == 0
    # other options are an error, and the stored runs stay
    assert cli.main(["paper", *base, "--seeds", "0"]) == 2
    assert json.loads((out / "paper.json").read_text())["runs"] == paper


def test_a_file_with_other_settings_is_refused_and_kept(tmp_path):
    path = tmp_path / "table1.json"
    stored = {"settings": {"epochs": 50, "best": {"hashing": "adam 0.001"}},
              "runs": {"1x1000 1/8 hashing seed0": {"test_error": 0.1}}}
    path.write_text(json.dumps(stored))
    # a method added to the best settings keeps the stored runs
    grown = runs.Runs(path, {"epochs": 50, "best": {"hashing": "adam 0.001",
                                                    "shrunk": "sgd 0.1"}})
    assert grown.runs == stored["runs"]
    for other in ({"epochs": 20, "best": {"hashing": "adam 0.001"}},
                  {"epochs": 50, "best": {"hashing": "sgd 0.1"}},
                  {"epochs": 50, "best": {}}):
        with pytest.raises(runs.SettingsMismatch, match="other settings"):
            runs.Runs(path, other)
    assert json.loads(path.read_text()) == stored


def test_digits_dataset(tmp_path, small_experiments):
    out = tmp_path / "digits"
    assert cli.main(["sweep", "--dataset", "digits", "--epochs", "1",
                     "--out", str(out)]) == 0
    text = (out / "RESULTS.md").read_text()
    assert "comparisons on digits" in text
    assert "--dataset digits" in text


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    code = cli.main(["sweep", "--data", str(tmp_path), "--out",
                     str(tmp_path / "docs")])
    assert code == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_nothing_is_written_into_the_package(capsys):
    package = Path(plan.__file__).parent
    assert cli.main(["report", "--out", str(package / "results")]) == 2
    assert "lies inside the package" in capsys.readouterr().err
    assert not (package / "results").exists()


def test_table1_needs_the_sweep(tmp_path, capsys):
    assert cli.main(["table1", "--out", str(tmp_path)]) == 2
    assert "run it first" in capsys.readouterr().err


def test_the_subpackage_imports_without_posix_modules():
    code = ("import sys; sys.modules['fcntl'] = None; "
            "import sk_hashednets.experiments.cli, sk_hashednets.experiments.report")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).parents[1])


def test_the_estimators_never_import_the_experiments():
    code = ("import sys, sk_hashednets, sk_hashednets._export; "
            "assert not [m for m in sys.modules if 'experiments' in m]")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).parents[1])


def test_every_experiment_has_a_description(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for name in ("sweep", "table1", "paper", "distillation", "compression",
                 "expansion", "report"):
        assert f"  {name} " in text
    assert "(default: 50)" in text and "(default: docs)" in text
