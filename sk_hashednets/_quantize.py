"""The one rounding rule for buckets stored at low precision.

Training with ``quantize=...`` rounds each layer's buckets with it in every
forward pass, :func:`sk_hashednets.quantize` rounds a fitted model's buckets
with it, and ``export_c`` stores what it gives; so the model trained, the
model checked in Python and the model on the board are one model. The rule
itself is the kernel :func:`._kernels.quantize_buckets`; this module names the
precisions and says how their values are laid out in bytes.

The rule, per layer (``w`` its K buckets, ``L`` = 127 for ``"int8"`` and 7
for ``"int4"``):

* ``scale = float32(max|w| / L)``, computed in float64 and rounded once to
  float32; ``scale = 1`` when that is 0 (an all-zero layer);
* ``q[k] = rint(w[k] / scale)`` in float64 (halves to even), clipped to
  ``[-L, L]``: an integer in ``[-127, 127]`` or ``[-7, 7]``;
* the bucket's value is ``scale * q[k]``, in the model's dtype (exact in
  float64; in float32 the product is rounded once).

Stored bytes (what an export holds, per layer): the scale as one IEEE-754
float32 (4 bytes, little-endian on the targets), then

* ``"int8"``: K bytes, ``q[k]`` as a two's-complement ``int8_t`` (-128 never
  occurs);
* ``"int4"``: ``ceil(K / 2)`` bytes, two buckets a byte: byte ``m`` holds
  ``q[2m]`` in its low nibble (bits 0-3) and ``q[2m + 1]`` in its high nibble
  (bits 4-7), each a 4-bit two's-complement value (``q & 0xF``; -8, ``0x8``,
  never occurs). For odd K the last byte's high nibble is 0. A nibble ``n``
  reads back as ``n - 16 if n >= 8 else n``. See :func:`pack_int4`.

Biases stay float32 (4 bytes each) at every precision.
"""

import numpy as np

from ._lazy import kernels as _kernels

#: Precision -> largest level L: values are ``scale * q``, ``q`` in [-L, L].
LEVELS = {"int8": 127, "int4": 7}
PRECISIONS = tuple(LEVELS)


def check_precision(value, name):
    """Raise a ValueError naming ``name`` unless ``value`` is a precision."""
    if not (isinstance(value, str) and value in LEVELS):
        raise ValueError(f"{name} must be 'int8' or 'int4', got {value!r}.")
    return value


def quantize_layer(w, precision):
    """``(q, scale)`` of one layer's buckets ``w``: ``q`` int8 in
    ``[-L, L]``, ``scale`` a float32 scalar (what an export stores)."""
    w = np.ascontiguousarray(w)
    q = np.empty(w.size, dtype=np.int8)
    out = np.empty(w.size, dtype=np.float64)
    scale = _kernels.quantize_buckets(w, LEVELS[precision], q, out)
    return q, np.float32(scale)


def quantize_int8(w):
    """Per-layer symmetric int8: ``(q, scale)`` with ``w ~= scale * q``."""
    return quantize_layer(w, "int8")


def rounded(w, precision, out=None):
    """The values ``scale * q`` of ``w`` under the rule, in ``w``'s dtype
    (into ``out`` if given)."""
    w = np.ascontiguousarray(w)
    if out is None:
        out = np.empty_like(w)
    _kernels.quantize_buckets(w, LEVELS[precision], np.empty(w.size, np.int8), out)
    return out


def pack_int4(q):
    """``ceil(K / 2)`` bytes (uint8) of int4 levels ``q`` in ``[-7, 7]``:
    ``q[2m]`` in byte m's low nibble, ``q[2m + 1]`` in its high nibble."""
    q = np.asarray(q)
    if q.size and (q.min() < -7 or q.max() > 7):
        raise ValueError("int4 levels must lie in [-7, 7].")
    nibbles = (q.astype(np.int16) & 0xF).astype(np.uint8)
    if nibbles.size % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return nibbles[0::2] | (nibbles[1::2] << 4)


def unpack_int4(packed, n):
    """The ``n`` int4 levels (int8) held by :func:`pack_int4`'s bytes."""
    packed = np.asarray(packed, dtype=np.uint8)
    nibbles = np.empty(2 * packed.size, dtype=np.int16)
    nibbles[0::2] = packed & 0xF
    nibbles[1::2] = packed >> 4
    nibbles[nibbles >= 8] -= 16
    return nibbles[:n].astype(np.int8)


def stored_bytes(n_buckets, n_biases, precision):
    """Bytes a layer stores: its buckets at ``precision`` (None: float32), one
    float32 scale when quantized, float32 biases."""
    if precision is None:
        return 4 * n_buckets + 4 * n_biases
    per_bucket = {"int8": n_buckets, "int4": (n_buckets + 1) // 2}[precision]
    return per_bucket + 4 + 4 * n_biases
