"""``kernels``: the module of jitted kernels, run when a kernel is first needed.

``import sk_hashednets`` does not import Numba. ``kernels`` is the real
``sk_hashednets._kernels`` module (in ``sys.modules`` and the package's
attribute), created but not yet run: the first read of a name it does not have
yet (``kernels.gather``) imports Numba and defines every kernel, and from then
on it is an ordinary module, read at an ordinary module's speed. So importing
the package (to unpickle a model, read its attributes, run a search that fits
in worker processes) costs no Numba, and a fit pays for Numba when it starts to
train. Patching a kernel on the module (as the benchmarks do) reaches every
caller.

The modules that run kernels (each method's ``_layer_*.py``, ``_network``,
``_optimizers``, ``_quantize``) and the exports read them through this name;
every @njit function stays in ``_kernels.py`` or ``_kernels_update.py`` (no
jitted call crosses between them), each cached by Numba on its own file.
"""

import gc
import importlib.util
import sys
import threading
import types

_lock = threading.RLock()
_started = False


class _NotYetRun(types.ModuleType):
    """A module whose code runs on the first read of a name it lacks."""

    def __getattr__(self, name):
        global _started
        with _lock:  # a second thread waits until the module has run
            if not _started:
                _started = True
                try:
                    _run(self)
                except BaseException:
                    _started = False  # a later read tries again
                    raise
                self.__class__ = types.ModuleType
        return types.ModuleType.__getattribute__(self, name)


def _run(module):
    # Importing Numba, defining the kernels and Numba's set-up on the first
    # call of a jitted function allocate enough objects to set off full
    # garbage collections, each walking every object of a process that
    # imported scikit-learn (about 200,000): paused meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        module.__spec__.loader.exec_module(module)
        module.start()
    finally:
        if collecting:
            gc.enable()


def _not_yet_run(name):
    spec = importlib.util.find_spec(name)
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _NotYetRun
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)
    return module


kernels = sys.modules.get(__package__ + "._kernels") or _not_yet_run(
    __package__ + "._kernels")
