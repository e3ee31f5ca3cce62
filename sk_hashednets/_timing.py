"""A private hook that times the phases of a training step.

The package marks the phases of its training step with ``with phase(name):``
blocks; nothing in the package looks at them. While no clock is set (always,
outside ``benchmarks/parts/steps.py``) :func:`phase` returns one shared
do-nothing context: a block costs a function call and an empty ``with``
(about 0.15 us; a step of 784-1000-10 at batch 50 holds 17 of them and
takes 1.8 to 2.7 ms, ``benchmarks/RESULTS.md``: under 0.2% of a step).
:func:`timed_by` sets a clock for the duration of a
``with`` block, so a benchmark can see where a step's time goes without
replacing any of the package's functions.

The phases, as marked:

* ``"epoch"``: one pass over the training set (``_training._run_epoch``),
  around all the others;
* ``"products"``: the step's matrix products (``_threads.matmul`` and
  ``matmul_rows``, the low-rank layers' factored products);
* ``"gather"``: building a virtual matrix from the buckets (the signed table
  and the gather of the hashed layers);
* ``"scatter"``: dL/dV into the buckets' gradient (adding its rows into the
  signed table, then folding it); entered inside ``"products"`` by
  ``matmul_rows``, which adds the first rows while it computes the later;
* ``"activation and loss"``: the hidden activations (with dropout), input
  dropout, and the loss with its gradient;
* ``"optimizer"``: gradient clipping and the solver's update.

Phases nest: a clock that wants each phase's own time charges a block's
time to the innermost phase open. Blocks run on the calling thread only (the
helper thread of ``_threads`` computes a half product inside a "products"
block of the caller).
"""

from contextlib import contextmanager, nullcontext

#: None, or a callable ``clock(name)`` returning a context manager that times
#: the block of phase ``name``; set it with :func:`timed_by`
clock = None

_UNTIMED = nullcontext()


def phase(name):
    """The context of a ``with`` block of phase ``name``: the clock's, or one
    that does nothing while no clock is set."""
    return _UNTIMED if clock is None else clock(name)


@contextmanager
def timed_by(new_clock):
    """Time the phases with ``new_clock`` inside the ``with`` block."""
    global clock
    saved, clock = clock, new_clock
    try:
        yield new_clock
    finally:
        clock = saved
