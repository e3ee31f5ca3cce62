"""sk_hashednets.experiments.report and .claims: the claims and the picks
computed from the runs, the state of the runs and the machine."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sk_hashednets.experiments import claims, cli
from sk_hashednets.experiments.results import Results, versus


def run(error, validation=None):
    return {"test_error": error, "best_validation_error": validation}


def test_ties_are_differences_within_two_standard_errors():
    # two standard errors of a difference of two 15% errors on 10,000 images: 1.0
    assert versus(0.150, 0.159) == "ties"
    assert versus(0.150, 0.162) == "beats"
    assert versus(0.162, 0.150) == "loses to"
    # with seeds, their spread counts when it is the larger error
    assert versus([0.150, 0.151, 0.149], [0.162, 0.163, 0.161]) == "beats"
    assert versus([0.13, 0.15, 0.17], [0.16, 0.18, 0.20]) == "ties"


def test_claims_are_computed_from_the_runs():
    table1 = {"1x1000 1/64 hashing seed0": run(0.20),
              "1x1000 1/64 hashing_blocks seed0": run(0.30),
              "1x1000 1/64 low_rank seed0": run(0.35),
              "1x1000 1/64 random_edges seed0": run(0.201),
              "1x1000 1/64 shrunk seed0": run(0.18),
              "1x1000 1/64 hashing+teacher seed0": run(0.17)}
    paper = {"1x1000 1/8 hashing seed0": run(0.10),
             "1x1000 1/8 hashing seed1": run(0.11),
             "1x1000 1/8 shrunk seed0": run(0.13)}
    expansion = {"x1": run(0.20), "x2": run(0.18), "x4": run(0.19), "x8": run(0.15)}
    text = claims.claims_section({
        "table1": Results(table1, {"seeds": [0]}),
        "paper": Results(paper, {"seeds": [0, 1, 2]}),
        "expansion": Results(expansion, {"seed": 0})})
    row = next(line for line in text.splitlines() if line.startswith("| 1x1000 | 1/64"))
    assert row == ("| 1x1000 | 1/64 | 20.00 | beats (35.00) | ties (20.10) | "
                   "loses to (18.00) |")
    assert "17.00% with the teacher against 20.00% without: it beats" in text
    assert ("Block hashing, 1x1000 at 1/64: 30.00% against plain hashing's "
            "20.00% (+10.00 points): it loses to plain hashing and loses to "
            "the equal-storage network (18.00%).") in text
    assert ("The paper's recipe, 1x1000 at 1/8: HashedNets 10.50 ± 0.71% against "
            "the equal-storage network's 13.00% (2 and 1 seeds): it beats it.") in text
    assert "lowest at x8; it rises from x2 to x4. x8 against x1: beats." in text


def test_curve_claims_compare_hashing_at_the_curve_only_compressions():
    compression = {"hashing 1/16": run(0.150), "low_rank 1/16": run(0.170),
                   "random_edges 1/16": run(0.155), "shrunk 1/16": run(0.120),
                   "hashing 1/2": run(0.110)}
    table1 = {"1x1000 1/8 hashing seed0": run(0.5),
              "1x1000 1/8 low_rank seed0": run(0.1)}
    text = claims.claims_section({
        "table1": Results(table1, {"seeds": [0]}),
        "compression": Results(compression, {"seed": 0})})
    line = next(x for x in text.splitlines() if x.startswith("- Error against"))
    # 1/8 belongs to Table 1's check (with its seeds), not to this line; 1/2
    # has nothing to compare with
    assert "1/8" not in line and "1/2" not in line
    assert line == ("- Error against compression, one seed per point: HashedNets "
                    "at 1/16 15.00%: beats Low-rank (LRD) (17.00), "
                    "ties Random edges (RER) (15.50), loses to Equal-storage NN "
                    "(12.00).")


def test_block_hashing_is_compared_with_hashing_along_the_curve():
    compression = {"hashing 1/16": run(0.150), "hashing_blocks 1/16": run(0.152),
                   "hashing_blocks 1/2": run(0.110), "hashing 1/2": run(0.130)}
    table1 = {"1x1000 1/8 hashing seed0": run(0.12),
              "1x1000 1/8 hashing_blocks seed0": run(0.125)}
    text = claims.claims_section({
        "table1": Results(table1, {"seeds": [0]}),
        "compression": Results(compression, {"seed": 0})})
    line = next(x for x in text.splitlines() if x.startswith("- Block hashing against"))
    assert line == ("- Block hashing against plain hashing along the curve, one "
                    "seed per point: at 1/2 11.00% against 13.00% (-2.00 points, "
                    "beats); at 1/8 12.50% against 12.00% (+0.50 points, ties); "
                    "at 1/16 15.20% against 15.00% (+0.20 points, ties).")


def test_the_report_says_what_is_left_and_how_to_finish_it(tmp_path):
    settings = {"dataset": "fashion-mnist", "epochs": 50, "train_size": 60000,
                "patience": 10, "seed": 0, "max_grad_norm": 100.0, "seeds": [0],
                "best": {"hashing": "adam 0.001"}}
    (tmp_path / "table1.json").write_text(json.dumps({
        "settings": settings, "runs": {"1x1000 1/8 hashing seed0": {
            "test_error": 0.12, "best_validation_error": 0.11, "seconds": 60.0,
            "best_epoch": 3, "epochs_run": 5,
            "clipped_steps": 0, "steps": 10, "stored_params": 1,
            "hidden_widths": [1000]}}}))
    assert cli.main(["report", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| table1 | 1 of 26 |" in text  # 1x1000 and 3x1000, one seed
    assert "| paper | 0 of 6 |" in text
    assert ("nice -n 19 python -m sk_hashednets.experiments paper --epochs 50 "
            "--patience 10 --train-size 60000 --seed 0 --seeds 0 --shard $I/2 "
            "--wait --out docs") in text
    assert f"{os.cpu_count()} cores" in text
    assert "(these runs do not name them)" in text  # stored without a blas field


def test_the_module_runs_as_a_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sk_hashednets.experiments",
                           "report", "--out", str(tmp_path)],
                          cwd=Path(__file__).parents[1], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "RESULTS.md").exists()


def test_the_pick_per_budget_is_chosen_on_validation_error_only():
    def seeds(key, tests, validations):
        return {f"{key} seed{s}": run(e, v)
                for s, (e, v) in enumerate(zip(tests, validations))}

    best = {"hashing": "adam 0.001", "shrunk": "adam 0.001"}
    table1 = {**seeds("1x1000 1/64 hashing", [0.140, 0.142], [0.130, 0.132]),
              **seeds("1x1000 1/64 shrunk", [0.158, 0.156], [0.150, 0.148]),
              **seeds("1x1000 1/64 hashing+teacher", [0.139, 0.141], [0.131, 0.133])}
    # the paper's recipe has the best test error but not the best validation
    paper = seeds("1x1000 1/64 hashing", [0.138, 0.139], [0.140, 0.141])
    search = {**seeds("1x1000 1/64 T2 w0.5", [0.160, 0.161], [0.151, 0.152]),
              **seeds("1x1000 1/64 T4 w0.9", [0.150, 0.152], [0.129, 0.129])}
    stored = {"table1": Results(table1, {"seeds": [0, 1], "best": best}),
              "paper": Results(paper, {"seeds": [0, 1, 2],
                                       "best": {"hashing": "paper sgd 0.01"}})}
    row = next(line for line in claims.picks_section(stored).splitlines()
               if line.startswith("| 1x1000 | 1/64"))
    assert row == ("| 1x1000 | 1/64 | HashedNets (`adam 0.001`) | 14.10 ± 0.14 | "
                   "HashedNets, the paper's recipe 13.85 ± 0.07; HashedNets + "
                   "dark knowledge 14.00 ± 0.14 |")
    # the searched distillation setting with the lowest validation error
    # stands for distillation (and is the pick here); the dense net, beaten
    # on test, is left out
    stored["distillation"] = Results(search, {"seeds": [0, 1],
                                              "student": "adam 0.001"})
    row = next(line for line in claims.picks_section(stored).splitlines()
               if line.startswith("| 1x1000 | 1/64"))
    assert row.startswith("| 1x1000 | 1/64 | HashedNets + dark knowledge "
                          "(`adam 0.001, T=4 w=0.9`) | 15.10 ± 0.14 | ")
    assert "Equal-storage NN" in row and "HashedNets 14.10 ± 0.14 (beats it)" in row
    assert "| 3x1000 |" not in claims.picks_section(stored)


def test_distillation_is_claimed_at_its_searched_setting_chosen_on_validation():
    table1 = {"1x1000 1/8 hashing seed0": run(0.120)}
    search = {"1x1000 1/8 T2 w0.5 seed0": run(0.100, 0.112),
              "1x1000 1/8 T8 w0.9 seed0": run(0.150, 0.111)}
    text = claims.claims_section({
        "table1": Results(table1, {"seeds": [0]}),
        "distillation": Results(search, {"seeds": [0, 1],
                                         "student": "adam 0.001"})})
    assert ("- Dark knowledge with its settings searched, 1x1000 at 1/8: "
            "HashedNets + dark knowledge (`adam 0.001, T=8 w=0.9`, 1 of 2 "
            "seeds), the lowest validation error of the search, 15.00% against "
            "12.00% without a teacher: it loses to plain hashing.") in text


def test_the_report_says_when_distillation_is_best_at_the_search_edge(tmp_path):
    settings = {"dataset": "fashion-mnist", "epochs": 50, "train_size": 60000,
                "patience": 10, "seed": 0, "max_grad_norm": 100.0, "seeds": [0],
                "teacher": "adam 0.001", "student": "adam 0.001"}
    result = {"test_error": 0.12, "best_validation_error": 0.11, "seconds": 1.0}
    runs = {"1x1000 1/8 T2 w0.5 seed0": result,
            "1x1000 1/8 T4 w0.5 seed0": {**result, "best_validation_error": 0.12},
            "1x1000 1/64 T4 w0.9 seed0": {**result, "best_validation_error": 0.1},
            "1x1000 1/64 T4 w0.5 seed0": result}
    (tmp_path / "distillation.json").write_text(json.dumps(
        {"settings": settings, "runs": runs}))
    assert cli.main(["report", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert ("At 1/8 the setting with the lowest validation error (T=2, w=0.5) "
            "has the lowest temperature tried and the lowest weight tried") in text
    assert ("At 1/64 the setting with the lowest validation error (T=4, w=0.9) "
            "has the highest weight tried:") in text
