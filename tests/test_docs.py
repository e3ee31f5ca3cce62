"""The documentation site builds with warnings as errors: a broken reference,
a docstring that is not valid reST or a failing gallery example fails here."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REASON = 'the docs extra is not installed (pip install ".[docs]")'


@pytest.mark.slow
@pytest.mark.timeout(900)  # a guard against a hung build, not a speed limit
def test_site_builds_without_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme",
                   "myst_parser"):
        pytest.importorskip(module, reason=REASON)
    html = tmp_path / "html"
    # the README's build command, with the output in a temporary folder
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
         "-d", str(tmp_path / "doctrees"), "docs", str(html)],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]

    for name in ("HashedMLPClassifier", "HashedMLPRegressor", "export_c"):
        page = (html / "generated" / f"sk_hashednets.{name}.html").read_text()
        assert f'id="sk_hashednets.{name}"' in page
    classifier = (html / "generated" / "sk_hashednets.HashedMLPClassifier.html")
    assert 'id="sk_hashednets.HashedMLPClassifier.fit"' in classifier.read_text()

    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    assert len(examples) >= 5
    for example in examples:
        page = (html / "auto_examples" / f"{example.stem}.html").read_text()
        images = re.findall(rf'src="[^"]*sphx_glr_{example.stem}_\d+\.png"', page)
        assert images, f"{example.name} draws no figure"
        assert (html / "_images" / f"sphx_glr_{example.stem}_001.png").exists()

    # the pages that take over the README's former sections are all there
    for page in ("method", "robustness", "persistence", "sparse", "distributed",
                 "export_c", "speed", "comparisons"):
        assert (html / "user_guide" / f"{page}.html").exists()
    assert (html / "RESULTS.html").exists()
