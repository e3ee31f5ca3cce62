"""Every notebook in notebooks/ runs top to bottom in a fresh kernel and plots.

The suite runs them with SK_HASHEDNETS_QUICK=1 (small networks, few epochs),
on an in-memory copy: the committed files keep the outputs of the full
settings, made with ``jupyter execute --inplace notebooks/NAME.ipynb``.
"""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import sk_hashednets

pytestmark = pytest.mark.slow  # fresh kernels, processes or clusters

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
ids = [path.stem for path in NOTEBOOKS]


def _images(nb):
    return [output for cell in nb.cells if cell.cell_type == "code"
            for output in cell.outputs if "image/png" in output.get("data", {})]


def _execute(path, monkeypatch):
    """Run a notebook in a fresh kernel with the quick settings; return it."""
    monkeypatch.setenv("SK_HASHEDNETS_QUICK", "1")
    # the kernel imports the same sk_hashednets as this test session
    package_root = str(Path(sk_hashednets.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # start from a clean slate, not the committed outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, kernel_name="python3", timeout=900,
                            startup_timeout=300,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    assert _images(nb), f"{path.name} draws no plot"
    errors = [o for cell in nb.cells if cell.cell_type == "code"
              for o in cell.outputs if o.output_type == "error"]
    assert not errors
    return nb


@pytest.mark.timeout(1800)  # a guard against a hung kernel, not a speed limit
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_runs_in_a_fresh_kernel_and_plots(path, monkeypatch):
    _execute(path, monkeypatch)


@pytest.mark.timeout(1800)
def test_paper_notebook_falls_back_to_digits(tmp_path, monkeypatch):
    """Without Fashion-MNIST, 03_paper says so and runs on digits instead.

    The environment variable is looked at before the system folder, so an
    empty folder there hides an installed copy of the data.
    """
    monkeypatch.setenv("SK_HASHEDNETS_FASHION_MNIST", str(tmp_path))
    nb = _execute(NOTEBOOK_DIR / "03_paper.ipynb", monkeypatch)
    printed = "".join(o.get("text", "") for cell in nb.cells
                      if cell.cell_type == "code" for o in cell.outputs)
    assert "Falling back to scikit-learn's digits" in printed
    assert "apt-get install dataset-fashion-mnist" in printed
    assert "data: digits, 1,257 training and 540 test images of 64 pixels" in printed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_notebook_keeps_its_outputs(path):
    """A reader sees the plots on the repository page without running anything."""
    nb = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells), (
        f"{path.name} has cells that were not run: run "
        f"`jupyter execute --inplace notebooks/{path.name}` and commit it")
    counts = [cell.execution_count for cell in code_cells]
    assert counts == list(range(1, len(counts) + 1)), "run top to bottom, once"
    assert _images(nb)
    assert not any(o.output_type == "error" for cell in code_cells
                   for o in cell.outputs)
    # the suite's quick settings reach the notebook
    assert any("SK_HASHEDNETS_QUICK" in cell.source for cell in code_cells)
