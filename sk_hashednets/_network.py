"""The network between the estimator and the layers: forward passes, the
registry of output heads with their losses, and one training step over a batch
with buffers allocated once per fit."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_softmax, softmax, xlogy

from . import _threads
from ._lazy import kernels as _kernels
from ._quantize import LEVELS
from ._timing import phase


def activation_code(activation):
    """The kernels' code of a hidden activation (``_kernels.RELU``...)."""
    return getattr(_kernels, activation.upper())


# --------------------------------------------------------------------------
# losses: each maps the output layer's pre-activation z to an output, a loss
# and the gradient dL/dz (the canonical link makes it ``out - y``)
# --------------------------------------------------------------------------
class Loss:
    """Loss on the output layer's pre-activation ``z``.

    ``value_and_delta`` is the training hot path; the losses below run it as
    one fused kernel. A new loss only needs ``link`` and ``per_sample``: the
    generic ``value_and_delta`` here derives the rest from them. Each loss
    belongs to one output head of :data:`HEADS`.
    """

    @staticmethod
    def link(z):
        """The output activation (what ``predict_proba``/``predict`` return)."""
        raise NotImplementedError

    def per_sample(self, z, Y):
        """Loss of each row, as float64."""
        raise NotImplementedError

    def value_and_delta(self, z, Y, sw, sw_sum, delta):
        """Return the weighted mean loss; write dL/dz (already / sw_sum) to delta."""
        out = self.link(z)
        loss = np.dot(sw, self.per_sample(z, Y)) / sw_sum
        np.subtract(out, Y, out=delta)
        delta *= (sw / sw_sum)[:, None]
        return loss


class SquaredError(Loss):

    @staticmethod
    def link(z):
        return z

    def per_sample(self, z, Y):
        r = (z - Y).astype(np.float64, copy=False)
        return 0.5 * np.einsum("ij,ij->i", r, r) / Y.shape[1]

    def value_and_delta(self, z, Y, sw, sw_sum, delta):
        return _kernels.squared_error(z, Y, sw, 1.0 / sw_sum, delta)


class SoftmaxCrossEntropy(Loss):

    @staticmethod
    def link(z):
        return softmax(z, axis=1)

    def per_sample(self, z, Y):
        return -np.einsum("ij,ij->i", Y, log_softmax(z.astype(np.float64), axis=1))

    def value_and_delta(self, z, Y, sw, sw_sum, delta):
        return _kernels.softmax_cross_entropy(z, Y, sw, 1.0 / sw_sum, delta)


class LogisticCrossEntropy(Loss):
    """Binary cross-entropy per output column (binary and multilabel)."""


    @staticmethod
    def link(z):
        return expit(z)

    def per_sample(self, z, Y):
        z = z.astype(np.float64)
        # -[y log s(z) + (1 - y) log(1 - s(z))] = softplus(z) - y z, stably
        return (np.logaddexp(0, z) - Y * z).sum(axis=1)

    def value_and_delta(self, z, Y, sw, sw_sum, delta):
        return _kernels.logistic_cross_entropy(z, Y, sw, 1.0 / sw_sum, delta)


class PoissonDeviance(Loss):
    """Half the Poisson deviance with the log link: ``mu = exp(z)``, as
    :class:`~sklearn.neural_network.MLPRegressor`'s ``loss='poisson'``.

    Per sample, summed over outputs: ``y log(y / mu) - y + mu``; its gradient
    in ``z`` is ``mu - y`` (the canonical link), which the generic
    :meth:`Loss.value_and_delta` computes.
    """


    @staticmethod
    def link(z):
        return np.exp(z)

    def per_sample(self, z, Y):
        z = z.astype(np.float64)
        Y = Y.astype(np.float64, copy=False)
        return (np.exp(z) - Y * z + xlogy(Y, Y) - Y).sum(axis=1)


