"""Sphinx configuration of the sk-hashednets documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` from the top folder.
"""

import os
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document this tree, not another installed copy
os.environ.setdefault("MPLBACKEND", "Agg")

from threadpoolctl import threadpool_limits  # noqa: E402

import sk_hashednets  # noqa: E402

# The examples fit small networks: one BLAS thread is the fastest for them, and
# spinning BLAS threads slow them down several times on a busy machine.
threadpool_limits(1, user_api="blas")

project = "sk-hashednets"
author = "the sk-hashednets developers"
copyright = f"2026, {author}"
version = release = sk_hashednets.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "_templates", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.json"]
myst_heading_anchors = 3
# docs/RESULTS.md is written by the experiments, whatever its heading levels
suppress_warnings = ["myst.header"]

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    # rerun every example on each build, so that the pages show what this
    # version of the package does (they take about 20 s together)
    "run_stale_examples": True,
    "reset_modules_order": "both",
    "doc_module": ("sk_hashednets",),
    "backreferences_dir": "generated/backreferences",
}

html_theme = "pydata_sphinx_theme"
html_title = f"sk-hashednets {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_sidebars = {"index": []}


def _command_help(*module):
    """``python -m MODULE --help`` of this tree, as the reader would type it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), COLUMNS="80")
    result = subprocess.run([sys.executable, "-m", *module, "--help"], env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout


def _write_generated(app):
    """The command lines' ``--help``, included by the pages that describe them."""
    generated = DOCS / "_generated"
    generated.mkdir(exist_ok=True)
    for name, module in (("main_help", ["sk_hashednets"]),
                         ("experiments_help", ["sk_hashednets.experiments"])):
        path = generated / f"{name}.txt"
        text = _command_help(*module)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def _sklearn_labels(app, env, node, contnode):
    """The docstrings inherited from scikit-learn (``score``,
    ``get_metadata_routing``) refer to labels of scikit-learn's own site, which
    this build does not fetch: show their text unlinked. Any other unresolved
    reference stays a warning."""
    if node.get("reftype") in ("ref", "term") and "docstring of sklearn." in (
            node.source or ""):
        return contnode
    return None


def setup(app):
    app.connect("missing-reference", _sklearn_labels)
    app.connect("builder-inited", _write_generated)
