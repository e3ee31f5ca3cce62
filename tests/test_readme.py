"""The README's snippets for distributed search, persistence and sparse input run
as written, each as a script in a fresh interpreter."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sk_hashednets

pytestmark = pytest.mark.slow  # fresh kernels, processes or clusters

README = Path(__file__).resolve().parents[1] / "README.md"
SECTIONS = ("Grid search on a Dask cluster", "Saving and loading models",
            "Sparse input and text")


def _snippets():
    """(section title, code) of each ```python block in SECTIONS."""
    found = []
    for section in re.split(r"^## ", README.read_text(), flags=re.MULTILINE)[1:]:
        title = section.splitlines()[0].strip()
        if title in SECTIONS:
            found += [(title, code) for code in
                      re.findall(r"^```python\n(.*?)^```", section,
                                 flags=re.MULTILINE | re.DOTALL)]
    return found


SNIPPETS = _snippets()


def test_each_section_has_a_snippet():
    assert sorted({title for title, _ in SNIPPETS}) == sorted(SECTIONS)


@pytest.mark.timeout(1800)  # a guard against a hung cluster, not a speed limit
@pytest.mark.parametrize("title, code", SNIPPETS, ids=[t for t, _ in SNIPPETS])
def test_readme_snippet_runs(title, code, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = dict(os.environ)
    package_root = str(Path(sk_hashednets.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root, *filter(None, [env.get("PYTHONPATH")])])
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    if title == "Saving and loading models":
        assert "['sk_hashednets.HashedMLPClassifier']" in result.stdout
    if title == "Sparse input and text":
        accuracy = float(re.search(r"accuracy (\d\.\d+)", result.stdout).group(1))
        assert accuracy >= 0.9
