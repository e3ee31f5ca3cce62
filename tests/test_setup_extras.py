"""Every extra installs what its users import: the notebooks' imports are all
covered by the ``notebooks`` extra (or by the package's own requirements)."""

import configparser
import json
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def requirement_names(text):
    """Normalised distribution names of a setup.cfg requirement list."""
    names = set()
    for line in text.strip().splitlines():
        name = re.match(r"\s*([A-Za-z0-9._-]+)", line).group(1)
        names.add(re.sub(r"[-_.]+", "-", name).lower())
    return names


def notebook_imports(path):
    """Top-level modules imported by the code cells of a notebook."""
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells
                     if cell["cell_type"] == "code")
    return set(re.findall(r"^\s*(?:import|from)\s+(\w+)", code, flags=re.MULTILINE))


def distributions(module):
    """The distributions that provide ``module``; its own name when it is not
    installed here (then the extra must list it under that name)."""
    found = packages_distributions().get(module, [module])
    return {re.sub(r"[-_.]+", "-", name).lower() for name in found}


@pytest.mark.slow  # imports every notebook dependency
def test_notebooks_extra_installs_every_import():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    core = requirement_names(setup["options"]["install_requires"])
    extra = requirement_names(setup["options.extras_require"]["notebooks"])
    missing = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for module in notebook_imports(path):
            if module in sys.stdlib_module_names or module == "sk_hashednets":
                continue
            if not distributions(module) & (core | extra):
                missing.setdefault(module, []).append(path.name)
    assert not missing, f"imported by the notebooks but not in the extra: {missing}"
    # what runs them: a kernel, and `jupyter execute` (nbclient)
    assert {"ipykernel", "nbclient"} <= extra


def test_the_check_sees_the_notebooks_imports():
    """The parser finds what the notebooks do import (so the test above can fail)."""
    found = set().union(*(notebook_imports(path)
                          for path in (ROOT / "notebooks").glob("*.ipynb")))
    assert {"pandas", "matplotlib", "sklearn", "skops", "numpy"} <= found
    assert distributions("sklearn") == {"scikit-learn"}
