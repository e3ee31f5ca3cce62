"""The user guide's snippets for distributed search, persistence, quantized
training and sparse input run as written, each as a script in a fresh
interpreter."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sk_hashednets

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide"
PAGES = ("distributed", "persistence", "quantize", "sparse")


def python_blocks(text):
    """The code of each ```python block of a Markdown text."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def run_script(code, cwd):
    """Run ``code`` in a fresh interpreter that imports this tree's package."""
    script = cwd / "snippet.py"
    script.write_text(code)
    env = dict(os.environ)
    package_root = str(Path(sk_hashednets.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root, *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, str(script)], cwd=cwd, env=env,
                          capture_output=True, text=True)


SNIPPETS = [(page, code) for page in PAGES
            for code in python_blocks((GUIDE / f"{page}.md").read_text())]


def test_each_page_has_a_snippet():
    assert sorted({page for page, _ in SNIPPETS}) == sorted(PAGES)


@pytest.mark.slow  # fresh processes, a Dask cluster
@pytest.mark.timeout(1800)  # a guard against a hung cluster, not a speed limit
@pytest.mark.parametrize("page, code", SNIPPETS, ids=[p for p, _ in SNIPPETS])
def test_guide_snippet_runs(page, code, tmp_path):
    result = run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    if page == "persistence":
        assert "['sk_hashednets.HashedMLPClassifier']" in result.stdout
    if page == "sparse":
        accuracy = float(re.search(r"accuracy (\d\.\d+)", result.stdout).group(1))
        assert accuracy >= 0.9
