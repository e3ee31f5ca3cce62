"""Helpers the benchmark scripts share (bench.py and its parts, mcu.py,
stream.py, export_c.py, peak_rss.py): timing, fitting without the
convergence warnings, markdown tables, the machine's description and peak
memory. Importing it puts the repository root first on ``sys.path``, so a
script run from a checkout measures that checkout's package."""

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def seconds(fn):
    """``(seconds, result)`` of ``fn()``."""
    tic = time.perf_counter()
    out = fn()
    return time.perf_counter() - tic, out


def median(values):
    return statistics.median(values)


def quiet_fit(est, X, y):
    """``est.fit(X, y)`` without ConvergenceWarning (a benchmark runs few epochs)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def md_table(header, rows):
    """A markdown table: a header row, then ``rows`` (lists of cells)."""
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def blas_libraries():
    """One line per BLAS library loaded: its name, version, threads and build."""
    from threadpoolctl import threadpool_info

    return [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, "
            f"{i.get('threading_layer', '?')}, {i.get('architecture', '?')}) "
            f"from {Path(i['filepath']).parent.parent.name}"
            for i in threadpool_info() if i["user_api"] == "blas"]


def tool_version(command):
    """The first line ``command`` prints (a compiler's version), or "?"."""
    try:
        out = subprocess.run(command, capture_output=True, text=True).stdout
    except OSError:
        return "?"
    return out.splitlines()[0] if out else "?"


def machine_info():
    """The CPU, cores, BLAS, Numba threads, versions and load of this machine."""
    import numba
    import scipy
    import sklearn

    import sk_hashednets

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "blas": blas_libraries(),
        "numba threads": numba.get_num_threads(),
        "versions": (f"Python {platform.python_version()}, numpy {np.__version__}, "
                     f"scipy {scipy.__version__}, scikit-learn "
                     f"{sklearn.__version__}, numba {numba.__version__}, "
                     f"sk_hashednets {sk_hashednets.__version__}, torch "
                     f"{torch_version() or 'not installed'}"),
        "load average at start": load,
    }


def torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def peak_rss_mib():
    """Peak resident set size of this process, in MiB.

    On Linux this is VmHWM, the high-water mark of the process's own memory
    map. ``ru_maxrss`` is not used there: Linux carries the parent's peak over
    into a child across fork and exec, so a child of a large process (such as
    bench.py holding its data) would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux and BSD, bytes on macOS
    scale = 1 / 2**20 if sys.platform == "darwin" else 1 / 2**10
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def digits32():
    """Digits as float32 in [0, 1]."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def load_workload(n_samples, n_features=784, n_classes=10):
    """``(X, y, note)``: Fashion-MNIST's training images (repeated up to
    ``n_samples`` rows) when installed, else random float32 data; the note
    says which."""
    from sk_hashednets.datasets import load_fashion_mnist

    try:
        X, y = load_fashion_mnist()[:2]  # float32 in [0, 1]
    except (OSError, ValueError) as exc:  # not installed or corrupt: say why
        note = f"random float32 data (Fashion-MNIST unavailable: {exc})"
    else:
        reps = -(-n_samples // X.shape[0])
        X, y = np.tile(X, (reps, 1))[:n_samples], np.tile(y, reps)[:n_samples]
        return X, y, f"Fashion-MNIST ({X.shape[0]} rows)"
    rng = np.random.default_rng(0)
    X = rng.random((n_samples, n_features), dtype=np.float32)
    y = rng.integers(0, n_classes, n_samples)
    return X, y, note
