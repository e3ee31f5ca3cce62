"""``method="shrunk"``: a dense network whose hidden widths are scaled down to
the hashed network's storage."""

import numpy as np

from ._layer_base import WeightParametrization
from ._lazy import kernels as _kernels


class DenseWeights(WeightParametrization):
    """A plain dense matrix: the layers of the shrunk network, a dense network
    whose hidden widths are scaled down to the hashed network's storage."""

    method = "shrunk"

    @staticmethod
    def n_stored_for(n_in, n_out, budget):
        return n_in * n_out

    @classmethod
    def plan(cls, layer_units, budgets):
        """Dense layers, the hidden widths scaled down (:func:`shrink_widths`)
        so that the weights and biases fit the total storage of the hashed
        network: all budgets plus the virtual network's biases."""
        total = sum(budgets) + sum(layer_units[1:])
        layer_units = shrink_widths(layer_units, total)
        return layer_units, [a * b for a, b in zip(layer_units[:-1], layer_units[1:])]

    def virtual(self, w, out=None):
        V = w.reshape(self.shape)
        if out is None:
            return V
        out[...] = V
        return out

    def grad(self, G, w, out):
        out[...] = G.reshape(-1)

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """None: V is the stored weights, and the gradient is written in place."""
        return 0

    def sparse_grad(self, X, delta, w, out):
        _kernels.sparse_dense_grad(X.indptr, X.indices, X.data, delta, out)


def shrink_widths(layer_units, total):
    """Hidden widths ``max(1, floor(s * h))`` for the largest scale ``s`` in
    (0, 1] whose dense network (weights and biases) stores at most ``total``
    parameters; widths of 1 when even that is too large."""

    def widths(scale):
        hidden = [max(1, int(np.floor(scale * h))) for h in layer_units[1:-1]]
        return [layer_units[0], *hidden, layer_units[-1]]

    def size(units):
        return sum(a * b + b for a, b in zip(units[:-1], units[1:]))

    if size(widths(1.0)) <= total:
        return widths(1.0)
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if size(widths(mid)) <= total else (low, mid)
    return widths(low)
