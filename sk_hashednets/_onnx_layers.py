"""The hash recipe and the virtual matrices as ONNX graphs (opset 18).

Nothing here stores an index or a virtual matrix: a layer's ``V`` is
*computed* in the graph from its buckets and two seeds, by the documented
recipe (XXH32 of ``u32le(i) || u32le(j)``, multiply-shift range reduction,
the top bit of a second hash for the sign). The recipe is written once, as
model-local ONNX functions in the domain :data:`DOMAIN`:

* ``xxh32(i, j, seed)``: XXH32 of the pair, with NumPy-style broadcasting, on
  uint32 tensors. ONNX's uint32 ``Add``, ``Mul`` and ``BitShift`` wrap modulo
  2**32 as the C code does;
* ``hashed(w, n_in, n_out, seed_h, seed_xi)``: ``V`` of ``method="hashing"``;
* ``blocks(w, n_in, n_out, seed_h, seed_xi)``: ``V`` of
  ``method="hashing_blocks"`` (runs of :data:`BLOCK` buckets).

``w`` is the 1-D bucket vector, ``n_in`` / ``n_out`` int64 scalars and the
seeds uint32 scalars. Every input of those functions is a constant, so
onnxruntime folds each ``V`` into one tensor when it creates a session: the
hash runs once there, never per call.

This module imports ``onnx``; only the ONNX export imports it.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ._kernels import _P2, _P3, _P4, _P5, BLOCK

DOMAIN = "sk_hashednets"
OPSET = 18

_U32, _U64, _I32, _I64 = (TensorProto.UINT32, TensorProto.UINT64,
                          TensorProto.INT32, TensorProto.INT64)


class _Body:
    """Nodes of one function body, with short generated value names."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.nodes = []
        self._count = 0
        self._consts = {}

    def op(self, op_type, *inputs, domain="", **attrs):
        name = f"{self.prefix}{self._count}"
        self._count += 1
        self.nodes.append(helper.make_node(op_type, list(inputs), [name],
                                           domain=domain or None, **attrs))
        return name

    def const(self, value, dtype):
        key = (np.dtype(dtype).str, repr(value))
        if key not in self._consts:
            tensor = numpy_helper.from_array(np.array(value, dtype=dtype), "")
            self._consts[key] = self.op("Constant", value=tensor)
        return self._consts[key]

    def shift(self, x, bits, direction):
        return self.op("BitShift", x, self.const(bits, np.uint32),
                       direction=direction)

    def rename_last(self, name):
        """Make the last node's output the function output ``name``."""
        self.nodes[-1].output[0] = name

    def function(self, name, inputs, outputs, opset, calls=False):
        imports = opsets(opset) if calls else opsets(opset)[:1]
        return helper.make_function(DOMAIN, name, inputs, outputs, self.nodes,
                                    imports)


def xxh32_function(opset=OPSET):
    """``xxh32(i, j, seed) -> h``: XXH32 of ``u32le(i) || u32le(j)``."""
    f = _Body("x")
    p3, p4 = f.const(_P3, np.uint32), f.const(_P4, np.uint32)

    def rotl17_p4(h):
        rot = f.op("BitwiseOr", f.shift(h, 17, "LEFT"), f.shift(h, 15, "RIGHT"))
        return f.op("Mul", rot, p4)

    h = f.op("Add", "seed", f.const(np.uint32(_P5) + np.uint32(8), np.uint32))
    h = rotl17_p4(f.op("Add", h, f.op("Mul", "i", p3)))
    h = rotl17_p4(f.op("Add", h, f.op("Mul", "j", p3)))
    for bits, prime in ((15, _P2), (13, _P3)):
        h = f.op("Mul", f.op("BitwiseXor", h, f.shift(h, bits, "RIGHT")),
                 f.const(prime, np.uint32))
    f.op("BitwiseXor", h, f.shift(h, 16, "RIGHT"))
    f.rename_last("h")
    return f.function("xxh32", ["i", "j", "seed"], ["h"], opset)


def _index_grid(f, n_rows, n_cols):
    """uint32 row indices as a column and column indices as a row."""
    zero, one = f.const(0, np.int64), f.const(1, np.int64)
    rows = f.op("Cast", f.op("Range", zero, n_rows, one), to=_U32)
    rows = f.op("Unsqueeze", rows, f.const([1], np.int64))
    cols = f.op("Cast", f.op("Range", zero, n_cols, one), to=_U32)
    return rows, cols


def _start_and_sign(f, rows, cols, n_buckets, half):
    """``((H(i, j, seed_h) * K) >> 32) + half * [H(i, j, seed_xi) >> 31]`` as
    int32: the index of the signed weight in a table ``[+..., -...]`` whose
    halves are ``half`` long. ``n_buckets`` is a uint64 and ``half`` a uint32
    tensor of one element. The range reduction runs in 64-bit unsigned
    arithmetic, everything else on 4-byte integers: onnxruntime keeps every
    folded intermediate until the end of its folding pass, so each
    ``n_in x n_out`` step costs its bytes per virtual weight at session
    creation."""
    h = f.op("xxh32", rows, cols, "seed_h", domain=DOMAIN)
    x = f.op("xxh32", rows, cols, "seed_xi", domain=DOMAIN)
    start = f.op("BitShift", f.op("Mul", f.op("Cast", h, to=_U64), n_buckets),
                 f.const(32, np.uint64), direction="RIGHT")
    neg = f.op("Mul", f.shift(x, 31, "RIGHT"), half)
    return f.op("Add", f.op("Cast", start, to=_I32), f.op("Cast", neg, to=_I32))


