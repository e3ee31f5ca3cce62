"""The training step's update kernels: fused losses, optimizer steps and the
quantization rule.

Every one of them is elementwise or row-wise arithmetic that hashes nothing:
none calls a kernel of :mod:`._kernels` and none of those calls one of these,
so each file's Numba cache stays valid on its own. :mod:`._kernels` hands them
on; read them there (``_lazy.kernels``), never import this module directly:
importing it imports Numba.
"""

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True)


# --------------------------------------------------------------------------
# losses: weighted mean loss and its gradient dL/dz in one pass
# --------------------------------------------------------------------------
# Each returns sum_r sw[r] * loss_r * inv_sw_sum, computed in float64, and
# writes delta = dL/dz = (link(z) - Y) * sw[:, None] * inv_sw_sum (divided by
# the number of outputs for the squared error).
@njit(**_JIT)
def softmax_cross_entropy(z, Y, sw, inv_sw_sum, delta):
    total = 0.0
    for r in range(z.shape[0]):
        top = np.float64(z[r, 0])
        for j in range(1, z.shape[1]):
            top = max(top, np.float64(z[r, j]))
        norm = 0.0
        for j in range(z.shape[1]):
            norm += np.exp(np.float64(z[r, j]) - top)
        log_norm = top + np.log(norm)
        weight = sw[r] * inv_sw_sum
        row = 0.0
        for j in range(z.shape[1]):
            log_p = np.float64(z[r, j]) - log_norm
            row -= Y[r, j] * log_p
            delta[r, j] = (np.exp(log_p) - Y[r, j]) * weight
        total += sw[r] * row
    return total * inv_sw_sum


@njit(**_JIT)
def logistic_cross_entropy(z, Y, sw, inv_sw_sum, delta):
    total = 0.0
    for r in range(z.shape[0]):
        weight = sw[r] * inv_sw_sum
        row = 0.0
        for j in range(z.shape[1]):
            x = np.float64(z[r, j])
            e = np.exp(-abs(x))
            # -[y log s(x) + (1 - y) log(1 - s(x))] = softplus(x) - y x
            row += max(x, 0.0) + np.log1p(e) - Y[r, j] * x
            p = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
            delta[r, j] = (p - Y[r, j]) * weight
        total += sw[r] * row
    return total * inv_sw_sum


@njit(**_JIT)
def squared_error(z, Y, sw, inv_sw_sum, delta):
    total = 0.0
    n_out = z.shape[1]
    for r in range(z.shape[0]):
        weight = sw[r] * inv_sw_sum / n_out
        row = 0.0
        for j in range(n_out):
            e = np.float64(z[r, j]) - Y[r, j]
            row += e * e
            delta[r, j] = e * weight
        total += sw[r] * row
    return 0.5 * total * inv_sw_sum / n_out


# --------------------------------------------------------------------------
# optimizer
# --------------------------------------------------------------------------
@njit(**_JIT)
def momentum_step(param, grad, velocity, lr, momentum, nesterov):
    """One fused momentum-SGD step, in place, as scikit-learn's SGDOptimizer.

    v <- momentum * v - lr * g
    p <- p + v                          (classical)
    p <- p + momentum * v - lr * g      (Nesterov)
    """
    for k in range(param.shape[0]):
        g = grad[k]
        v = momentum * velocity[k] - lr * g
        velocity[k] = v
        if nesterov:
            param[k] += momentum * v - lr * g
        else:
            param[k] += v


@njit(**_JIT)
def adam_step(param, grad, m, v, lr, beta_1, beta_2, epsilon):
    """One fused Adam step, in place, as scikit-learn's AdamOptimizer
    (``lr`` already holds the bias correction
    ``lr_init * sqrt(1 - beta_2**t) / (1 - beta_1**t)``).

    m <- beta_1 * m + (1 - beta_1) * g
    v <- beta_2 * v + (1 - beta_2) * g**2
    p <- p - lr * m / (sqrt(v) + epsilon)
    """
    one = param.dtype.type(1)
    for k in range(param.shape[0]):
        g = grad[k]
        mk = beta_1 * m[k] + (one - beta_1) * g
        vk = beta_2 * v[k] + (one - beta_2) * (g * g)
        m[k] = mk
        v[k] = vk
        param[k] -= lr * mk / (np.sqrt(vk) + epsilon)


@njit(**_JIT)
def scale_by(x, s):
    """x *= s, elementwise."""
    for k in range(x.shape[0]):
        x[k] *= s[k]


@njit(**_JIT)
def axpy(a, x, y):
    """y += a * x."""
    for k in range(y.shape[0]):
        y[k] += a * x[k]


# --------------------------------------------------------------------------
# quantization (the rule of _quantize: one scale per layer, symmetric)
# --------------------------------------------------------------------------
@njit(**_JIT)
def quantize_buckets(w, levels, q, out):
    """Round a layer's buckets ``w`` to ``2 * levels + 1`` symmetric levels.

    ``scale = float32(max|w| / levels)`` (1 where that is 0), ``q[k] =
    clip(rint(w[k] / scale), -levels, levels)`` in float64, written to the
    int8 array ``q``; ``out[k] = scale * q[k]`` in ``out``'s dtype. Returns the
    scale (a float32 value, as float64), or NaN with ``out = w`` where ``w``
    holds a value that is not finite. ``q`` and ``out`` have ``w``'s size.
    """
    peak = 0.0
    for k in range(w.size):
        a = abs(np.float64(w[k]))
        if not a <= 1.7976931348623157e308:  # NaN or inf
            for m in range(w.size):
                out[m] = w[m]
                q[m] = 0
            return np.nan
        if a > peak:
            peak = a
    scale = np.float64(np.float32(peak / levels))
    if scale == 0.0:
        scale = 1.0
    for k in range(w.size):
        v = np.rint(np.float64(w[k]) / scale)
        v = min(max(v, -levels), levels)
        q[k] = np.int8(v)
        out[k] = scale * v
    return scale
