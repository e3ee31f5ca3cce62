"""The interface of a weight parametrization: how a layer's stored weights
become its virtual matrix.

Every parametrization answers the same few questions, so the training loop
never needs to know which one it drives:

* ``n_stored_for(n_in, n_out, budget)``: how many weights a layer stores when
  it may store ``budget`` (``n_stored`` on an instance: its 1-D vector ``w``);
* ``init_weights(bound, rng, dtype)``: a fresh ``w``;
* ``virtual(w, out)``: the virtual ``n_in x n_out`` matrix V, written to ``out``;
* ``grad(G, w, out)``: ``dL/dw`` given ``G = dL/dV`` and the current ``w``;
* ``matmul(a, w, out, work)`` / ``matmul_grad(a, delta, w, out, prev, work)``:
  a training batch's product ``a @ V`` and its backward pass. The defaults
  build V in ``work``; a parametrization may do better (low rank: factored);
* ``sparse_matmul(X, w, out)`` / ``sparse_grad(X, delta, w, out)``: the first
  layer's product with a CSR input and, after it on the same batch, its weight
  gradient. The defaults materialise V; every parametrization here does
  better and never builds an n_in x n_out array (``sparse_workspace_bytes``
  counts what it allocates instead);
* ``loads()``: how many virtual weights share each stored weight (for
  ``rescale_grad``).
"""

import numpy as np

from . import _threads

# Largest virtual matrix a layer may materialise: codes and V are indexed with
# signed 64-bit offsets, but past this size a single layer's float32 V alone
# needs more than 8 GiB, and a dense product over it is out of reach anyway.
MAX_VIRTUAL = 2**31 - 1


class WeightParametrization:
    """Base class: a layer ``n_in -> n_out`` stores ``n_stored`` weights."""

    method = None
    #: the first state format (``_persistence.STATE_FORMAT``) whose stored
    #: weights mean for this method what they mean now; older ones are refused
    first_state_format = 1
    #: what changed then, for the refusal's message
    state_format_change = ""
    #: whether training builds the n_in x n_out virtual matrix
    materialises = True
    #: whether :meth:`loads` is defined (``rescale_grad``)
    rescalable = True
    #: whether building a layer costs enough that an estimator keeps the layers
    #: it built for its later calls (:func:`make_layer_once`)
    keep_built = False

    def __init__(self, n_in, n_out, n_stored, seeds, cache=False):
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.n_stored = int(n_stored)
        self.seeds = seeds

    @staticmethod
    def n_stored_for(n_in, n_out, budget):
        """Stored weights a layer of this kind uses for a budget of ``budget``."""
        return budget

    @classmethod
    def plan(cls, layer_units, budgets):
        """``(layer widths, stored weights per layer)`` of a network of this
        method whose layer ``l`` may store ``budgets[l]`` weights. The default
        keeps the virtual widths and fits each layer in its budget
        (:meth:`n_stored_for`)."""
        return layer_units, [cls.n_stored_for(a, b, k) for a, b, k
                             in zip(layer_units[:-1], layer_units[1:], budgets)]

    @staticmethod
    def workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """Bytes a training layer allocates at its peak besides its virtual
        matrix and the optimizer's weight-sized vectors (index caches, sort
        keys); ``itemsize`` is the bytes of one weight, ``batch_size`` the
        rows of a training batch."""
        return 0

    @staticmethod
    def sparse_workspace_bytes(n_in, n_out, n_stored, itemsize, batch_size):
        """Bytes a first layer allocates at its peak on CSR input, besides the
        optimizer's weight-sized vectors (the default builds V)."""
        return n_in * n_out * itemsize

    @property
    def shape(self):
        return (self.n_in, self.n_out)

    def init_weights(self, bound, rng, dtype):
        return rng.uniform(-bound, bound, self.n_stored).astype(dtype, copy=False)

    def virtual(self, w, out=None):
        raise NotImplementedError

    def grad(self, G, w, out):
        raise NotImplementedError

    def matmul(self, a, w, out, work=None):
        """``out = a @ V`` for a dense batch ``a``; ``work`` is an n_in x n_out
        buffer that the default builds V in (and keeps it there for
        :meth:`matmul_grad`)."""
        _threads.matmul(a, self.virtual(w, out=work), out)

    def matmul_grad(self, a, delta, w, out, prev=None, work=None):
        """Backward pass of :meth:`matmul` on the same batch: ``out = dL/dw``
        given ``delta = dL/dz``, and ``prev = delta @ V.T`` unless None. The
        default reads V from ``work``, then reuses it for ``G = a.T @ delta``."""
        if prev is not None:
            _threads.matmul(delta, work.T, prev)
        _threads.matmul(a.T, delta, work)
        self.grad(work, w, out)

    def loads(self):
        """How many virtual weights share each stored weight, or None where
        each stored weight is a single virtual weight."""
        return None

    def sparse_matmul(self, X, w, out):
        out[:] = X @ self.virtual(w)

    def sparse_grad(self, X, delta, w, out):
        self.grad(np.asarray(X.T @ delta), w, out)
