"""Export a fitted model to one dependency-free C99 inference file.

The C code stores only what the model stores (buckets, biases, seeds) and
recomputes every virtual weight with the documented hash recipe while it runs,
so the compiled model keeps the compression: no index table, nothing of size
``n_in x n_out``. It computes in single precision (a Cortex-M4F's FPU has no
double). The C text itself is in :mod:`._export_c_code`.
"""

import re
import textwrap
from pathlib import Path

import numpy as np

from . import _export_c_code as code
from ._description import describe
from ._lazy import kernels as _kernels
from ._quantize import pack_int4, quantize_layer
from ._version import __version__

# The XXH32 primes the C hash needs: the kernels' own constants (_kernels._P2...).
_PRIMES = ("P2", "P3", "P4", "P5")

_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float "
    "for goto if inline int long register restrict return short signed sizeof "
    "static struct switch typedef union unsigned void volatile while _Bool "
    "_Complex _Imaginary".split()
)

_BUCKET_TYPES = {"float32": "float", "int8": "int8_t", "int4": "uint8_t"}


def export_c(model, path, name="model", *, buckets="float32"):
    """Write a fitted model as a self-contained C99 source file and a header.

    The source file ``path`` needs only the C standard library's
    ``<stdint.h>`` and ``<math.h>`` (link with ``-lm``). It holds the buckets
    and biases as ``static const`` arrays and recomputes the hashes of every
    virtual weight on the fly, with the documented hash recipe (for
    ``method="hashing_blocks"``, one hash pair per block of 64 weights). It
    defines one function:

    * ``void <name>_predict_proba(const float *x, float *out)`` for a
      classifier: ``out`` receives the row of ``predict_proba`` (two columns
      for a binary problem, one per label for a multilabel one);
    * ``void <name>_predict(const float *x, float *out)`` for a regressor:
      ``out`` receives the ``n_outputs_`` values of ``predict``.

    ``x`` holds ``<NAME>_N_FEATURES`` floats, ``out`` ``<NAME>_N_OUTPUTS``.
    The function allocates nothing; it works in one static scratch buffer of
    ``<NAME>_SCRATCH_SIZE`` floats, so it is **not thread-safe**. It computes
    in single precision (float sums, ``expf``, ``tanhf``): no double
    arithmetic, which a Cortex-M4F's FPU does not have. See the user guide's
    page "On-device export (C)" for how its output compares with
    ``predict_proba`` / ``predict``.

    A header ``<stem>.h`` with the ``#define`` constants and the prototype is
    written beside ``path``, for the calling code; the source file does not
    include it.

    Parameters
    ----------
    model : HashedMLPClassifier, HashedMLPRegressor or Pipeline
        A fitted estimator of this package with ``method="hashing"`` or
        ``"hashing_blocks"``, or a fitted ``Pipeline`` made of a
        ``StandardScaler`` followed by one: the scaler's mean and scale are
        folded into the C code, which then takes raw features. Any other
        preprocessing is the caller's job, in C, before calling the function.
    path : str or path-like
        Where to write the C source; must end with ``.c``.
    name : str, default="model"
        Prefix of every C identifier: a valid C identifier, not a keyword.
    buckets : {"float32", "int8", "int4"}, default="float32"
        Storage of the buckets. ``"int8"`` and ``"int4"`` quantize each
        layer's buckets with the package's one rounding rule
        (``sk_hashednets/_quantize.py``): one scale per layer,
        ``s = float32(max|w| / L)`` and ``q = rint(w / s)`` in ``[-L, L]``
        (``L`` = 127 or 7; ``s = 1`` for an all-zero layer), and the layer
        computes ``s * (a @ Q) + b``, where ``Q`` is the virtual matrix of
        ``q``: a quarter (int8) or an eighth (int4, two buckets a byte, low
        nibble first) of the flash for the buckets. Biases stay float32. The
        model it computes is ``sk_hashednets.quantize(model, buckets)``.

    Returns
    -------
    source, header : pathlib.Path
        The paths written.

    Raises
    ------
    TypeError
        If ``model`` is not an estimator of this package (or a Pipeline
        ending with one).
    ValueError
        For a bad ``name``, ``path`` or ``buckets``; a Pipeline step other
        than one StandardScaler; a model whose ``method`` has no C form
        (only ``"hashing"`` and ``"hashing_blocks"`` have one); an output
        head without a C form; parameters that are not finite in float32.
    NotFittedError
        If the model or its scaler is not fitted.
    """
    if (not isinstance(name, str)
            or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
            or name in _C_KEYWORDS):
        raise ValueError(
            f"name must be a valid C identifier that is not a keyword, such as "
            f"'model' or 'digits_v2'; got {name!r}."
        )
    if not isinstance(buckets, str) or buckets not in _BUCKET_TYPES:
        raise ValueError(
            f"buckets must be 'float32', 'int8' or 'int4', got {buckets!r}."
        )
    source = Path(path)
    if source.suffix != ".c":
        raise ValueError(f"path must name a C source file ending with '.c', got "
                         f"{str(path)!r}.")
    spec = _Spec(describe(model, export="export_c", methods=tuple(_LAYER_CODE),
                          dtype=np.float32), name, buckets)
    text, header_text = _render_source(spec), _render_header(spec)
    header = source.with_suffix(".h")
    source.write_text(text)
    header.write_text(header_text)
    return source, header


