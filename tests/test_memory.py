"""Memory: the up-front estimate of what a fit allocates bounds what it
does allocate, and the memory a fit may use is the machine's or a
container's limit (cgroup v1 and v2)."""

import re
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import SGD
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from small_problems import CLF, X_wide, make, y

from sk_hashednets import HashedMLPClassifier, _memory, _threads
from sk_hashednets._layers import METHODS


@pytest.mark.parametrize("solver, early_stopping, quantize", [
    ("sgd", False, None), ("sgd", True, None),
    *(pytest.param(*case, marks=pytest.mark.slow)
      for case in (("adam", False, None), ("lbfgs", False, None),
                   ("sgd", False, "int8")))])
@pytest.mark.parametrize("method, sparse",
                         [(m, s) for m in sorted(METHODS) for s in (False, True)])
def test_memory_estimate_bounds_what_a_fit_allocates(method, sparse, solver,
                                                     early_stopping, quantize,
                                                     monkeypatch):
    """The up-front memory check is only as good as its estimate: measure the
    peak of what a fit allocates (numpy arrays are traced by tracemalloc).
    Dense input: 100 features, 1000 hidden units, compression 1. Sparse input:
    20,000 features at 1% density, 200 hidden units, compression 1/8, the
    first layer never materialised. Each solver's own vectors count (L-BFGS:
    one batch of all 300 rows), and training for int8 its rounded copy."""
    r = np.random.RandomState(0)
    if sparse:
        X_ = sp.random(300, 20_000, density=0.01, format="csr", random_state=r)
        hidden, compression = 200, 1 / 8
    else:
        X_, hidden, compression = r.randn(300, 100), 1000, 1
    y_ = np.arange(300) % 5
    clf = make(CLF, method, hidden_layer_sizes=(hidden,), compression=compression,
               max_iter=2, early_stopping=early_stopping, quantize=quantize,
               **{**SGD, "solver": solver})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_[:100], y_[:100])  # compile the kernels outside the measurement
        clf = clone(clf)  # a first fit: random-edge masks are built in it
        # as the first fit of a process: its products' splits not yet checked
        monkeypatch.setattr(_threads, "_exact", {})
        tracemalloc.start()
        try:
            clf.fit(X_, y_)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    units = [X_.shape[1], len(clf.intercepts_[0]), 5]
    budgets = [len(w) for w in clf.buckets_]
    estimate = _memory.training_bytes(
        method, units, budgets, np.float64, 300 if solver == "lbfgs" else 200,
        30 if early_stopping else 0, sparse, solver, quantize)
    assert peak <= estimate <= 1.4 * peak


def _fake_cgroups(tmp_path, membership, mounts, limits):
    (tmp_path / "cgroup").write_text(membership)
    (tmp_path / "mountinfo").write_text(
        "".join(f"3{i} 1 0:3{i} / {tmp_path / folder} rw - {fstype} cgroup "
                f"{options}\n" for i, (folder, fstype, options) in enumerate(mounts)))
    for path, value in limits.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(value + "\n")
    return _memory.cgroup_memory_limit(tmp_path / "cgroup", tmp_path / "mountinfo")


def test_cgroup_v1_limit_is_the_tightest_of_the_ancestors(tmp_path):
    limit = _fake_cgroups(
        tmp_path, "5:cpu:/\n4:memory:/jobs/one\n0::/\n",
        [("cpu", "cgroup", "rw,cpu"), ("memory", "cgroup", "rw,memory")],
        {"memory/memory.limit_in_bytes": "9223372036854771712",
         "memory/jobs/memory.limit_in_bytes": "500000",
         "memory/jobs/one/memory.limit_in_bytes": "900000",
         "cpu/jobs/one/memory.limit_in_bytes": "7"})
    assert limit == 500000


def test_cgroup_v2_memory_max(tmp_path):
    limit = _fake_cgroups(
        tmp_path, "0::/user/job\n", [("unified", "cgroup2", "rw")],
        {"unified/user/job/memory.max": "max", "unified/user/memory.max": "2048"})
    assert limit == 2048
    assert _fake_cgroups(tmp_path, "0::/user/job\n", [("unified", "cgroup2", "rw")],
                         {"unified/user/memory.max": "max"}) is None


def test_no_cgroup_means_no_limit(tmp_path):
    assert _memory.cgroup_memory_limit(tmp_path / "none", tmp_path / "none") is None


def test_memory_check_reads_the_cgroup_limit(monkeypatch):
    monkeypatch.setattr(_memory, "cgroup_memory_limit", lambda: 2**16)
    est = HashedMLPClassifier(hidden_layer_sizes=(2000,))
    with pytest.raises(ValueError, match=re.escape(
            "GiB of memory of this process's cgroup (its memory limit): its layers "
            "[60, 2000, 3]")):
        est.fit(X_wide, y)
    assert _memory.available_memory()[0] == 2**16
