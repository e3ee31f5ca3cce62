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
"""

import sys
import threading
from contextlib import contextmanager

#: multiply-adds of one training product from which BLAS may use its threads
TRAIN_MIN_WORK = 2**28
#: multiply-adds of one predict product from which BLAS may use its threads
PREDICT_MIN_WORK = 2**25

_lock = threading.Lock()
_active = []  # thread counts asked for by the calls in flight
_saved = None  # the BLAS libraries' thread counts before the first of them
_blas = None


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


def training_work(batch_size, n_samples, layer_units):
    """Multiply-adds of a training step's largest product: a batch (``'auto'``
    is scikit-learn's ``min(200, n_samples)``) times the widest layer."""
    batch = 200 if batch_size == "auto" else batch_size
    return min(batch, n_samples) * max(
        a * b for a, b in zip(layer_units[:-1], layer_units[1:]))


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
