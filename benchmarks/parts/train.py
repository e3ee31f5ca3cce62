"""train: one epoch of a 784-1000-10 ReLU network on 60,000 x 784 float32
rows, batch sizes 50 and 128, compression 1/8 and 1/64, for

a. ``HashedMLPClassifier``;
b. scikit-learn ``MLPClassifier(solver="sgd")``, same virtual architecture;
c. a plain NumPy float32 dense MLP (the GEMM floor, ``peers.py``);
d. a PyTorch hashed MLP gathering index/sign buffers every step (only when
   torch is installed; ``peers.py``);
e. a with ``method="hashing_blocks"``.

Every repeat runs all of them in turn on the same data; the tables report
the median of the repeats, and the ratios are ratios of medians.
"""

import numpy as np
import peers
from common import load_workload, md_table, median, quiet_fit, seconds
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sk_hashednets import HashedMLPClassifier

COMPRESSIONS = {"1/8": 1 / 8, "1/64": 1 / 64}
TARGETS = [  # (label, ratio key, compression, bound) of the "must show" list
    ("a/c at batch 50, 1/8", ("a/c", 50), "1/8", 1.10),
    ("a/c at batch 128, 1/8", ("a/c", 128), "1/8", 1.10),
    ("a/d at batch 50, 1/8", ("a/d", 50), "1/8", 0.3),
    ("a/d at batch 128, 1/8", ("a/d", 128), "1/8", 0.3),
    ("e/c at batch 50, 1/8", ("e/c", 50), "1/8", 1.10),
    ("e/c at batch 128, 1/8", ("e/c", 128), "1/8", 1.10),
    ("e/d at batch 50, 1/8", ("e/d", 50), "1/8", 0.3),
    ("e/d at batch 128, 1/8", ("e/d", 128), "1/8", 0.3),
]


