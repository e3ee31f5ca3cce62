"""The main job: ``python -m sk_hashednets``."""

import re
import subprocess
import sys

import pytest

from sk_hashednets.__main__ import main


def test_main_job_prints_its_table(capsys):
    assert main(["--hidden", "64", "--epochs", "5", "--compression", "1", "1/8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "digits" in out[0]
    assert out[1].split() == ["compression", "stored", "params", "virtual", "params",
                              "pickled", "bytes", "test", "accuracy", "fit", "seconds"]
    rows = [line.split() for line in out[3:]]
    assert [row[0] for row in rows] == ["1", "1/8"]
    stored = [int(row[1].replace(",", "")) for row in rows]
    assert stored == [64 * 64 + 64 * 10 + 74, 512 + 80 + 74]
    for row in rows:
        assert 0.0 <= float(row[4]) <= 1.0


@pytest.mark.slow
def test_main_job_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "sk_hashednets", "--hidden", "32", "--epochs", "3",
         "--compression", "1/64", "--dataset", "iris"],
        capture_output=True, text=True, check=True,
    )
    assert re.search(r"^\s+1/64\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+\d\.\d{4}\s+\d+\.\d\d$",
                     result.stdout, flags=re.MULTILINE)


@pytest.mark.parametrize("args, message", [
    (["--compression", "2"], "compression must lie in (0, 1]"),
    (["--compression", "abc"], "compression must be a number"),
    (["--hidden", "0"], "--hidden takes positive layer widths"),
    (["--dataset", "nope"], "invalid choice: 'nope'"),
])
def test_main_job_rejects_bad_options(capsys, args, message):
    with pytest.raises(SystemExit):
        main(args)
    assert message in capsys.readouterr().err


def test_help_says_what_runs_its_defaults_and_where_it_writes(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "StandardScaler followed by a\nHashedMLPClassifier" in text
    assert "nothing is written to disk" in text
    options = re.findall(r"^  (--[\w-]+)", text, flags=re.MULTILINE)
    assert options == ["--dataset", "--hidden", "--compression", "--epochs", "--seed"]
    # every option's help ends with its default
    helps = re.split(r"^  --[\w-]+", text.split("options:")[1], flags=re.MULTILINE)[1:]
    for option, help_text in zip(options, helps, strict=True):
        assert "(default:" in help_text, option
