"""The private timing hook (sk_hashednets/_timing.py) that the step breakdown
of benchmarks/parts/steps.py reads: it sees every phase of a step, changes
nothing the fit computes, and is gone when its block ends."""

from contextlib import contextmanager

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sk_hashednets import HashedMLPClassifier, _timing

PHASES = {"epoch", "products", "gather", "scatter", "activation and loss",
          "optimizer"}


class RecordingClock:
    """Each phase's blocks, with the phases open around them."""

    def __init__(self):
        self.blocks, self.open = [], []

    @contextmanager
    def __call__(self, phase):
        self.blocks.append((phase, tuple(self.open)))
        self.open.append(phase)
        try:
            yield
        finally:
            self.open.pop()


def _fit(method, **params):
    X, y = load_digits(return_X_y=True)
    return HashedMLPClassifier(hidden_layer_sizes=(32,), method=method, max_iter=2,
                               batch_size=64, random_state=0, alpha=1e-3,
                               **params).fit((X[:300] / 16).astype(np.float32),
                                             y[:300])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method", ["hashing", "hashing_blocks", "low_rank"])
def test_a_clock_sees_every_phase_and_changes_nothing(method):
    plain = _fit(method)
    with _timing.timed_by(RecordingClock()) as clock:
        timed = _fit(method)
    assert _timing.clock is None
    seen = {phase for phase, _ in clock.blocks}
    expected = PHASES - ({"gather", "scatter"} if method == "low_rank" else set())
    assert seen == expected
    # every phase of a step lies inside an epoch
    assert all("epoch" in outer for phase, outer in clock.blocks if phase != "epoch")
    for a, b in zip(plain.buckets_ + plain.intercepts_,
                    timed.buckets_ + timed.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert plain.loss_curve_ == timed.loss_curve_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dL_dV_rows_are_scattered_inside_its_product():
    with _timing.timed_by(RecordingClock()) as clock:
        _fit("hashing")
    assert any(phase == "scatter" and outer[-1] == "products"
               for phase, outer in clock.blocks)


def test_the_clock_is_restored_after_an_error():
    with pytest.raises(RuntimeError), _timing.timed_by(RecordingClock()):
        raise RuntimeError
    assert _timing.clock is None
    assert _timing.phase("gather") is _timing.phase("scatter")  # the shared no-op