def run(cfg):
    X, y, data_note = load_workload(cfg.samples)
    n_classes = int(y.max()) + 1
    Y = peers.one_hot(y, n_classes)
    hidden = (cfg.hidden,)
    torch = None
    if not cfg.no_torch:
        try:
            import torch
            torch.set_num_threads(2)
        except ImportError:
            torch = None
    print(f"\n[train] {X.shape[0]} x {X.shape[1]} float32, {data_note}; layers "
          f"{X.shape[1]}-{cfg.hidden}-{n_classes}; {cfg.repeats} repeats", flush=True)

    def run_a(bs, comp, method="hashing"):
        clf = HashedMLPClassifier(hidden_layer_sizes=hidden, compression=comp,
                                  method=method, batch_size=bs, max_iter=1,
                                  solver="sgd", learning_rate_init=0.01,
                                  random_state=0)
        t, clf = seconds(lambda: quiet_fit(clf, X, y))
        return t, clf.loss_

    def run_b(bs, data=X):
        mlp = MLPClassifier(hidden_layer_sizes=hidden, solver="sgd", batch_size=bs,
                            max_iter=1, learning_rate_init=0.01, momentum=0.9,
                            nesterovs_momentum=True, random_state=0)
        t, mlp = seconds(lambda: quiet_fit(mlp, data, y))
        return t, mlp.loss_

    # scikit-learn trains in float64 unless it is given float32 (uint8 pixels
    # or float64 arrays train in float64): measured too, for reference
    X64 = X.astype(np.float64) if cfg.float64_reference else None

    def run_c(bs):  # the floor on BLAS's threads
        return seconds(lambda: peers.numpy_dense_epoch(X, Y, hidden, bs))

    def run_c1(bs):  # the floor on one BLAS thread
        with threadpool_limits(1, user_api="blas"):
            return seconds(lambda: peers.numpy_dense_epoch(X, Y, hidden, bs))

    def run_d(bs, comp):
        model = peers.torch_hashed_mlp(X.shape[1], hidden, n_classes, comp)
        return seconds(lambda: peers.torch_epoch(model, X, y, bs))

    # warm up: compile the kernels, page in the data, spin up torch
    for method in ("hashing", "hashing_blocks"):
        quiet_fit(HashedMLPClassifier(hidden_layer_sizes=hidden, method=method,
                                      max_iter=1), X[:500], y[:500])
    peers.numpy_dense_epoch(X[:500], Y[:500], hidden, 50)
    if torch is not None:
        peers.torch_epoch(peers.torch_hashed_mlp(X.shape[1], hidden, n_classes, 1 / 8),
                          X[:500], y[:500], 50)

    times, losses = {}, {}
    for rep in range(cfg.repeats):
        for bs in cfg.batch_sizes:
            runs = [(("b", bs, None), lambda bs=bs: run_b(bs)),
                    (("c", bs, None), lambda bs=bs: run_c(bs)),
                    (("c1", bs, None), lambda bs=bs: run_c1(bs))]
            if X64 is not None:
                runs.append((("b64", bs, None), lambda bs=bs: run_b(bs, X64)))
            for name, comp in COMPRESSIONS.items():
                runs.append((("a", bs, name), lambda bs=bs, c=comp: run_a(bs, c)))
                runs.append((("e", bs, name),
                             lambda bs=bs, c=comp: run_a(bs, c, "hashing_blocks")))
                if torch is not None:
                    runs.append((("d", bs, name), lambda bs=bs, c=comp: run_d(bs, c)))
            for key, run in runs:
                t, loss = run()
                times.setdefault(key, []).append(t)
                losses[key] = loss
                print(f"  repeat {rep + 1}: {key[0]} batch {key[1]}"
                      f"{' compression ' + key[2] if key[2] else ''}: {t:.2f} s "
                      f"(loss {loss:.4f})", flush=True)

    med = {k: median(v) for k, v in times.items()}
    floor_threads = {}
    for bs in cfg.batch_sizes:  # the floor at its faster thread setting
        if med[("c1", bs, None)] < med[("c", bs, None)]:
            med[("c", bs, None)] = med[("c1", bs, None)]
            floor_threads[bs] = "1 BLAS thread"
        else:
            floor_threads[bs] = "BLAS's threads"
    rows, ratios = [], {}
    for bs in cfg.batch_sizes:
        for name in COMPRESSIONS:
            a, e = med[("a", bs, name)], med[("e", bs, name)]
            b, c = med[("b", bs, None)], med[("c", bs, None)]
            d = med.get(("d", bs, name))
            b64 = med.get(("b64", bs, None))
            r = {"a/b": a / b, "a/c": a / c, "a/d": a / d if d else None,
                 "e/c": e / c, "e/d": e / d if d else None}
            for k, v in r.items():
                if v is not None:
                    ratios[(k, bs, name)] = v
            rows.append([bs, name, f"{a:.2f}", f"{b:.2f}", f"{c:.2f}",
                         f"{d:.2f}" if d else "n/a", f"{e:.2f}", f"{r['a/b']:.2f}",
                         f"{r['a/c']:.2f}",
                         f"{r['a/d']:.2f}" if d else "n/a", f"{r['e/c']:.2f}",
                         f"{r['e/d']:.2f}" if d else "n/a",
                         f"{b64:.2f}" if b64 else "n/a",
                         f"{a / b64:.2f}" if b64 else "n/a"])
    table = md_table(["batch", "compression", "a hashed (s)", "b sklearn (s)",
                      "c numpy floor (s)", "d torch hashed (s)",
                      "e hashed blocks (s)", "a/b", "a/c", "a/d", "e/c", "e/d",
                      "b on float64 data (s)", "a / that"], rows)
    loss_rows = [[bs, name, f"{losses[('a', bs, name)]:.4f}",
                  f"{losses[('e', bs, name)]:.4f}",
                  f"{losses[('b', bs, None)]:.4f}", f"{losses[('c', bs, None)]:.4f}",
                  f"{losses[('d', bs, name)]:.4f}" if ("d", bs, name) in losses
                  else "n/a"]
                 for bs in cfg.batch_sizes for name in COMPRESSIONS]
    loss_table = md_table(["batch", "compression", "a", "e", "b", "c (dense)", "d"],
                          loss_rows)
    print("\n" + table, flush=True)

    checks = []
    for label, (kind, bs), name, bound in TARGETS:
        if (kind, bs, name) in ratios:
            r = ratios[(kind, bs, name)]
            checks.append([label, f"<= {bound}", f"{r:.2f}",
                           "yes" if r <= bound else "NO"])
    return {
        "data": data_note,
        "table": table,
        "loss_table": loss_table,
        "checks": checks,
        "floor_threads": floor_threads,
        "raw": {" ".join(map(str, k)): v for k, v in times.items()},
    }


def section(cfg, result):
    r = result
    return [
        "## Training: one epoch", "",
        f"784-{cfg.hidden}-10 ReLU network on {cfg.samples} x 784 float32 "
        f"rows: {r['data']}. Softmax cross-entropy, learning rate 0.01, "
        "Nesterov momentum 0.9, L2 1e-4. Seconds are the median of "
        f"{cfg.repeats} repeats run in turn on the same data; each ratio "
        "is a ratio of medians. b and c are dense, so they do not depend "
        "on the compression. All four get the same float32 array. The "
        "last two columns are for reference: scikit-learn trains in "
        "float64 whenever its input is not float32 (for instance raw "
        "uint8 pixels or a float64 array), and that is much slower.", "",
        "a: `HashedMLPClassifier(max_iter=1)`; b: scikit-learn "
        "`MLPClassifier(solver=\"sgd\", max_iter=1)`; c: plain NumPy float32 "
        "dense MLP (the GEMM floor, `benchmarks/peers.py`); d: PyTorch "
        "hashed layers gathering int64 index and float sign buffers into a "
        "dense weight every step, autograd, `torch.optim.SGD` "
        "(`benchmarks/peers.py`, `torch.set_num_threads(2)`); e: a with "
        "`method=\"hashing_blocks\"`.", "",
        r["table"], "",
        "c is the floor at its faster BLAS setting, measured both ways: "
        + ", ".join(f"batch {bs}: {t}" for bs, t in
                    r["floor_threads"].items()) + ".", "",
        "Training loss after the epoch (a sanity check that every "
        "implementation learns; b and c train the dense network):", "",
        r["loss_table"]]
