"""The budget rule: how many weights each layer may store, and the widths
and stored weights each method then has (every method at the storage of the
hashed network)."""

from numbers import Integral

import numpy as np

from ._layers import MAX_VIRTUAL, METHODS


def layer_budgets(layer_units, compression, n_buckets=None, sparse_input=False,
                  hidden_layer_sizes=None):
    """Number of weights each layer of a virtual network may store.

    ``round(compression * n_in * n_out)`` (at least 1), or ``n_buckets`` (one
    int, or one per layer) capped at ``n_in * n_out``. A layer whose virtual
    matrix training would materialise must have at most :data:`MAX_VIRTUAL`
    virtual weights; with sparse input a hashed first layer is never
    materialised, so only its buckets count against that limit.
    ``hidden_layer_sizes`` only names the architecture in error messages.
    """
    shapes = list(zip(layer_units[:-1], layer_units[1:]))
    n_layers = len(shapes)
    if n_buckets is None:
        budgets = [max(1, round(compression * a * b)) for a, b in shapes]
    else:
        if np.ndim(n_buckets) == 0:
            requested = [n_buckets] * n_layers
        else:
            requested = list(n_buckets)
            if len(requested) != n_layers:
                raise ValueError(
                    f"n_buckets has {len(requested)} entries but the network "
                    f"has {n_layers} weight layers (hidden_layer_sizes="
                    f"{hidden_layer_sizes!r} plus the output layer); give "
                    f"one int per layer or a single int."
                )
        if not all(
            isinstance(k, Integral) and not isinstance(k, bool) and k >= 1
            for k in requested
        ):
            raise ValueError(
                "n_buckets must be an int >= 1 or one int >= 1 per layer, got "
                f"{n_buckets!r}."
            )
        budgets = [min(int(k), a * b) for k, (a, b) in zip(requested, shapes)]
    for idx, ((a, b), k) in enumerate(zip(shapes, budgets)):
        on_the_fly = idx == 0 and sparse_input  # no method builds it
        if on_the_fly and k > MAX_VIRTUAL:
            raise ValueError(
                f"Layer 0 would store {k:.3g} weights; at most {MAX_VIRTUAL} "
                "(2**31 - 1) are supported per layer. Use a smaller "
                "compression or n_buckets."
            )
        if not on_the_fly and a * b > MAX_VIRTUAL:
            raise ValueError(
                f"Layer {idx} would have {a} x {b} = {a * b:.3g} virtual "
                f"weights; at most {MAX_VIRTUAL} (2**31 - 1) are supported "
                "per layer, because training materialises each layer's "
                "virtual matrix. Use smaller hidden_layer_sizes or fewer "
                "input features."
            )
    return budgets


def plan_layers(method, layer_units, budgets):
    """Actual layer widths and stored weights per layer for a method, whose
    layer ``l`` may store ``budgets[l]`` weights: as the method plans it
    (:meth:`~._layers.WeightParametrization.plan`)."""
    return METHODS[method].plan(layer_units, budgets)


def check_rescalable(method):
    """``rescale_grad`` needs each stored weight's load (:meth:`loads`)."""
    if not METHODS[method].rescalable:
        raise ValueError(
            "rescale_grad=True divides each stored weight's gradient by the "
            f"number of virtual weights that share it, which method={method!r} "
            "does not define (its stored weights are factors). Use it with "
            "method='hashing' (with 'random_edges' and 'shrunk' every load is "
            "1), or set rescale_grad=False."
        )