class _Spec:
    """Everything the C templates need, validated and converted."""

    def __init__(self, desc, name, buckets):
        self.name = name
        self.NAME = name.upper()
        self.kind = desc.kind
        self.buckets = buckets
        self.weight_type = _BUCKET_TYPES[buckets]
        self.activation = desc.activation
        self.head = desc.head.name
        if self.head not in code.HEADS:
            raise ValueError(
                f"export_c has no C form for the output head {self.head!r}; it "
                f"exports {sorted(code.HEADS)}."
            )
        self.y_type = desc.y_type
        self.is_classifier = desc.is_classifier
        self.classes = desc.classes
        self.function = name + ("_predict_proba" if self.is_classifier else "_predict")
        layers = desc.layers
        self.method = layers[0].method  # one method for the whole model
        self.block = layers[0].block
        self.units = desc.units
        self.n_features = desc.n_features
        self.n_outputs = desc.n_outputs
        self.n_stored = desc.n_stored
        self.seeds = [(layer.seed_h, layer.seed_xi) for layer in layers]
        self.n_buckets = [layer.n_buckets for layer in layers]

        self.weights, self.scales, self.biases = [], [], []
        for layer in layers:  # describe() checked they are finite in float32
            if buckets != "float32":
                q, scale = quantize_layer(layer.buckets, buckets)
                self.weights.append(pack_int4(q) if buckets == "int4" else q)
                self.scales.append(scale)
            else:
                self.weights.append(layer.buckets.astype(np.float32))
            self.biases.append(layer.bias.astype(np.float32))

        self.x_mean, self.x_scale = desc.x_mean, desc.x_scale
        self.y_mean, self.y_scale = desc.y_mean, desc.y_scale
        # Scratch: layer l writes its n_out floats at the start of the buffer
        # when l is even and at its end when l is odd, so a layer's input and
        # output never overlap if the buffer holds the widest consecutive pair.
        outs = self.units[1:]
        self.scratch_size = max(
            [outs[0]] + [a + b for a, b in zip(outs[:-1], outs[1:])]
        )


# --------------------------------------------------------------------------
# C rendering
# --------------------------------------------------------------------------
def _f32(v):
    """Shortest decimal literal that reads back as exactly this float32."""
    text = str(np.float32(v))
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


def _array(ctype, name, values, fmt, per_line=8):
    items = [fmt(v) for v in values]
    lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(items)}] = {{\n    {body}\n}};\n"


def _u32(v):
    return f"UINT32_C(0x{int(v):08X})"


def _describe(spec):
    shape = " -> ".join(str(u) for u in spec.units)
    if spec.is_classifier:
        classes = np.asarray(spec.classes).ravel()
        labels = ", ".join(str(c) for c in classes[:64])
        if len(classes) > 64:
            labels += ", ..."
        target = {
            "binary": f"Binary: out[0], out[1] are the probabilities of the classes "
                      f"({labels})",
            "multiclass": f"Multiclass: out[k] is the probability of the k-th class "
                          f"of ({labels})",
            "multilabel-indicator": "Multilabel: out[k] is the probability of "
                                    "label k",
        }[spec.y_type]
    else:
        target = (f"Regression: out holds the {spec.n_outputs} output(s) on the "
                  "original target scale")
    if spec.x_scale is not None or spec.x_mean is not None:
        inputs = ("raw features: the Pipeline's StandardScaler is folded in "
                  "and applied here")
    else:
        inputs = ("features exactly as the model was fitted on them: any "
                  "preprocessing is the caller's job")
    if spec.buckets == "int8":
        store = "int8 buckets, one scale per layer (w ~= scale * q), float32 biases"
    elif spec.buckets == "int4":
        store = ("int4 buckets, two a byte (bucket 2m in the low nibble of byte "
                 "m, 2m + 1 in its high nibble, two's complement), one scale per "
                 "layer (w ~= scale * q), float32 biases")
    else:
        store = "float32 buckets and biases"
    method = spec.method if spec.block is None else (
        f"{spec.method} (blocks of {spec.block} consecutive buckets)")
    return [
        f"{spec.kind} exported by sk-hashednets {__version__} (export_c).",
        "",
        f"Layers {shape}; method {method}; hidden activation {spec.activation}; "
        f"output {spec.head}.",
        f"{target}.",
        f"Input: {spec.n_features} floats, {inputs}.",
        f"Stored parameters: {spec.n_stored} (buckets + biases), {store}.",
        "",
        f"void {spec.function}(const float *x, float *out);",
        f"  x: {spec.NAME}_N_FEATURES floats; out: {spec.NAME}_N_OUTPUTS floats.",
        "  Single precision throughout. No heap allocation. NOT thread-safe:",
        f"  every call works in one static scratch buffer of "
        f"{spec.NAME}_SCRATCH_SIZE floats.",
    ]


