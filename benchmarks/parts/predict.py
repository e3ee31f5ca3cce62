"""predict: ``predict`` time and peak traced memory on 10,000 rows, against
``MLPClassifier.predict``, and what a fitted model holds."""

import pickle
import tracemalloc

import numpy as np
from common import load_workload, md_table, median, quiet_fit, seconds
from sklearn.neural_network import MLPClassifier

from sk_hashednets import HashedMLPClassifier

COMPRESSIONS = {"1/8": 1 / 8, "1/64": 1 / 64}


def traced_peak(fn):
    """Peak bytes allocated through the traced allocators while fn runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def array_bytes(obj, seen=None):
    """Bytes of all NumPy arrays reachable from obj's attributes, lists and dicts."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None else 0
    if isinstance(obj, dict):
        return sum(array_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(array_bytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__"):
        return array_bytes(vars(obj), seen)
    return 0


def run(cfg):
    X, y, data_note = load_workload(max(cfg.predict_rows, 2000))
    X_fit, y_fit = X[:2000], y[:2000]
    X_pred = np.ascontiguousarray(X[:cfg.predict_rows])
    hidden = (cfg.hidden,)
    print(f"\n[predict] {X_pred.shape[0]} rows, {data_note}", flush=True)
    models = {f"a hashed {name}": quiet_fit(HashedMLPClassifier(
        hidden_layer_sizes=hidden, compression=comp, max_iter=1, random_state=0),
        X_fit, y_fit) for name, comp in COMPRESSIONS.items()}
    models["b sklearn"] = quiet_fit(MLPClassifier(
        hidden_layer_sizes=hidden, solver="sgd", max_iter=1, random_state=0),
        X_fit, y_fit)
    for m in models.values():
        m.predict(X_pred[:100])  # warm up
    # the first layer's product alone, the GEMM both kinds of model run
    V = models["a hashed 1/8"].coefs_[0]
    times = {k: [] for k in models}
    product = []
    for _ in range(cfg.predict_repeats):
        for k, m in models.items():
            times[k].append(seconds(lambda m=m: m.predict(X_pred))[0])
        product.append(seconds(lambda: X_pred @ V)[0])
    peaks = {k: traced_peak(lambda m=m: m.predict(X_pred)) for k, m in models.items()}
    b = median(times["b sklearn"])
    n_in = X.shape[1]
    v_mib = n_in * cfg.hidden * 4 / 2**20
    act_mib = X_pred.shape[0] * cfg.hidden * 4 / 2**20
    rows = []
    for k, m in models.items():
        t = median(times[k])
        params = getattr(m, "buckets_", getattr(m, "coefs_", None))
        param_mib = sum(p.nbytes for p in params + m.intercepts_) / 2**20
        rows.append([k, f"{t * 1e3:.1f}", f"{t / b:.2f}", f"{peaks[k] / 2**20:.1f}",
                     f"{param_mib:.2f}", f"{array_bytes(m) / 2**20:.2f}",
                     f"{len(pickle.dumps(m)) / 2**20:.2f}"])
        print(f"  {k}: {t * 1e3:.1f} ms, peak {peaks[k] / 2**20:.1f} MiB", flush=True)
    table = md_table(["model", "predict (ms)", "ratio to b", "peak traced memory (MiB)",
                      "weights and biases (MiB)", "all arrays held (MiB)",
                      "pickle (MiB)"], rows)
    worst = max(median(times[k]) / b for k in models if k.startswith("a"))
    return {
        "table": table,
        "note": (f"The first layer's product alone (`X @ V`, {X_pred.shape[0]} "
                 f"x {n_in} times {n_in} x {cfg.hidden} float32, the product "
                 "both kinds of model compute) takes "
                 f"{median(product) * 1e3:.1f} ms, {median(product) / b:.2f}x "
                 "scikit-learn's whole `predict`. "
                 f"For scale: the first layer's virtual matrix is {n_in} x "
                 f"{cfg.hidden} float32 = {v_mib:.1f} MiB, and its activations "
                 f"for {X_pred.shape[0]} rows are {act_mib:.1f} MiB."),
        "checks": [["predict a/b", "<= 0.8", f"{worst:.2f}",
                    "yes" if worst <= 0.8 else "NO"]],
    }


def section(cfg, result):
    r = result
    return ["## Predict", "",
            f"`predict` on {cfg.predict_rows} rows with a 784-{cfg.hidden}-10 "
            f"model, median of {cfg.predict_repeats} calls; peak memory is "
            "what `tracemalloc` traces during one call (NumPy reports its "
            "buffers to it). The hashed model builds one layer's virtual "
            "matrix at a time by hashing on the fly: no index array. The "
            "last columns are what a fitted model holds: its weights (buckets "
            "for the hashed models) and biases, every array it references "
            "(the optimizer's velocities, which have the size of the "
            "weights, are dropped when `fit` returns and kept only after "
            "`partial_fit`), and its pickle.", "",
            r["table"], "", r["note"]]
