"""steps: where a training step's time goes, the hashed net's against the floor's.

The hashed net's phases come from the package's timing hook
(``sk_hashednets._timing``): the package marks them, this part's clock adds
their seconds. The floor (``peers.numpy_dense_epoch``) marks the same phases.
"""

import time
import timeit
from contextlib import nullcontext

import peers
from common import load_workload, md_table, median, quiet_fit, seconds
from threadpoolctl import threadpool_limits

from sk_hashednets import HashedMLPClassifier, _threads
from sk_hashednets._timing import phase, timed_by

PHASES = ("products", "gather", "scatter", "activation and loss", "optimizer")


class PhaseClock:
    """Seconds of each phase, from the ``with clock(phase):`` blocks that
    mark them. Blocks nest: a phase's seconds are its own, less those of
    the phases opened inside it (dL/dV's product adds its rows into the
    gradient as they come, so its products are its time less that scatter),
    and ``"epoch"`` keeps what no other phase claims."""

    def __init__(self):
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.total = {}  # phase -> seconds, nested phases included
        self._open = []  # [phase, start, seconds of the phases inside]

    def __call__(self, phase):
        return _Block(self, phase)

    def _enter(self, phase):
        self._open.append([phase, time.perf_counter(), 0.0])

    def _exit(self):
        phase, start, inner = self._open.pop()
        elapsed = time.perf_counter() - start
        self.seconds[phase] = self.seconds.get(phase, 0.0) + elapsed - inner
        self.total[phase] = self.total.get(phase, 0.0) + elapsed
        if self._open:
            self._open[-1][2] += elapsed


class _Block:
    __slots__ = ("clock", "phase")

    def __init__(self, clock, phase):
        self.clock, self.phase = clock, phase

    def __enter__(self):
        self.clock._enter(self.phase)

    def __exit__(self, *exc):
        self.clock._exit()


def timed_epoch(clf, X, y):
    """Fit ``clf`` for one epoch with its step's phases timed; return the
    seconds per phase and the epoch's (the loop over its batches)."""
    with timed_by(PhaseClock()) as clock:
        quiet_fit(clf, X, y)
    return clock.seconds, clock.total["epoch"]


def hook_cost(clf, X, y, n_steps):
    """``(blocks per step, seconds of one block while no clock is set)``:
    what the timing hook costs a step that nobody times."""
    blocks = []

    def counting(phase):
        blocks.append(phase)
        return nullcontext()

    with timed_by(counting):
        quiet_fit(clf, X, y)

    def block():
        with phase("gather"):
            pass

    calls = 100_000
    per_block = min(timeit.repeat(block, number=calls, repeat=7)) / calls
    return (len(blocks) - 1) / n_steps, per_block  # less the epoch's own


