"""The README's main-job table is what ``python -m sk_hashednets`` prints."""

import re
from pathlib import Path

import pytest

from sk_hashednets.__main__ import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
ROW = re.compile(r"^\s*(\d+(?:/\d+)?)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+"
                 r"(\d\.\d{4})\s+(\d+\.\d\d)$")


def table_rows(text):
    """(compression, stored params, virtual params, test accuracy) per row."""
    return [(m[1], m[2], m[3], m[5]) for line in text.splitlines()
            if (m := ROW.match(line))]


def readme_table():
    intro = README.index("The main job trains one network")
    block = README[intro:].split("```\n", 2)[1]
    return block


def test_the_readme_shows_the_whole_output():
    block = readme_table()
    lines = block.splitlines()
    assert lines[0].startswith("sk_hashednets ") and ": digits, " in lines[0]
    assert lines[1].split()[0] == "compression" and set(lines[2]) == {"-"}
    assert [row[0] for row in table_rows(block)] == ["1", "1/8", "1/64"]


@pytest.mark.slow  # three fits of a 64-1000-10 network
def test_the_readme_table_is_what_the_main_job_prints(capsys):
    assert main([]) == 0
    printed = capsys.readouterr().out
    assert table_rows(printed) == table_rows(readme_table())
    # the first line too, but for the version
    first = re.sub(r"^sk_hashednets \S+", "", printed.splitlines()[0])
    assert first == re.sub(r"^sk_hashednets \S+", "", readme_table().splitlines()[0])