class Distillation(Loss):
    """Hinton et al.'s dark knowledge: hard targets mixed with a teacher's soft ones.

    The targets ``Y`` hold the one-hot (or 0/1) hard targets in their first
    ``n_outputs`` columns and the teacher's probabilities at temperature ``T``
    in the rest. The loss is

        (1 - weight) * CE(y, link(z)) + weight * T**2 * CE(q_T, link(z / T)),

    the ``T**2`` keeping the soft term's gradient on the scale of the hard one.
    """

    def __init__(self, hard, temperature, weight):
        self.hard = hard
        self.temperature = float(temperature)
        self.weight = float(weight)

    def link(self, z):
        return self.hard.link(z)

    def value_and_delta(self, z, Y, sw, sw_sum, delta):
        n_out = z.shape[1]
        T, weight = self.temperature, self.weight
        hard = self.hard.value_and_delta(z, Y[:, :n_out], sw, sw_sum, delta)
        soft_targets = Y[:, n_out:]
        zT = z / T
        soft = np.dot(sw, self.hard.per_sample(zT, soft_targets)) / sw_sum
        soft_delta = (self.hard.link(zT) - soft_targets) * (sw * (T / sw_sum))[:, None]
        delta *= 1 - weight
        delta += weight * soft_delta
        return (1 - weight) * hard + weight * T * T * soft


@dataclass(frozen=True)
class Head:
    """An output head: the output activation a fitted model records as
    ``out_activation_``, the link from the output layer's pre-activation to
    what ``predict_proba`` (classifier) or ``predict`` (regressor, before the
    target scaling is undone) returns, and the loss it trains with.

    Every caller reads heads here: the estimators (which head their targets
    ask for, which a saved model may hold), the training loop (the loss), and
    both exports, which write each head by its ``name`` from one table of
    their own and refuse a head that table lacks.
    """

    name: str
    loss: type
    estimator: str  # "classifier" or "regressor": which estimator fits it

    def link(self, z):
        return self.loss.link(z)


#: The output heads, by ``out_activation_``. A classifier's ``"logistic"``
#: head is one unit per label (multilabel) or one unit for the second class
#: (binary, whose ``predict_proba`` is ``[1 - p, p]``).
HEADS = {head.name: head for head in (
    Head("softmax", SoftmaxCrossEntropy, "classifier"),
    Head("logistic", LogisticCrossEntropy, "classifier"),
    Head("identity", SquaredError, "regressor"),
    Head("exp", PoissonDeviance, "regressor"),
)}


def heads_of(estimator):
    """Names of the heads an estimator kind ("classifier", "regressor") fits."""
    return tuple(name for name, head in HEADS.items() if head.estimator == estimator)


# --------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------
def forward(layers, weights, biases, X, activation):
    """Pre-activation of the output layer for X, one virtual matrix at a time.

    Peak extra memory: one layer's virtual matrix plus the activations.
    """
    kind = activation_code(activation)
    a = X
    for idx, (layer, w, b) in enumerate(zip(layers, weights, biases)):
        z = np.empty((a.shape[0], layer.n_out), dtype=w.dtype)
        if sp.issparse(a):
            layer.sparse_matmul(a, w, z)
        else:
            layer.matmul(a, w, z)
        if idx < len(layers) - 1:
            _kernels.bias_activate(z, b, kind)
        else:
            z += b
        a = z
    return a


