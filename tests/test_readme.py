"""The README is the front door: short, with a table of contents, the two
commands that CI runs, and a quickstart that prints what it says it prints."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_guide_snippets import python_blocks, run_script

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title):
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def anchor(title):
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_readme_is_short():
    assert len(README.splitlines()) <= 250


def test_readme_holds_the_two_commands_verbatim():
    lines = README.splitlines()
    assert 'pip install . && python -m sk_hashednets' in lines
    assert 'pip install ".[test]" && python -m pytest' in lines
    # .ci/run checks the same lines
    ci = (ROOT / ".ci" / "run").read_text()
    assert "main_job='pip install . && python -m sk_hashednets'" in ci
    assert """test_suite='pip install ".[test]" && python -m pytest'""" in ci


def test_table_of_contents_lists_every_section():
    headings = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    assert headings[0] == "Contents"
    links = re.findall(r"^- \[(.+?)\]\(#(.+?)\)$", section("Contents"),
                       flags=re.MULTILINE)
    assert links == [(title, anchor(title)) for title in headings[1:]]


def test_local_links_point_at_files():
    for target in re.findall(r"\]\(([^)#]+?)(?:#[^)]*)?\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_readme_names_the_docs_build_command():
    assert ('pip install ".[docs]" && python -m sphinx -W -b html docs '
            'docs/_build/html') in README.splitlines()


@pytest.mark.slow  # a fresh process that trains and compiles
def test_quickstart_prints_its_expected_output_and_exports(tmp_path):
    quickstart = section("Quickstart")
    code, = python_blocks(quickstart)
    expected = re.search(r"^prints .*?\n\n```\n(.*?)```", quickstart,
                         flags=re.MULTILINE | re.DOTALL).group(1)
    export, = python_blocks(section("Export to C in five lines"))
    assert len(export.strip().splitlines()) <= 5
    result = run_script(code + export, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == expected
    source = (tmp_path / "digits.c").read_text()
    assert "void digits_predict_proba(const float *x, float *out)" in source
    assert (tmp_path / "digits.h").exists()
    if shutil.which("gcc") is None:
        pytest.skip("no gcc to compile the exported file")
    subprocess.run(["gcc", "-std=c99", "-O2", "-c", "digits.c"], cwd=tmp_path,
                   check=True)