def run(cfg):
    X, y, data_note = load_workload(cfg.step_samples)
    hidden = (cfg.hidden,)
    Y = peers.one_hot(y, int(y.max()) + 1)
    print(f"\n[steps] per-step breakdown on {X.shape[0]} rows ({data_note}), "
          f"784-{cfg.hidden}-10 at 1/8", flush=True)
    for method in ("hashing", "hashing_blocks"):  # load the kernels
        quiet_fit(HashedMLPClassifier(hidden_layer_sizes=hidden, method=method,
                                      max_iter=1), X[:500], y[:500])
    results = {}

    def per_step(kind, bs, phases, total):
        n_steps = -(-X.shape[0] // bs)
        results.setdefault((kind, bs), []).append(
            {p: phases[p] / n_steps for p in PHASES} | {"step": total / n_steps})

    def floor(bs, kind):
        clock = PhaseClock()
        total = seconds(lambda: peers.numpy_dense_epoch(X, Y, hidden, bs,
                                                        clock=clock))[0]
        per_step(kind, bs, clock.seconds, total)

    for _ in range(cfg.repeats):
        for bs in cfg.batch_sizes:
            for kind, method in (("hashed", "hashing"),
                                 ("hashed blocks", "hashing_blocks")):
                clf = HashedMLPClassifier(hidden_layer_sizes=hidden,
                                          compression=1 / 8, batch_size=bs,
                                          method=method, max_iter=1,
                                          solver="sgd", learning_rate_init=0.01,
                                          random_state=0)
                per_step(kind, bs, *timed_epoch(clf, X, y))
            floor(bs, "floor")
            with threadpool_limits(1, user_api="blas"):
                floor(bs, "floor, 1 BLAS thread")
    rows = []
    medians = {}
    for (kind, bs), runs in results.items():
        m = {k: median([r[k] for r in runs]) for k in runs[0]}
        medians[(kind, bs)] = m
        other = m["step"] - sum(m[p] for p in PHASES)
        rows.append([kind, bs] + [f"{m[p] * 1e3:.3f}" for p in PHASES]
                    + [f"{other * 1e3:.3f}", f"{m['step'] * 1e3:.3f}"])
        print(f"  {kind} batch {bs}: " + ", ".join(
            f"{p} {m[p] * 1e3:.3f} ms" for p in PHASES)
            + f", step {m['step'] * 1e3:.3f} ms", flush=True)
    table = md_table(["net", "batch"] + [f"{p} (ms)" for p in PHASES]
                     + ["other (ms)", "step (ms)"], rows)
    print(table, flush=True)
    checks = []
    for bs in cfg.batch_sizes:
        plain, blocks = medians[("hashed", bs)], medians[("hashed blocks", bs)]
        gain = ((plain["gather"] + plain["scatter"])
                / (blocks["gather"] + blocks["scatter"]))
        checks.append([f"gather+scatter, hashing / hashing_blocks, batch {bs}",
                       ">= 2", f"{gain:.2f}", "yes" if gain >= 2 else "NO"])
    bs = cfg.batch_sizes[0]
    per_step, per_block = hook_cost(
        HashedMLPClassifier(hidden_layer_sizes=hidden, compression=1 / 8,
                            batch_size=bs, max_iter=1, solver="sgd",
                            learning_rate_init=0.01, random_state=0),
        X, y, -(-X.shape[0] // bs))
    share = per_step * per_block / medians[("hashed", bs)]["step"]
    hook = (f"While no clock is set, a hashed step at batch {bs} passes "
            f"{per_step:.0f} empty phase blocks of {per_block * 1e9:.0f} ns "
            f"each: the timing hook costs {share:.2%} of the step.")
    print(hook, flush=True)
    probed = list(_threads._exact.values())  # each product shape's probe
    split = (f"{sum(probed)} of the {len(probed)} product shapes probed "
             "were split" if probed else "no product was large enough to split")
    return {"table": table, "data": data_note, "medians": medians, "checks": checks,
            "hook": hook, "split": split}


def section(cfg, result):
    return [
        "## Where a training step's time goes", "",
        f"One epoch of 784-{cfg.hidden}-10 at 1/8 on {cfg.step_samples} "
        f"rows ({result['data']}), milliseconds per step, median of "
        f"{cfg.repeats}. Hashed: `HashedMLPClassifier(solver=\"sgd\", "
        "learning_rate_init=0.01)` on the package's thread policy (one "
        "BLAS thread; a product of 2**24 multiply-adds or more split in "
        "halves, the second on a helper thread, where a one-time probe of its "
        "shape finds the halves give the whole product's bits; in this run "
        f"{result.get('split', 'the split was not recorded')}), its phases "
        "timed through the "
        "package's timing hook (`sk_hashednets/_timing.py`; products: the wall "
        "time of both halves; hashed blocks: the same with "
        "`method=\"hashing_blocks\"`, whose gather is `block_table` "
        "plus `block_gather`); floor: the NumPy dense MLP of "
        "`benchmarks/peers.py` with its sections timed, on BLAS's "
        "threads and on one. Gather is "
        "`signed_table` plus `gather` (buckets to V), scatter is dL/dV to "
        "bucket gradients; optimizer includes the gradient clipping and "
        "the L2 term; other is the rest of the step (batch "
        "copies, bias gradients, Python).", "", result["table"], "",
        result["hook"]]
