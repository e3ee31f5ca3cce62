"""The rounding rule shared by training, ``quantize`` and the exports
(sk_hashednets/_quantize.py): its documented formulas and byte layout."""

import numpy as np
import pytest

from sk_hashednets import _quantize
from sk_hashednets._quantize import (
    pack_int4,
    quantize_layer,
    rounded,
    stored_bytes,
    unpack_int4,
)


def _by_hand(w, levels):
    """The module docstring's rule, written out with NumPy."""
    peak = np.abs(w.astype(np.float64)).max()
    scale = np.float32(peak / levels)
    scale = np.float32(1) if scale == 0 else scale
    q = np.clip(np.rint(w.astype(np.float64) / np.float64(scale)), -levels, levels)
    return q.astype(np.int8), scale


@pytest.mark.parametrize("precision", ["int8", "int4"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 2, 7, 1001])
def test_rule_as_documented(precision, dtype, size):
    rng = np.random.default_rng(size)
    levels = _quantize.LEVELS[precision]
    for spread in (1e-3, 1.0, 37.0):
        w = (rng.standard_normal(size) * spread).astype(dtype)
        q, scale = quantize_layer(w, precision)
        q_ref, scale_ref = _by_hand(w, levels)
        np.testing.assert_array_equal(q, q_ref)
        assert scale == scale_ref and scale.dtype == np.float32
        assert np.abs(q).max() == levels  # the largest bucket is a full level
        values = rounded(w, precision)
        assert values.dtype == dtype
        np.testing.assert_array_equal(values, (np.float64(scale) * q).astype(dtype))


def test_halves_round_to_even_and_zero_layers():
    w = np.array([7.0, 0.5, 1.5, 2.5, -2.5])  # scale exactly 1 at int4
    q, scale = quantize_layer(w, "int4")
    assert scale == 1
    np.testing.assert_array_equal(q, [7, 0, 2, 2, -2])
    for w in (np.zeros(5), np.array([1e-300, -1e-300])):  # 0 in float32
        q, scale = quantize_layer(w, "int8")
        assert scale == 1 and not q.any()


def test_rounding_twice_changes_nothing_in_float64():
    w = np.random.default_rng(1).standard_normal(500)
    for precision in ("int8", "int4"):
        once = rounded(w, precision)
        np.testing.assert_array_equal(rounded(once, precision), once)


def test_not_finite_buckets_pass_through():
    w = np.array([1.0, np.nan, 2.0])
    out = rounded(w, "int8")
    assert np.isnan(out[1]) and out[0] == 1.0


def test_int4_bytes_as_documented():
    q = np.array([1, -1, 7, -7, 0, 3, -8 + 1], dtype=np.int8)
    packed = pack_int4(q)
    # byte m: q[2m] in the low nibble, q[2m + 1] in the high one, two's complement
    assert packed.dtype == np.uint8 and len(packed) == 4
    assert packed.tolist() == [0x1 | 0xF << 4, 0x7 | 0x9 << 4, 0x0 | 0x3 << 4, 0x9]
    np.testing.assert_array_equal(unpack_int4(packed, len(q)), q)
    with pytest.raises(ValueError, match=r"\[-7, 7\]"):
        pack_int4(np.array([8]))


def test_stored_bytes():
    assert stored_bytes(10, 3, None) == 52
    assert stored_bytes(10, 3, "int8") == 10 + 4 + 12
    assert stored_bytes(11, 3, "int4") == 6 + 4 + 12


def test_check_precision_names_the_allowed_values():
    with pytest.raises(ValueError,
                       match="buckets must be 'int8' or 'int4', got 'int2'"):
        _quantize.check_precision("int2", "buckets")