def _comment(lines):
    """A C block comment; text that could end it or form a trigraph is defused."""
    out = []
    for line in lines:
        line = re.sub(r"\s", " ", line).replace("*/", "* /").replace("??", "? ?")
        indent = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, 76, subsequent_indent=indent) or [""]
    body = "\n".join((" * " + line).rstrip() for line in out)
    return f"/*\n{body}\n */\n"


def _defines(spec):
    return (
        f"#define {spec.NAME}_N_FEATURES {spec.n_features}\n"
        f"#define {spec.NAME}_N_OUTPUTS {spec.n_outputs}\n"
        f"#define {spec.NAME}_SCRATCH_SIZE {spec.scratch_size}\n"
    )


def _render_header(spec):
    guard = f"SK_HASHEDNETS_{spec.NAME}_H"
    return (
        _comment([f"{spec.name}.h: interface of {spec.name}.c.", ""] + _describe(spec))
        + f"#ifndef {guard}\n#define {guard}\n\n"
        + _defines(spec)
        + "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
        + f"void {spec.function}(const float *x, float *out);\n"
        + "\n#ifdef __cplusplus\n}\n#endif\n\n"
        + f"#endif /* {guard} */\n"
    )


def _levels(buckets):
    """The int4 levels' reader, where the buckets are packed nibbles."""
    return [code.LEVEL] if buckets == "int4" else []


def _hashing_code(buckets):
    """method="hashing": every virtual weight hashed alone (float buckets flip
    the sign bit; int8 and int4 levels negate)."""
    flip = [code.FLIP] if buckets == "float32" else []
    return flip + _levels(buckets) + [
        code.HASHING["float" if buckets == "float32" else buckets]]


def _blocks_code(buckets):
    """method="hashing_blocks": one hash pair per block, runs of buckets."""
    return [code.FLIP] + _levels(buckets) + [
        code.RUNS["int4" if buckets == "int4" else "array"], code.BLOCKS]


#: The C templates of each method's layer loop, by method, for a bucket storage.
_LAYER_CODE = {"hashing": _hashing_code, "hashing_blocks": _blocks_code}


