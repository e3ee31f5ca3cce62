"""Memory: how much a fit needs, summed from what each part says it holds
(:func:`training_bytes`), and how much it may use: physical memory, or the
tighter limit of the process's cgroup (a container's ``memory.max``).
:func:`check_trainable` compares the two before any work."""

import os

import numpy as np
import scipy.sparse as sp

from ._layers import METHODS
from ._lbfgs import lbfgs_bytes
from ._network import Trainer, forward_bytes
from ._optimizers import OPTIMIZERS
from ._training import TrainingState, batch_rows, split_indices


def _physical_memory():
    """Total physical memory in bytes, or None where the OS does not tell."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # e.g. Windows
        return None


def cgroup_memory_limit(proc_cgroup="/proc/self/cgroup",
                        mountinfo="/proc/self/mountinfo"):
    """The tightest memory limit of this process's cgroup and its ancestors.

    Reads cgroup v2's ``memory.max`` or cgroup v1's ``memory.limit_in_bytes``
    from the mounted hierarchy the process belongs to. Returns None without a
    cgroup, a mounted memory hierarchy or a limit ("max").
    """
    try:
        with open(proc_cgroup) as f:
            memberships = [line.rstrip("\n").split(":", 2) for line in f]
        with open(mountinfo) as f:
            mounts = [line.split() for line in f]
    except OSError:
        return None
    limits = []
    for fields_ in mounts:
        if "-" not in fields_:
            continue
        sep = fields_.index("-")
        root, mount_point = fields_[3], fields_[4]
        fstype, options = fields_[sep + 1], fields_[sep + 3].split(",")
        for hierarchy_id, controllers, path in memberships:
            if fstype == "cgroup2" and hierarchy_id == "0" and controllers == "":
                name = "memory.max"
            elif fstype == "cgroup" and "memory" in controllers.split(",") \
                    and "memory" in options:
                name = "memory.limit_in_bytes"
            else:
                continue
            if root != "/" and path.startswith(root):
                path = path[len(root):]
            folder = os.path.join(mount_point, path.lstrip("/"))
            while True:
                limits.append(_read_limit(os.path.join(folder, name)))
                if os.path.normpath(folder) == os.path.normpath(mount_point):
                    break
                folder = os.path.dirname(os.path.normpath(folder))
    limits = [limit for limit in limits if limit is not None]
    return min(limits) if limits else None


def _read_limit(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return None if text == "max" else int(text)
    except (OSError, ValueError):
        return None


def available_memory():
    """``(bytes, where)``: the memory this process may use, the smaller of the
    machine's physical memory and its cgroup's limit; ``(None, None)`` where
    neither is known."""
    physical, limit = _physical_memory(), cgroup_memory_limit()
    if limit is not None and (physical is None or limit < physical):
        return limit, "this process's cgroup (its memory limit)"
    return physical, "this machine"


# --------------------------------------------------------------------------
# the epoch loop
# --------------------------------------------------------------------------


def training_bytes(method, layer_units, budgets, dtype, batch_size, n_val,
                   sparse, solver="sgd", quantize=None):
    """An upper estimate of the memory one fit allocates for a network.

    What is held throughout: the :class:`~._network.Trainer`'s buffers and
    its layers' workspaces (:meth:`~._network.Trainer.buffer_bytes`) and the
    solver's weight-sized vectors: for the stochastic solvers, the epoch
    loop's copies (:meth:`~._training.TrainingState.loop_vectors`) and the
    solver's moments (``n_moments``); for L-BFGS, the weights, the
    estimator's from before the call and SciPy's workspace
    (:func:`~._lbfgs.lbfgs_bytes`). Plus the largest of what is allocated for
    a moment, at different moments: the first step's check of its products
    (:meth:`~._network.Trainer.first_step_bytes`), a new snapshot or best
    epoch at an epoch's boundary, and early stopping's validation pass over
    its ``n_val`` rows after an epoch (:func:`~._network.forward_bytes`).
    Copies of the data (the split, targets, sample weights, the epoch's
    order) are not counted.
    """
    item = np.dtype(dtype).itemsize
    n_stored = sum(budgets)
    parametrization = METHODS[method]
    total = Trainer.buffer_bytes(parametrization, layer_units, budgets, item,
                                 batch_size, sparse, quantize)
    passing = [Trainer.first_step_bytes(parametrization, layer_units, item,
                                        batch_size, sparse)]
    if solver == "lbfgs":
        total += 2 * n_stored * item + lbfgs_bytes(n_stored)
    else:
        n_moments = OPTIMIZERS[solver].n_moments
        held, boundary = TrainingState.loop_vectors(n_moments, n_val > 0)
        total += (held + n_moments) * n_stored * item
        passing.append(boundary * n_stored * item)
    if n_val:
        passing.append(forward_bytes(layer_units, n_val, item,
                                     first_on_the_fly=sparse))
    return total + max(passing)


def check_trainable(estimator, layer_units, budgets, X, y, incremental):
    """Fail before any work on a run that cannot succeed: an early-stopping
    split that cannot be drawn, or a network whose training does not fit in
    the memory this process may use (it would end in a MemoryError or the
    OOM killer)."""
    n_samples, n_val = X.shape[0], 0
    if estimator.solver == "lbfgs":  # one batch of all samples
        batch_size = n_samples
    else:
        if estimator.early_stopping and not incremental:
            n_val = len(split_indices(estimator, y, n_samples, 0)[1])
            n_samples -= n_val
        batch_size = batch_rows(estimator.batch_size, n_samples)
    need = training_bytes(estimator.method, layer_units, budgets, X.dtype,
                          batch_size, n_val, sp.issparse(X), estimator.solver,
                          estimator.quantize)
    have, where = available_memory()
    if have is not None and need > have:
        n_virtual = [a * b for a, b in zip(layer_units[:-1], layer_units[1:])]
        raise ValueError(
            f"Training this network needs about {need / 2**30:.3g} GiB, more "
            f"than the {have / 2**30:.3g} GiB of memory of {where}: its "
            f"layers {layer_units} have {n_virtual} virtual weights, and "
            "training materialises each layer's virtual matrix. Use smaller "
            "hidden_layer_sizes, fewer input features or a smaller batch_size."
        )
