"""scale: one epoch against the number of samples and against the hidden
width, each in a fresh process (``peak_rss.py``)."""

import json
import subprocess
import sys

from common import HERE, md_table


def peak_rss(args):
    """The JSON line of ``peak_rss.py`` run with ``args`` in a fresh process."""
    out = subprocess.run([sys.executable, str(HERE / "peak_rss.py"), *args],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(cfg):
    print("\n[scale] one epoch, 1/64, batch 128, each in a fresh process", flush=True)
    peak_rss(["--samples", "256", "--hidden", str(cfg.hidden)])  # fill the cache
    rows_n, rows_h = [], []
    for n in cfg.scale_samples:
        r = peak_rss(["--samples", str(n), "--hidden", str(cfg.hidden),
                       "--batch-size", "128"])
        rows_n.append([n, f"{r['fit_seconds']:.2f}",
                       f"{r['fit_seconds'] / n * 1e6:.1f}", f"{r['peak_rss_mib']:.0f}"])
        print(f"  {n} samples: {r['fit_seconds']:.2f} s", flush=True)
    for h in cfg.scale_hidden:
        r = peak_rss(["--samples", str(cfg.scale_rows), "--hidden", str(h),
                       "--batch-size", "128"])
        virt = 784 * h + h * 10
        rows_h.append([h, f"{virt:,}", f"{r['fit_seconds']:.2f}",
                       f"{r['fit_seconds'] / (cfg.scale_rows * virt) * 1e9:.2f}",
                       f"{r['peak_rss_mib']:.0f}"])
        print(f"  hidden {h}: {r['fit_seconds']:.2f} s", flush=True)
    return {
        "samples": md_table(["samples", "epoch (s)", "us per sample", "peak RSS (MiB)"],
                            rows_n),
        "hidden": md_table(["hidden units", "virtual weights", "epoch (s)",
                            "ns per sample per virtual weight", "peak RSS (MiB)"],
                           rows_h),
        "rows": cfg.scale_rows,
        "hidden_fixed": cfg.hidden,
    }


def section(cfg, result):
    r = result
    return ["## Scale", "",
            "One epoch of `HashedMLPClassifier`, compression 1/64, batch 128, "
            "random float32 data, each run in a fresh process "
            "(`benchmarks/peak_rss.py`; the kernels are loaded by a fit on "
            "256 rows first). The peak RSS includes the data and the "
            "interpreter with NumPy, SciPy, scikit-learn and Numba (about "
            "200 MiB).", "",
            f"Against the number of samples (784-{r['hidden_fixed']}-10):", "",
            r["samples"], "",
            f"Against the hidden width ({r['rows']} samples):", "", r["hidden"]]
