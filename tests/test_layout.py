"""The layout stays one concern per file: no package module over 600 lines,
no test file over 500, no benchmark file over 400, and the development
page's layout lists every module of the package."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sk_hashednets"

#: files allowed over their limit, and why
EXCEPTIONS = {
}


def _files(folder, limit):
    return [pytest.param(path, limit, id=str(path.relative_to(ROOT)))
            for path in sorted(folder.rglob("*.py")) if "__pycache__" not in path.parts]


@pytest.mark.parametrize(
    "path, limit",
    _files(PACKAGE, 600) + _files(ROOT / "tests", 500)
    + _files(ROOT / "benchmarks", 400))
def test_no_file_over_its_limit(path, limit):
    name = path.relative_to(ROOT).as_posix()
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= EXCEPTIONS.get(name, limit), (
        f"{name} has {n_lines} lines, more than {limit}: split it along its "
        "concerns")


def test_the_development_page_lists_every_module():
    page = (ROOT / "docs" / "user_guide" / "development.md").read_text()
    layout = re.search(r"## Layout\n(.*?)\n## ", page, re.S).group(1)
    listed = set(re.findall(r"\w+\.py", layout))
    modules = {p.name for p in PACKAGE.rglob("*.py")}
    assert modules - listed == set(), "add them to the layout section"
    known = modules | {p.name for folder in ("benchmarks", "tests")
                       for p in (ROOT / folder).rglob("*.py")}
    assert listed - known == set(), "remove them from the layout section"
    for folder in (p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        assert f"{folder.name}/" in layout