def forward_bytes(layer_units, n_rows, itemsize, first_on_the_fly=False):
    """Peak bytes :func:`forward` allocates for ``n_rows`` rows: one layer's
    virtual matrix (none for a first layer computed on the fly from sparse
    input) and that layer's input and output activations."""
    return itemsize * max(
        (0 if idx == 0 and first_on_the_fly else a * b) + 2 * n_rows * b
        for idx, (a, b) in enumerate(zip(layer_units[:-1], layer_units[1:])))


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------
class Trainer:
    """Forward and backward passes over batches, with preallocated buffers.

    The parameters are the lists ``weights`` (stored weights of each layer) and
    ``biases``; ``step`` fills ``weight_grads`` and ``bias_grads`` and returns
    the batch loss. Each layer's virtual matrix buffer is reused in the
    backward pass for ``G = dL/dV``, once ``delta @ V.T`` no longer needs it.
    ``grad_scales`` (one array per layer, or None) multiplies each layer's data
    gradient elementwise, before the L2 term: ``rescale_grad`` passes the
    inverse bucket loads.

    ``quantize`` (``"int8"``, ``"int4"`` or None) trains the model as it is
    stored: each step rounds every layer's weights with the rule of
    :mod:`._quantize` (into ``stored``, once per step: K values, not one per
    virtual weight), runs the forward and backward passes on the rounded
    weights, and hands their gradient straight through to ``weights``, the
    float weights the solver updates (the straight-through estimator); the L2
    term is the float weights'.
    """

    def __init__(self, layers, weights, biases, *, activation, loss, alpha,
                 dropout, input_dropout, dropout_seed, batch_size, n_outputs,
                 dtype, sparse_input=False, grad_scales=None, quantize=None):
        self.layers = layers
        self.weights = weights
        self.biases = biases
        self.kind = activation_code(activation)
        self.loss = loss
        self.alpha = alpha
        self.dropout_seed = np.uint32(dropout_seed)
        self.dtype = dtype
        self.batch_size = batch_size
        self._hidden_drop = _dropout_constants(dropout)
        self._input_drop = _dropout_constants(input_dropout)

        # A sparse input multiplies the first layer directly: no dense input
        # buffers and no first-layer V, whose sizes grow with n_features.
        n_in = 0 if sparse_input else layers[0].n_in
        self.grad_scales = grad_scales or [None] * len(layers)
        self.V = [np.empty(layer.shape, dtype=dtype)
                  if layer.materialises and not (sparse_input and idx == 0)
                  else None
                  for idx, layer in enumerate(layers)]
        self.z = [np.empty((batch_size, layer.n_out), dtype=dtype) for layer in layers]
        self.deriv = [np.empty_like(z) for z in self.z[:-1]]
        self.delta = [np.empty_like(z) for z in self.z]
        self.weight_grads = [np.empty_like(w) for w in weights]
        self.bias_grads = [np.empty_like(b) for b in biases]
        self.X_buf = np.empty((batch_size, n_in), dtype=dtype)
        self.X_drop = np.empty((batch_size, n_in), dtype=dtype)
        self.Y_buf = np.empty((batch_size, n_outputs), dtype=dtype)
        self.sw_buf = np.empty(batch_size, dtype=dtype)
        self.levels = None if quantize is None else LEVELS[quantize]
        self.stored = weights
        if self.levels is not None:
            self.stored = [np.empty_like(w) for w in weights]
            self._q = [np.empty(w.size, dtype=np.int8) for w in weights]

    @staticmethod
    def buffer_bytes(parametrization, layer_units, budgets, itemsize, batch_size,
                     sparse_input, quantize=None):
        """Bytes a Trainer holds for a network of ``parametrization`` (layer
        widths ``layer_units``, ``budgets[l]`` stored weights in layer ``l``),
        its layers' workspaces included.

        Per layer: the virtual matrix ``V`` (reused for dL/dV) where the
        parametrization materialises it, and its workspace
        (``workspace_bytes``), or on sparse input, the first layer's
        ``sparse_workspace_bytes`` instead of both; the stored weights'
        gradient; three activation-sized buffers per batch row (``z``,
        ``deriv``, ``delta``). A dense input batch three times (``X_buf``,
        ``np.take``'s temporary, ``X_drop``). Training for a ``quantize``
        precision, the rounded weights and their int8 codes.
        """
        total = 0 if sparse_input else 3 * batch_size * layer_units[0] * itemsize
        for idx, (a, b, k) in enumerate(zip(layer_units[:-1], layer_units[1:],
                                            budgets)):
            if idx == 0 and sparse_input:
                total += parametrization.sparse_workspace_bytes(a, b, k, itemsize,
                                                                batch_size)
            else:
                total += a * b * itemsize * parametrization.materialises
                total += parametrization.workspace_bytes(a, b, k, itemsize,
                                                         batch_size)
            total += k * itemsize + 3 * batch_size * b * itemsize
            if quantize is not None:  # stored, _q
                total += k * (itemsize + 1)
        return total

    @staticmethod
    def first_step_bytes(parametrization, layer_units, itemsize, batch_size,
                         sparse_input):
        """Bytes the first step of a batch size allocates for a moment besides
        :meth:`buffer_bytes`: checking how its products split
        (:func:`._threads.split_probe_bytes`), for layers that build V."""
        products = []
        for idx, (a, b) in enumerate(zip(layer_units[:-1], layer_units[1:])):
            if parametrization.materialises and not (idx == 0 and sparse_input):
                products += [(batch_size, a, b), (a, batch_size, b)]  # a @ V, dL/dV
                products += [(batch_size, b, a)] if idx else []  # delta @ V.T
        return _threads.split_probe_bytes(products, itemsize)

    def take(self, X, Y, sw, idx):
        """Gather a batch into the preallocated buffers."""
        n = len(idx)
        if sp.issparse(X):
            Xb = X[idx]
        else:
            Xb = np.take(X, idx, axis=0, out=self.X_buf[:n])
        Yb = np.take(Y, idx, axis=0, out=self.Y_buf[:n])
        swb = np.take(sw, idx, axis=0, out=self.sw_buf[:n])
        return Xb, Yb, swb

    def _drop_input(self, Xb, step):
        threshold, scale = self._input_drop
        if threshold == 0:
            return Xb
        seed = _kernels.step_seed(self.dropout_seed, step, 0)
        with phase("activation and loss"):
            if sp.issparse(Xb):
                data = np.empty_like(Xb.data)
                _kernels.dropout_csr(Xb.indptr, Xb.indices, Xb.data, threshold,
                                     scale, seed, data)
                return sp.csr_matrix((data, Xb.indices, Xb.indptr), shape=Xb.shape)
            out = self.X_drop[: Xb.shape[0]]
            _kernels.dropout_dense(Xb, threshold, scale, seed, out)
        return out

    def step(self, Xb, Yb, swb, step):
        """Forward and backward pass on one batch; return its loss."""
        n = Xb.shape[0]
        layers, biases = self.layers, self.biases
        weights = self._round_weights()
        last = len(layers) - 1
        sparse_input = sp.issparse(Xb)

        # forward
        a = self._drop_input(Xb, step)
        inputs = [a]
        threshold, scale = self._hidden_drop
        for idx, layer in enumerate(layers):
            z = self.z[idx][:n]
            if idx == 0 and sparse_input:
                layer.sparse_matmul(a, weights[idx], z)
            else:
                layer.matmul(a, weights[idx], z, self.V[idx])
            if idx < last:
                seed = _kernels.step_seed(self.dropout_seed, step, idx + 1)
                with phase("activation and loss"):
                    _kernels.activate_train(z, biases[idx], self.kind, threshold,
                                            scale, seed, self.deriv[idx][:n])
                inputs.append(z)
            else:
                z += biases[idx]
            a = z

        sw_sum = swb.sum(dtype=np.float64)
        delta = self.delta[last][:n]
        with phase("activation and loss"):
            loss = self.loss.value_and_delta(self.z[last][:n], Yb, swb, sw_sum,
                                             delta)

        # backward
        decay = self.alpha / sw_sum
        for idx in range(last, -1, -1):
            np.sum(delta, axis=0, out=self.bias_grads[idx])
            prev = self.delta[idx - 1][:n] if idx > 0 else None
            grad = self.weight_grads[idx]
            if idx == 0 and sparse_input:
                layers[0].sparse_grad(inputs[0], delta, weights[0], grad)
            else:
                layers[idx].matmul_grad(inputs[idx], delta, weights[idx], grad,
                                        prev, self.V[idx])
            if prev is not None:
                prev *= self.deriv[idx - 1][:n]
            if self.grad_scales[idx] is not None:
                _kernels.scale_by(grad, self.grad_scales[idx])
            if decay:
                with phase("optimizer"):  # the L2 term
                    _kernels.axpy(decay, self.weights[idx], grad)
            if idx > 0:
                delta = prev
        if not decay:
            return loss
        return loss + 0.5 * decay * sum(float(np.dot(w, w)) for w in self.weights)

    def _round_weights(self):
        """The weights the passes run on: ``weights`` themselves, or their
        rounding into ``stored`` when training as quantized."""
        if self.levels is not None:
            for w, q, out in zip(self.weights, self._q, self.stored):
                _kernels.quantize_buckets(w, self.levels, q, out)
        return self.stored


def _dropout_constants(p):
    """(threshold, scale) for the counter-based dropout kernels."""
    if p <= 0:
        return np.uint32(0), 1.0
    return np.uint32(min(round(p * 2.0**32), 2**32 - 1)), 1.0 / (1.0 - p)
