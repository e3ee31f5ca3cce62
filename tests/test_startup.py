"""What a fresh process pays: ``import sk_hashednets`` leaves Numba alone, and the
kernels module runs when a kernel is first read, once, whatever the threads.

Each check runs in a fresh interpreter: this one has imported Numba long ago.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(code):
    """Run ``code`` in a fresh interpreter (this checkout first on its path)
    and return what it printed."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_import_does_not_import_numba():
    assert run("""
        import sys
        import sk_hashednets
        from sk_hashednets import _kernels
        print('numba' in sys.modules, type(_kernels).__name__,
              sys.modules['sk_hashednets._kernels'] is _kernels)
    """) == ["False", "_NotYetRun", "True"]


def test_a_fit_runs_the_kernels_module_once_and_leaves_a_plain_module():
    assert run("""
        import gc, sys
        import numpy as np
        import sk_hashednets
        from sk_hashednets import HashedMLPClassifier, _kernels
        X = np.random.RandomState(0).rand(40, 5)
        HashedMLPClassifier((4,), max_iter=2).fit(X, np.arange(40) % 2)
        print('numba' in sys.modules, type(_kernels).__name__,
              sys.modules['sk_hashednets._kernels'] is _kernels, gc.isenabled())
    """) == ["True", "module", "True", "True"]


def test_the_first_read_from_two_threads_at_once_waits_for_one_load():
    assert run("""
        import threading
        from sk_hashednets import _kernels
        barrier, found, errors = threading.Barrier(4), [], []

        def read():
            barrier.wait()
            try:
                found.append(_kernels.gather)
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(len(found), len({id(f) for f in found}), errors)
    """) == ["4", "1", "[]"]


def test_a_failed_load_is_tried_again_and_the_collector_is_left_as_found():
    assert run("""
        import gc, sys
        from sk_hashednets import _kernels
        sys.modules['numba'] = None  # importing Numba fails
        try:
            _kernels.gather
        except ImportError:
            print('refused', gc.isenabled())
        del sys.modules['numba']
        gc.disable()  # the user's setting is kept
        print(callable(_kernels.gather), gc.isenabled())
    """) == ["refused", "True", "True", "False"]


def test_a_name_the_kernels_lack_is_an_attribute_error():
    assert run("""
        from sk_hashednets import _kernels
        for _ in range(2):  # before the module ran and after
            try:
                _kernels.no_such_kernel
            except AttributeError as exc:
                print('no_such_kernel' in str(exc))
    """) == ["True", "True"]
