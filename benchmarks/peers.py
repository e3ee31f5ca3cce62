"""The implementations the benchmark compares HashedMLPClassifier against.

* :func:`numpy_dense_epoch` - a plain NumPy float32 dense MLP: forward,
  backward and a Nesterov momentum update, no hashing. It is written to be
  fast (float32 BLAS, buffers allocated once, in-place updates), so it is the
  floor that hashed training should approach, not a straw man.
* :class:`TorchHashedMLP` - a PyTorch CPU HashedNets MLP written the usual
  way: each layer holds an int64 index buffer and a float sign buffer of shape
  (n_in, n_out), gathers its dense weight from the buckets every step, and
  autograd does the scatter. Needs ``pip install torch`` (the CPU build); it is
  never a dependency of sk_hashednets.

Both use the same hash as sk_hashednets (the README's recipe), the same
Glorot-uniform bucket initialisation, softmax cross-entropy, ReLU, the same
batch size, learning rate 0.01, momentum 0.9 (Nesterov) and L2 penalty 1e-4.
"""

import contextlib

import numpy as np

from sk_hashednets._layers import HashedWeights

LEARNING_RATE = 0.01
MOMENTUM = 0.9
ALPHA = 1e-4


def one_hot(y, n_classes, dtype=np.float32):
    return (np.asarray(y)[:, None] == np.arange(n_classes)).astype(dtype)


# --------------------------------------------------------------------------
# (c) the NumPy float32 dense floor
# --------------------------------------------------------------------------
def numpy_dense_epoch(X, Y, hidden, batch_size, seed=0, clock=None):
    """One epoch of a dense ``n_in-hidden-n_out`` ReLU MLP in float32 NumPy.

    Returns the mean training loss of the epoch (to check that it learns).
    ``clock(phase)``, when given, returns a context manager timing the step's
    phases ("products", "activation and loss", "optimizer"; bench.py).
    """
    clock = clock or _no_clock
    rng = np.random.default_rng(seed)
    n, n_in = X.shape
    n_out = Y.shape[1]
    sizes = [n_in, *hidden, n_out]
    W, b = [], []
    for a, c in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (a + c))
        W.append(rng.uniform(-bound, bound, (a, c)).astype(np.float32))
        b.append(rng.uniform(-bound, bound, c).astype(np.float32))
    params = W + b
    vel = [np.zeros_like(p) for p in params]
    tmp = [np.empty_like(p) for p in params]
    gW = [np.empty_like(w) for w in W]
    gb = [np.empty_like(v) for v in b]
    grads = gW + gb
    acts = [np.empty((batch_size, s), np.float32) for s in sizes]
    deltas = [np.empty((batch_size, s), np.float32) for s in sizes]
    yb_buf = np.empty((batch_size, n_out), np.float32)
    lr, mu = np.float32(LEARNING_RATE), np.float32(MOMENTUM)
    order = rng.permutation(n)
    last = len(W) - 1
    total = 0.0
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        m = len(idx)
        a = [x[:m] for x in acts]
        d = [x[:m] for x in deltas]
        np.take(X, idx, axis=0, out=a[0])
        yb = np.take(Y, idx, axis=0, out=yb_buf[:m])
        for i in range(len(W)):
            with clock("products"):
                np.matmul(a[i], W[i], out=a[i + 1])
            with clock("activation and loss"):
                a[i + 1] += b[i]
                if i < last:
                    np.maximum(a[i + 1], 0, out=a[i + 1])
        with clock("activation and loss"):
            z = a[-1]  # softmax in place
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
            total += -float(np.log(np.maximum(z[yb > 0], 1e-30)).sum())
            np.subtract(z, yb, out=d[-1])
            d[-1] /= m
        for i in range(last, -1, -1):
            with clock("products"):
                np.matmul(a[i].T, d[i + 1], out=gW[i])
            with clock("optimizer"):  # the L2 term, as the hashed net's
                gW[i] += (ALPHA / m) * W[i]
            np.sum(d[i + 1], axis=0, out=gb[i])
            if i > 0:
                with clock("products"):
                    np.matmul(d[i + 1], W[i].T, out=d[i])
                with clock("activation and loss"):
                    d[i] *= a[i] > 0
        # Nesterov momentum, as scikit-learn's SGDOptimizer:
        # v <- mu v - lr g;  p <- p + mu v - lr g
        with clock("optimizer"):
            for p, g, v, t in zip(params, grads, vel, tmp):
                g *= lr
                v *= mu
                v -= g
                np.multiply(v, mu, out=t)
                t -= g
                p += t
    return total / n


_NULL = contextlib.nullcontext()


def _no_clock(phase):
    return _NULL


# --------------------------------------------------------------------------
# (d) PyTorch hashed layer, the usual way
# --------------------------------------------------------------------------
def torch_hashed_mlp(n_in, hidden, n_out, compression, seed=0):
    """Build the PyTorch peer: a ``torch.nn.Module`` of hashed linear layers."""
    import torch
    from torch import nn

    class HashedLinear(nn.Module):
        """``x @ (sign * w[index]) + bias`` with (n_in, n_out) index/sign buffers."""

        def __init__(self, n_in, n_out, n_buckets, seeds, rng):
            super().__init__()
            layer = HashedWeights(n_in, n_out, n_buckets, seeds, cache=True)
            codes = layer._codes.astype(np.int64)
            del layer
            self.register_buffer("index", torch.from_numpy(codes % n_buckets))
            self.register_buffer(
                "sign", torch.from_numpy(np.where(codes >= n_buckets, -1.0, 1.0)
                                         .astype(np.float32)))
            bound = np.sqrt(6.0 / (n_in + n_out))
            self.weight = nn.Parameter(torch.from_numpy(
                rng.uniform(-bound, bound, n_buckets).astype(np.float32)))
            self.bias = nn.Parameter(torch.from_numpy(
                rng.uniform(-bound, bound, n_out).astype(np.float32)))

        def forward(self, x):
            virtual = self.weight[self.index] * self.sign
            return torch.addmm(self.bias, x, virtual)

    rng = np.random.default_rng(seed)
    sizes = [n_in, *hidden, n_out]
    layers = []
    for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:])):
        k = max(1, round(compression * a * c))
        layers.append(HashedLinear(a, c, k, np.array([7 + i, 11 + i], np.uint32), rng))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_epoch(model, X, y, batch_size, seed=0):
    """One epoch of momentum SGD with autograd; returns the mean training loss."""
    import torch
    import torch.nn.functional as F

    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM,
                          nesterov=True, weight_decay=0.0)
    n = Xt.shape[0]
    order = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    total = 0.0
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        xb, yb = Xt[idx], yt[idx]
        loss = F.cross_entropy(model(xb), yb)
        l2 = sum((p * p).sum() for name, p in model.named_parameters()
                 if name.endswith("weight"))
        opt.zero_grad(set_to_none=False)
        (loss + 0.5 * ALPHA / len(idx) * l2).backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / n
