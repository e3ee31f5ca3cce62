"""A benchmark peer, not a package feature: scikit-learn's dense MLPClassifier
with int8 weights, as C for the board.

What an embedded engineer short of flash ships instead of float weights:
each layer's weights rounded after training to int8 with one scale per layer
(the package's rule, ``sk_hashednets._quantize.quantize_layer``: ``s =
float32(max|W| / 127)``, ``q = rint(W / s)``), float32 biases, float
activations (weight-only quantization, as ``export_c``'s int8 buckets). The
C loop is the plain dense one: ``z[j] += a_i * q[i][j]`` over every weight
(no zero input skipped, as emlearn does not), then ``z = s * z + b``, ReLU or
the softmax. ``quantized`` is the Python model the C computes.
"""

import copy

import numpy as np

from sk_hashednets._quantize import quantize_layer

SOURCE = """\
#include <math.h>
#include <stdint.h>
#include "dense_int8.h"

{arrays}
static float dense_scratch[{scratch}];

/* z = s * (a @ Q) + b, with Q the int8 weights of one layer (row-major) */
static void dense_layer(const float *a, uint32_t n_in, const int8_t *q, float s,
                        const float *b, uint32_t n_out, float *z)
{{
    uint32_t i, j;
    for (j = 0; j < n_out; ++j)
        z[j] = 0.0f;
    for (i = 0; i < n_in; ++i, q += n_out) {{
        const float v = a[i];
        for (j = 0; j < n_out; ++j)
            z[j] += v * (float)q[j];
    }}
    for (j = 0; j < n_out; ++j)
        z[j] = s * z[j] + b[j];
}}

void dense_predict_proba(const float *x, float *out)
{{
    const float *a = x;
    float *z = dense_scratch;
    float peak, total = 0.0f;
    uint32_t j;
{layers}
    peak = a[0];
    for (j = 1; j < {n_out}u; ++j)
        if (a[j] > peak)
            peak = a[j];
    for (j = 0; j < {n_out}u; ++j) {{
        out[j] = expf(a[j] - peak);
        total += out[j];
    }}
    for (j = 0; j < {n_out}u; ++j)
        out[j] /= total;
}}
"""

LAYER = """\
    dense_layer(a, {n_in}u, dense_q{k}, {scale}, dense_b{k}, {n_out}u, z);
{relu}    a = z;
    z = (z == dense_scratch) ? dense_scratch + {width} : dense_scratch;
"""

RELU = """\
    for (j = 0; j < {n_out}u; ++j)
        if (z[j] < 0.0f)
            z[j] = 0.0f;
"""


def _f32(v):
    text = str(np.float32(v))
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


def _array(ctype, name, values, fmt):
    body = ", ".join(fmt(v) for v in values)
    return f"static const {ctype} {name}[{len(values)}] = {{{body}}};\n"


def levels(mlp):
    """[(q, scale)] of each layer's weights under the rule."""
    return [quantize_layer(W.ravel(), "int8") for W in mlp.coefs_]


def quantized(mlp):
    """A copy of a fitted MLPClassifier with the weights the C file holds."""
    if mlp.activation != "relu" or mlp.out_activation_ != "softmax":
        raise ValueError("the dense int8 peer writes ReLU networks with a "
                         "softmax output only")
    out = copy.deepcopy(mlp)
    out.coefs_ = [(np.float64(s) * q).reshape(W.shape)
                  for (q, s), W in zip(levels(mlp), mlp.coefs_)]
    return out


def write(mlp, directory):
    """Write dense_int8.c and dense_int8.h for ``mlp`` into ``directory``."""
    quantized(mlp)  # checks the network's kind
    units = [mlp.n_features_in_] + [len(b) for b in mlp.intercepts_]
    width = max(units[1:])
    arrays, layers = [], []
    for k, ((q, s), b) in enumerate(zip(levels(mlp), mlp.intercepts_)):
        arrays.append(_array("int8_t", f"dense_q{k}", q, str))
        arrays.append(_array("float", f"dense_b{k}", b, _f32))
        last = k == len(mlp.coefs_) - 1
        layers.append(LAYER.format(k=k, n_in=units[k], n_out=units[k + 1],
                                   scale=_f32(s), width=width,
                                   relu="" if last else RELU.format(
                                       n_out=units[k + 1])))
    (directory / "dense_int8.h").write_text(
        "void dense_predict_proba(const float *x, float *out);\n")
    (directory / "dense_int8.c").write_text(SOURCE.format(
        arrays="".join(arrays), scratch=2 * width, layers="".join(layers),
        n_out=units[-1]))
    return directory / "dense_int8.c"
