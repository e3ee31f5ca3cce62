"""How many BLAS threads ``fit``, ``partial_fit`` and ``predict`` use.

A training step multiplies a batch by each layer's virtual matrix, a product
too small for a second BLAS thread to pay (784-1000-10 at batch 50: no gain on
a quiet machine), and on a busy machine OpenBLAS's spinning threads make a fit
several times slower. So:

* training runs on one BLAS thread unless one product of a step has at least
  :data:`TRAIN_MIN_WORK` multiply-adds (batch x n_in x n_out of the widest
  layer); it depends only on the problem's size, never on the machine's load,
  so a given fit gives the same bits on every run;
* ``predict`` uses the threads BLAS has when its largest product has at least
  :data:`PREDICT_MIN_WORK` multiply-adds, else one;
* never more threads than BLAS already has when the call starts: a limit the
  user set (``threadpoolctl.threadpool_limits``, ``OPENBLAS_NUM_THREADS``) or
  that joblib set in its workers always wins; in a Dask worker, one thread.

Override it by setting the limit yourself, e.g.
``with threadpool_limits(2, user_api="blas"): model.fit(X, y)`` lets large
products use two threads and keeps small ones on one.

A training product that runs on one BLAS thread and has at least
:data:`SPLIT_MIN_WORK` multiply-adds is computed as two halves of its output
(:func:`matmul`), and when the call may use a second core (the limit it found
is at least 2, the process may run on two CPUs, and it is not in a Dask
worker) the second half runs on a helper thread while the calling thread
computes the first. Each half is one single-threaded BLAS call, so nothing
spins while it waits. A product is split only where the BLAS computes a half's
entries exactly as the whole product does (:func:`_exact_halves`, probed once
per shape): the bits are the same with or without the helper, and unsplit.
"""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from ._timing import phase

#: multiply-adds of one training product from which BLAS may use its threads
TRAIN_MIN_WORK = 2**28
#: multiply-adds of one predict product from which BLAS may use its threads
PREDICT_MIN_WORK = 2**25
#: multiply-adds of one training product from which it is computed in halves
SPLIT_MIN_WORK = 2**24
#: a split falls on a multiple of this many rows or columns
SPLIT_ALIGN = 16

_lock = threading.Lock()
_active = []  # thread counts asked for by the calls in flight
_saved = None  # the BLAS libraries' thread counts before the first of them
_blas = None
_local = threading.local()  # .split, .helper: the training call's product mode
_helper = (None, None)  # (pid, executor) of the helper thread
_exact = {}  # (shapes, layouts, dtype, axis, split) -> whether halves are exact


def _libraries():
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas


def _in_dask_worker():
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except (ValueError, AttributeError):
        return False
    return True


def policy(work, min_work):
    """Threads a call whose largest product has ``work`` multiply-adds asks for
    (before the cap of the current limit): 1, or None for "all there are"."""
    if work < min_work or _in_dask_worker():
        return 1
    return None


