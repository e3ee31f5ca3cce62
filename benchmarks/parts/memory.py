"""memory: peak RSS of one epoch of 784-16384-10 at 1/64 on 60,000 rows, in a
fresh process (``peak_rss.py``)."""

import numpy as np

from parts.scale import peak_rss
from sk_hashednets._layer_hashing import _code_dtype


def run(cfg):
    args = ["--samples", str(cfg.memory_samples), "--hidden", str(cfg.memory_hidden),
            "--compression", "1/64", "--batch-size", "128"]
    print(f"\n[memory] python benchmarks/peak_rss.py {' '.join(args)}", flush=True)
    # fill the Numba cache for these kernels first: compilation is a one-time
    # cost (see the compile part), not what training needs
    peak_rss(["--samples", "256", *args[2:]])
    r = peak_rss(args)
    print(f"  peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
    gib = r["peak_rss_mib"] / 1024
    return {
        "command": "python benchmarks/peak_rss.py " + " ".join(args),
        "result": r,
        "checks": [[f"784-{cfg.memory_hidden}-10 at 1/64, one epoch on "
                    f"{cfg.memory_samples} rows: peak RSS", "< 1 GiB",
                    f"{gib:.2f} GiB", "yes" if gib < 1 else "NO"]],
    }


def section(cfg, result):
    r = result
    res = r["result"]
    h = cfg.memory_hidden
    codes = np.dtype(_code_dtype(2 * round(784 * h / 64)))
    return ["## Memory at scale", "",
            f"    {r['command']}", "",
            f"784-{cfg.memory_hidden}-10 at 1/64 ({res['stored_params']:,} stored "
            f"of {res['virtual_params']:,} virtual parameters), one epoch on "
            f"{res['samples']} rows of random float32 ({res['data_mib']:.0f} MiB): "
            f"peak RSS {res['peak_rss_mib']:.0f} MiB "
            f"({res['peak_rss_before_fit_mib']:.0f} MiB before the fit, with "
            f"the data loaded), {res['fit_seconds']:.1f} s. The peak is "
            "VmHWM, the process's high-water mark, measured in a fresh "
            "process after a run on 256 rows has filled the Numba cache.",
            "", f"The fit adds, for the 784 x {h} layer, its index cache "
            f"({codes.name} codes, {784 * h * codes.itemsize / 2**20:.0f} MiB) "
            f"and its virtual-matrix buffer (float32, {784 * h * 4 / 2**20:.0f} "
            "MiB), batch-sized activations, and OpenBLAS's work buffers."]