def hashed_function(opset=OPSET):
    """``hashed(w, n_in, n_out, seed_h, seed_xi) -> V`` for
    ``method="hashing"``: ``V[i, j] = xi(i, j) * w[h(i, j)]``, read from the
    signed table ``[w, -w]``."""
    f = _Body("h")
    rows, cols = _index_grid(f, "n_in", "n_out")
    k = f.op("Shape", "w")
    code = _start_and_sign(f, rows, cols, f.op("Cast", k, to=_U64),
                           f.op("Cast", k, to=_U32))
    table = f.op("Concat", "w", f.op("Neg", "w"), axis=0)
    f.op("Gather", table, code, axis=0)
    f.rename_last("V")
    return f.function("hashed", ["w", "n_in", "n_out", "seed_h", "seed_xi"],
                      ["V"], opset, calls=True)


def blocks_function(opset=OPSET):
    """``blocks(w, n_in, n_out, seed_h, seed_xi) -> V`` for
    ``method="hashing_blocks"``:
    ``V[i, b * BLOCK + t] = xi(i, b) * w[(h(i, b) + t) mod K]``.

    As in training, the runs read the signed table
    ``[w, w[:BLOCK - 1], -w, -w[:BLOCK - 1]]`` (indices mod K) of two halves of
    ``E = K + BLOCK - 1``, so a block is the run starting at
    ``h(i, b) + E * [xi(i, b) < 0]``; only the last three tensors (the run
    starts repeated along a row, their offsets added, the gathered weights)
    have ``n_in x n_out`` entries, of 4 bytes each before ``V``.
    """
    f = _Body("b")
    block = f.const(BLOCK, np.int64)
    one = f.const(1, np.int64)
    n_blocks = f.op("Div", f.op("Add", "n_out", f.const(BLOCK - 1, np.int64)), block)
    rows, cols = _index_grid(f, "n_in", n_blocks)
    k = f.op("Shape", "w")
    half = f.op("Add", k, f.const(BLOCK - 1, np.int64))
    wrap = f.op("Mod", f.op("Range", f.const(0, np.int64),
                            f.op("Squeeze", half), one), k)
    run = f.op("Gather", "w", wrap, axis=0)
    table = f.op("Concat", run, f.op("Neg", run), axis=0)
    starts = _start_and_sign(f, rows, cols, f.op("Cast", k, to=_U64),
                             f.op("Cast", half, to=_U32))
    j = f.op("Range", f.const(0, np.int64), "n_out", one)
    offsets = f.op("Cast", f.op("Mod", j, block), to=_I32)
    code = f.op("Add", f.op("Gather", starts, f.op("Div", j, block), axis=1),
                offsets)
    f.op("Gather", table, code, axis=0)
    f.rename_last("V")
    return f.function("blocks", ["w", "n_in", "n_out", "seed_h", "seed_xi"],
                      ["V"], opset, calls=True)


#: The function that computes a layer's V, by ``method``.
FUNCTIONS = {"hashing": hashed_function, "hashing_blocks": blocks_function}
FUNCTION_NAMES = {"hashing": "hashed", "hashing_blocks": "blocks"}


def functions(methods, opset=OPSET):
    """The model-local functions that layers of these methods call."""
    return [xxh32_function(opset)] + [FUNCTIONS[m](opset) for m in sorted(set(methods))]


def opsets(opset=OPSET):
    """The opset imports of a model (or function) that calls these functions."""
    return [helper.make_opsetid("", opset), helper.make_opsetid(DOMAIN, 1)]


def virtual_node(method, w, n_in, n_out, seed_h, seed_xi, out):
    """The node computing a layer's ``V`` (``out``) from the named values."""
    return helper.make_node(FUNCTION_NAMES[method], [w, n_in, n_out, seed_h, seed_xi],
                            [out], domain=DOMAIN)


def intermediate_sizes(method, n_in, n_out, dtype, n_buckets=5):
    """``(entries, bytes)`` of every tensor that computing one layer's ``V``
    creates, ``V`` included, from running the inlined functions with ONNX's
    reference evaluator on a small layer."""
    from onnx import inliner
    from onnx.reference import ReferenceEvaluator

    init = [numpy_helper.from_array(np.ones(n_buckets, dtype), "w"),
            numpy_helper.from_array(np.array(n_in, np.int64), "n_in"),
            numpy_helper.from_array(np.array(n_out, np.int64), "n_out"),
            numpy_helper.from_array(np.array(1, np.uint32), "sh"),
            numpy_helper.from_array(np.array(2, np.uint32), "sx")]
    node = virtual_node(method, "w", "n_in", "n_out", "sh", "sx", "V")
    untyped = helper.TypeProto()
    graph = helper.make_graph([node], "layer", [],
                              [helper.make_value_info("V", untyped)], initializer=init)
    model = inliner.inline_local_functions(helper.make_model(
        graph, opset_imports=opsets(), functions=functions([method])))
    names = [out for n in model.graph.node for out in n.output]
    del model.graph.output[:]
    model.graph.output.extend(helper.make_value_info(n, untyped) for n in names)
    values = ReferenceEvaluator(model).run(None, {})
    return [(v.size, v.nbytes) for v in values]