def training_work(batch_rows, layer_units):
    """Multiply-adds of a training step's largest product: a batch of
    ``batch_rows`` rows times the widest layer."""
    return batch_rows * max(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _executor():
    """The process's helper thread (a new one after a fork)."""
    global _helper
    pid, executor = _helper
    if pid != os.getpid():
        executor = ThreadPoolExecutor(1, thread_name_prefix="sk_hashednets")
        _helper = (os.getpid(), executor)
    return executor


def _split(work):
    """Whether a product of ``work`` multiply-adds is split in this call."""
    return getattr(_local, "split", False) and work >= SPLIT_MIN_WORK


def split_probe_bytes(shapes, itemsize):
    """Peak bytes :func:`_exact_halves` allocates the first time it checks a
    product of one of ``shapes`` (``(m, k, n)`` each: an m x k times a k x n
    matrix) that is large enough to split, for the largest of them (one check
    runs at a time, and its arrays are freed when it returns): random copies
    of both operands, each drawn in float64 first, then the whole product,
    its two halves and their concatenation."""
    def peak(m, k, n):
        return max((itemsize + 8) * m * k,  # drawing the first operand
                   itemsize * m * k + (itemsize + 8) * k * n,  # the second
                   itemsize * (m * k + k * n + 3 * m * n))  # the products

    return max((peak(m, k, n) for m, k, n in shapes if m * k * n >= SPLIT_MIN_WORK),
               default=0)


def _exact_halves(a, b, axis, i):
    """Whether this BLAS gives the bits of ``a @ b`` when the product is split
    at ``i`` along ``axis`` of the output: checked once per shape and layout
    on random operands. Not every kernel set does: OpenBLAS's ``Haswell``
    sgemm (AVX2 machines, and AMD ones it does not know) sums an entry in an
    order that depends on the other columns of the call, its ``SkylakeX``
    sgemm does not. Where they differ, the product stays whole."""
    layout = (a.flags.f_contiguous, b.flags.f_contiguous)
    key = (a.shape, b.shape, layout, a.dtype.str, axis, i)
    if key not in _exact:
        rng = np.random.default_rng(0)
        x, y = (rng.standard_normal(c.shape).astype(c.dtype, order="F" if f else "C")
                for c, f in zip((a, b), layout))
        whole = np.matmul(x, y)
        if axis == 0:
            parts = np.vstack([np.matmul(x[:i], y), np.matmul(x[i:], y)])
        else:
            parts = np.hstack([np.matmul(x, y[:, :i]), np.matmul(x, y[:, i:])])
        _exact[key] = bool(np.array_equal(whole, parts))
    return _exact[key]


def _halves(first, second):
    """``first()`` here while ``second()`` runs on the helper thread where
    the call may use it (else after ``first``); both done on return."""
    if not _local.helper:
        first()
        second()
        return
    future = _executor().submit(second)
    try:
        first()
    finally:
        future.result()


def matmul(a, b, out):
    """``out = a @ b``; in a training call, a product of at least
    :data:`SPLIT_MIN_WORK` multiply-adds is two products over halves of
    ``out`` (its longer side), the second on the helper thread when the call
    may use it."""
    m, k = a.shape
    n = b.shape[1]
    axis, size = (1, n) if n >= m else (0, m)
    i = size // 2 // SPLIT_ALIGN * SPLIT_ALIGN
    with phase("products"):
        if i == 0 or not _split(m * k * n) or not _exact_halves(a, b, axis, i):
            return np.matmul(a, b, out=out)
        if axis == 0:
            _halves(lambda: np.matmul(a[:i], b, out=out[:i]),
                    lambda: np.matmul(a[i:], b, out=out[i:]))
        else:
            _halves(lambda: np.matmul(a, b[:, :i], out=out[:, :i]),
                    lambda: np.matmul(a, b[:, i:], out=out[:, i:]))
    return out


def matmul_rows(a, b, out, consume):
    """``out = a @ b``, then ``consume(rows)`` over the rows of ``out`` in
    order. In a training call a product of at least :data:`SPLIT_MIN_WORK`
    multiply-adds is two products over halves of the rows, and the first
    half is consumed while the helper thread (where the call may use it)
    computes the second."""
    m, k = a.shape
    i = m // 2 // SPLIT_ALIGN * SPLIT_ALIGN
    with phase("products"):
        if (i == 0 or not _split(m * k * b.shape[1])
                or not _exact_halves(a, b, 0, i)):
            np.matmul(a, b, out=out)
            consume(slice(0, m))
            return out
        first, second = slice(0, i), slice(i, m)

        def first_half():
            np.matmul(a[first], b, out=out[first])
            consume(first)

        _halves(first_half, lambda: np.matmul(a[second], b, out=out[second]))
        consume(second)
    return out


def _blas_limit():
    return max((lib.get_num_threads() for lib in _libraries()), default=1)


@contextmanager
def training_threads(work):
    """:func:`blas_threads` for a training call whose largest product has
    ``work`` multiply-adds, with its products in training mode (see
    :func:`matmul`): the helper thread joins when the policy runs BLAS on one
    thread and the setting the call found allows two."""
    found = _blas_limit()
    with blas_threads(work, TRAIN_MIN_WORK):
        saved = getattr(_local, "split", False), getattr(_local, "helper", False)
        # on more BLAS threads a product is parallel already: leave it whole
        _local.split = _blas_limit() == 1
        _local.helper = (_local.split and found >= 2 and _cpus() >= 2
                         and not _in_dask_worker())
        try:
            yield
        finally:
            _local.split, _local.helper = saved


@contextmanager
def blas_threads(work, min_work):
    """Run the body with the BLAS threads the policy gives a call of ``work``.

    Calls in flight from several Python threads share the process-wide BLAS
    setting: the smallest count asked for applies while they overlap, and the
    outer setting comes back when the last one ends.
    """
    global _saved
    wanted = policy(work, min_work)
    libraries = _libraries()
    if wanted is None or not libraries:
        yield
        return
    with _lock:
        if not _active:
            _saved = [lib.get_num_threads() for lib in libraries]
        _active.append(wanted)
        _apply(libraries, min(_active))
    try:
        yield
    finally:
        with _lock:
            _active.remove(wanted)
            if _active:
                _apply(libraries, min(_active))
            else:
                for lib, n in zip(libraries, _saved):
                    if lib.get_num_threads() != n:
                        lib.set_num_threads(n)


def _apply(libraries, n):
    for lib, outer in zip(libraries, _saved):
        target = min(n, outer)  # an outer limit always wins
        if lib.get_num_threads() != target:
            lib.set_num_threads(target)