def _render_source(spec):
    n, N = spec.name, spec.NAME
    fmt = dict(n=n, N=N, wt=spec.weight_type,
               **{k: _u32(getattr(_kernels, f"_{k}")) for k in _PRIMES})
    int8 = spec.buckets != "float32"  # a quantized layer: levels and a scale
    out = [
        _comment(
            [f"{n}.c: self-contained C99 inference for a HashedNets model.", ""]
            + _describe(spec)
            + [
                "",
                "Needs only <stdint.h> and <math.h> (link with -lm). The virtual",
                "weights are recomputed from the buckets with the hash recipe of",
                "sk-hashednets' documentation; no index table is stored.",
                f"Generated by sk_hashednets.export_c(..., name={n!r}, "
                f"buckets={spec.buckets!r}).",
            ]
        ),
        "#include <math.h>\n#include <stdint.h>\n\n",
        _defines(spec),
    ]
    if spec.block is not None:
        out.append(f"#define {N}_BLOCK {spec.block}u\n")
    out += [
        f"\nvoid {spec.function}(const float *x, float *out);\n\n",
        "typedef struct {\n"
        "    uint32_t n_in, n_out, n_buckets, seed_h, seed_xi;\n"
        f"    const {spec.weight_type} *w;\n"
        "    const float *b;\n"
        + ("    float scale; /* w ~= scale * q */\n" if int8 else "")
        + f"}} {n}_layer_t;\n\n",
    ]

    # parameters
    for label, values in [("x_mean", spec.x_mean), ("x_scale", spec.x_scale),
                          ("y_mean", spec.y_mean), ("y_scale", spec.y_scale)]:
        if values is not None:
            out.append(_array("float", f"{n}_{label}", values, _f32) + "\n")
    rows = []
    for idx, (w, b) in enumerate(zip(spec.weights, spec.biases)):
        n_in, n_out = spec.units[idx], spec.units[idx + 1]
        k = spec.n_buckets[idx]
        out.append(f"/* layer {idx}: {n_in} -> {n_out}, {k} buckets */\n")
        out.append(_array(spec.weight_type, f"{n}_w{idx}", w, str if int8 else _f32))
        out.append(_array("float", f"{n}_b{idx}", b, _f32))
        out.append("\n")
        seed_h, seed_xi = spec.seeds[idx]
        scale = f", {_f32(spec.scales[idx])}" if int8 else ""
        rows.append(f"    {{{n_in}u, {n_out}u, {k}u, {_u32(seed_h)}, "
                    f"{_u32(seed_xi)}, {n}_w{idx}, {n}_b{idx}{scale}}}")
    n_layers = len(rows)
    out.append(f"static const {n}_layer_t {n}_layers[{n_layers}] = {{\n"
               + ",\n".join(rows) + "\n};\n\n")
    out.append(f"static float {n}_scratch[{N}_SCRATCH_SIZE];\n\n")

    # code
    out.append(code.HASH.format(**fmt))
    for template in _LAYER_CODE[spec.method](spec.buckets):
        out.append("\n" + template.format(**fmt))
    finish = "z[j] * layer->scale + layer->b[j]" if int8 else "z[j] + layer->b[j]"
    out.append(
        f"\n/* z = z + b (int8, int4: z = scale * z + b) */\n"
        f"static void {n}_bias(const {n}_layer_t *layer, float *z)\n{{\n"
        f"    uint32_t j;\n"
        f"    for (j = 0; j < layer->n_out; ++j)\n"
        f"        z[j] = {finish};\n}}\n"
    )
    if n_layers > 1:
        out.append(
            f"\n/* z = a V + b; zero inputs (inactive ReLU units) are skipped */\n"
            f"static void {n}_layer(const {n}_layer_t *layer, const float *a, "
            f"float *z)\n{{\n"
            f"    uint32_t i, j;\n"
            f"    for (j = 0; j < layer->n_out; ++j)\n"
            f"        z[j] = 0.0f;\n"
            f"    for (i = 0; i < layer->n_in; ++i)\n"
            f"        if (a[i] != 0.0f)\n"
            f"            {n}_accumulate(layer, i, a[i], z);\n"
            f"    {n}_bias(layer, z);\n}}\n"
        )
        if spec.activation != "identity":
            out.append(
                f"\n/* hidden activation: {spec.activation} */\n"
                f"static void {n}_activate(float *z, uint32_t n)\n{{\n"
                f"    uint32_t k;\n"
                f"    for (k = 0; k < n; ++k)\n"
                f"        {code.ACTIVATIONS[spec.activation]}\n}}\n"
            )
    out.append(_render_predict(spec))
    return "".join(out)


def _render_predict(spec):
    n, N = spec.name, spec.NAME
    units = spec.units
    n_layers = len(units) - 1
    if spec.x_mean is not None and spec.x_scale is not None:
        feature = f"(x[i] - {n}_x_mean[i]) / {n}_x_scale[i]"
    elif spec.x_mean is not None:
        feature = f"x[i] - {n}_x_mean[i]"
    elif spec.x_scale is not None:
        feature = f"x[i] / {n}_x_scale[i]"
    else:
        feature = "x[i]"
    activate = spec.activation != "identity"
    body = [
        f"\nvoid {spec.function}(const float *x, float *out)\n{{",
        f"    float *z = {n}_scratch;",
        "    uint32_t i;",
    ]
    if n_layers > 1:
        body.append("    uint32_t l;")
    body += [
        "",
        "    /* layer 0 reads x, writes the start of the scratch buffer; zero",
        "       inputs are skipped */",
        f"    for (i = 0; i < {units[1]}u; ++i)",
        "        z[i] = 0.0f;",
        f"    for (i = 0; i < {N}_N_FEATURES; ++i) {{",
        f"        const float a = {feature};",
        "        if (a != 0.0f)",
        f"            {n}_accumulate(&{n}_layers[0], i, a, z);",
        "    }",
        f"    {n}_bias(&{n}_layers[0], z);",
    ]
    if n_layers > 1:
        if activate:
            body.append(f"    {n}_activate(z, {units[1]}u);")
        body += [
            "",
            "    /* then each layer reads the previous output and writes at the",
            "       other end of the buffer */",
            f"    for (l = 1; l < {n_layers}u; ++l) {{",
            f"        const {n}_layer_t *layer = &{n}_layers[l];",
            f"        float *next = (z == {n}_scratch)",
            f"            ? {n}_scratch + {N}_SCRATCH_SIZE - layer->n_out",
            f"            : {n}_scratch;",
            f"        {n}_layer(layer, z, next);",
            "        z = next;",
        ]
        if activate and n_layers > 2:
            body += [
                f"        if (l < {n_layers - 1}u)",
                f"            {n}_activate(z, layer->n_out);",
            ]
        body.append("    }")
    body.append("")
    body += code.HEADS[spec.head](spec)
    body.append("}\n")
    return "\n".join(body)
