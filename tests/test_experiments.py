"""The experiments command: storage held fixed, resumable runs, honest report."""

import json

import numpy as np
import pytest
from conftest import write_fashion_mnist
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier, experiments

DENSE_50 = 784 * 50 + 50 * 10 + 50 + 10  # a dense 784-50-10 network's parameters


@pytest.fixture
def small_fashion(tmp_path):
    (tmp_path / "data").mkdir()
    return write_fashion_mnist(tmp_path / "data", n_train=100, n_test=20)


def test_expansion_runs_at_fixed_storage_resumes_and_reports(small_fashion, tmp_path,
                                                             monkeypatch):
    out = tmp_path / "docs"
    argv = ["expansion", "--epochs", "2", "--patience", "2",
            "--data", str(small_fashion), "--out", str(out)]
    assert experiments.main(argv) == 0
    runs = json.loads((out / "expansion.json").read_text())["runs"]
    assert list(runs) == [f"x{f}" for f in experiments.EXPANSIONS]
    assert {r["stored_params"] for r in runs.values()} == {DENSE_50}
    virtual = [r["virtual_params"] for r in runs.values()]
    assert virtual == sorted(virtual) and virtual[-1] > 30 * virtual[0]
    assert [r["hidden_widths"] for r in runs.values()] == [
        [50 * f] for f in experiments.EXPANSIONS]
    report = (out / "RESULTS.md").read_text()
    assert ("python -m sk_hashednets.experiments expansion --epochs 2 --patience 2 "
            "--train-size 60000 --learning-rate 0.03 --seed 0") in report
    assert (out / "expansion.png").stat().st_size > 0
    assert "Expansion at fixed storage: the error goes from" in report

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(experiments, "fit_and_score", no_training)
    assert experiments.main(argv) == 0  # every run is read back from the JSON file


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
    code = experiments.main(["table1", "--data", str(tmp_path), "--out",
                             str(tmp_path / "docs")])
    assert code == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_ties_are_differences_within_two_standard_errors():
    # two standard errors of a difference of two 15% errors on 10,000 images: 1.0
    assert experiments._versus(0.150, 0.159) == "ties"
    assert experiments._versus(0.150, 0.162) == "beats"
    assert experiments._versus(0.162, 0.150) == "loses to"


def test_claims_are_computed_from_the_runs():
    def run(error):
        return {"test_error": error}

    table1 = {"1x1000 1/64 hashing": run(0.20), "1x1000 1/64 low_rank": run(0.35),
              "1x1000 1/64 random_edges": run(0.201), "1x1000 1/64 shrunk": run(0.18),
              "1x1000 1/64 hashing+teacher": run(0.17)}
    expansion = {"x1": run(0.20), "x2": run(0.18), "x4": run(0.19), "x8": run(0.15)}
    text = experiments._claims_section({"table1": table1, "expansion": expansion})
    row = next(line for line in text.splitlines() if line.startswith("| 1x1000 | 1/64"))
    assert row == ("| 1x1000 | 1/64 | 20.00 | beats (35.00) | ties (20.10) | "
                   "loses to (18.00) |")
    assert "17.00% with the teacher against 20.00% without: it beats" in text
    assert "lowest at x8; it rises from x2 to x4. x8 against x1: beats." in text


def test_each_method_takes_its_own_best_rate_from_the_sweep(tmp_path, capsys):
    validation = {"hashing": (0.20, 0.15, 0.16), "low_rank": (0.3, 0.35, 0.4),
                  "random_edges": (0.1, 0.2, 0.3), "shrunk": (0.5, 0.4, 0.2)}
    sweep = {f"{rate} {c} {m}": {"best_validation_error": errors[i]}
             for m, errors in validation.items()
             for i, rate in enumerate(experiments.SWEEP_RATES[:3])
             for c in ("1/8", "1/64")}
    rates = experiments.SWEEP_RATES
    assert experiments.method_rates(sweep) == {
        "hashing": rates[1], "low_rank": rates[0], "random_edges": rates[0],
        "shrunk": rates[2]}
    del sweep[f"{rates[0]} 1/64 low_rank"]  # an incomplete rate does not count
    assert experiments.method_rates(sweep)["low_rank"] == rates[1]
    assert experiments.main(["tuned", "--out", str(tmp_path)]) == 2
    assert "run it first" in capsys.readouterr().err
