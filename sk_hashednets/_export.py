"""Export a fitted model to one dependency-free C99 inference file.

The C code stores only what the model stores (buckets, biases, seeds) and
recomputes every virtual weight with the documented hash recipe while it runs,
so the compiled model keeps the compression: no index table, nothing of size
``n_in x n_out``.
"""

import re
import textwrap
from pathlib import Path

import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from . import __version__, _kernels
from ._base import BaseHashedMLP

# The XXH32 primes the C hash needs: the kernels' own constants.
_PRIMES = {"P2": _kernels._P2, "P3": _kernels._P3, "P4": _kernels._P4,
           "P5": _kernels._P5}

_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float "
    "for goto if inline int long register restrict return short signed sizeof "
    "static struct switch typedef union unsigned void volatile while _Bool "
    "_Complex _Imaginary".split()
)

_BUCKET_TYPES = {"float32": "float", "int8": "int8_t"}


def export_c(model, path, name="model", *, buckets="float32"):
    """Write a fitted model as a self-contained C99 source file and a header.

    The source file ``path`` needs only the C standard library's
    ``<stdint.h>`` and ``<math.h>`` (link with ``-lm``). It holds the buckets
    and biases as ``static const`` arrays and recomputes the hashes of every
    virtual weight on the fly, with the documented hash recipe. It defines one
    function:

    * ``void <name>_predict_proba(const float *x, float *out)`` for a
      classifier: ``out`` receives the row of ``predict_proba`` (two columns
      for a binary problem, one per label for a multilabel one);
    * ``void <name>_predict(const float *x, float *out)`` for a regressor:
      ``out`` receives the ``n_outputs_`` values of ``predict``.

    ``x`` holds ``<NAME>_N_FEATURES`` floats, ``out`` ``<NAME>_N_OUTPUTS``.
    The function allocates nothing; it works in one static scratch buffer of
    ``<NAME>_SCRATCH_SIZE`` doubles, so it is **not thread-safe**. Sums are
    accumulated in double precision over the float32 parameters, so the
    output is the exported model's to the rounding of a float; see the
    user guide's page "On-device export (C)" for how it compares with
    ``predict_proba`` / ``predict``.

    A header ``<stem>.h`` with the ``#define`` constants and the prototype is
    written beside ``path``, for the calling code; the source file does not
    include it.

    Parameters
    ----------
    model : HashedMLPClassifier, HashedMLPRegressor or Pipeline
        A fitted estimator of this package, or a fitted ``Pipeline`` made of a
        ``StandardScaler`` followed by one: the scaler's mean and scale are
        folded into the C code, which then takes raw features. Any other
        preprocessing is the caller's job, in C, before calling the function.
    path : str or path-like
        Where to write the C source; must end with ``.c``.
    name : str, default="model"
        Prefix of every C identifier: a valid C identifier, not a keyword.
    buckets : {"float32", "int8"}, default="float32"
        Storage of the buckets. ``"int8"`` quantizes each layer's buckets with
        one scale per layer, ``s = max|w| / 127`` and ``q = rint(w / s)``
        (``s = 1`` for an all-zero layer), and the layer computes
        ``s * (a @ Q) + b``, where ``Q`` is the virtual matrix of ``q``:
        about a quarter of the flash for the buckets. Biases stay float32.

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
        than one StandardScaler; a model whose ``method`` is not
        ``"hashing"``; parameters that are not finite in float32.
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
    if buckets not in _BUCKET_TYPES:
        raise ValueError(
            f"buckets must be 'float32' or 'int8', got {buckets!r}."
        )
    source = Path(path)
    if source.suffix != ".c":
        raise ValueError(f"path must name a C source file ending with '.c', got "
                         f"{str(path)!r}.")
    scaler, estimator = _split_pipeline(model)
    spec = _Spec(estimator, scaler, name, buckets)
    header = source.with_suffix(".h")
    source.write_text(_render_source(spec))
    header.write_text(_render_header(spec))
    return source, header


# --------------------------------------------------------------------------
# what gets exported
# --------------------------------------------------------------------------
def _split_pipeline(model):
    """Return (StandardScaler or None, hashed estimator), or raise."""
    scaler = None
    estimator = model
    if isinstance(model, Pipeline):
        steps = [(n, s) for n, s in model.steps if s not in (None, "passthrough")]
        if not steps:
            raise ValueError("The Pipeline has no estimator to export.")
        *before, (_, estimator) = steps
        if len(before) > 1 or (before and not isinstance(before[0][1], StandardScaler)):
            listed = ", ".join(f"{n!r} ({type(s).__name__})" for n, s in before)
            raise ValueError(
                "export_c can fold only a single StandardScaler placed before the "
                f"model into the C code; this Pipeline has {listed}. Export the "
                "final estimator and apply the other preprocessing yourself "
                "before calling the exported function."
            )
        if before:
            scaler = before[0][1]
    if not isinstance(estimator, BaseHashedMLP):
        raise TypeError(
            "export_c expects a fitted HashedMLPClassifier or HashedMLPRegressor, "
            "or a Pipeline ending with one; got "
            f"{type(estimator).__name__}."
        )
    # the method the model was fitted with (``method`` may have been changed
    # since), else the parameter of an unfitted model
    method = getattr(estimator, "_method", None) or getattr(estimator, "method",
                                                            "hashing")
    if method != "hashing":
        raise ValueError(
            f"export_c exports hashed layers only (method='hashing'); this model "
            f"uses method={method!r}."
        )
    check_is_fitted(estimator, "buckets_")
    if scaler is not None:
        check_is_fitted(scaler)
    if scaler is not None and scaler.n_features_in_ != estimator.n_features_in_:
        raise ValueError(
            f"The StandardScaler has {scaler.n_features_in_} features but the "
            f"model expects {estimator.n_features_in_}."
        )
    return scaler, estimator


class _Spec:
    """Everything the C templates need, validated and converted."""

    def __init__(self, est, scaler, name, buckets):
        self.name = name
        self.NAME = name.upper()
        self.kind = type(est).__name__
        self.buckets = buckets
        self.weight_type = _BUCKET_TYPES[buckets]
        self.model_dtype = est.buckets_[0].dtype
        self.activation = est.activation_
        self.out_activation = est.out_activation_
        self.y_type = getattr(est, "_y_type", None)
        self.is_classifier = is_classifier(est)
        self.function = name + ("_predict_proba" if self.is_classifier else "_predict")
        self.units = [int(est.n_features_in_)] + [len(b) for b in est.intercepts_]
        self.n_features = self.units[0]
        self.n_outputs = 2 if self.y_type == "binary" else self.units[-1]
        self.n_stored = int(est.n_stored_params_)
        self.seeds = np.asarray(est.hash_seeds_, dtype=np.uint32)
        self.classes = getattr(est, "classes_", None)
        if self.y_type == "binary" and len(self.classes) == 1:
            only = self.classes.tolist()[0]
            raise ValueError(
                f"The model was fitted on a single class ({only!r}) and always "
                "predicts it; there is no network to export."
            )

        self.weights, self.scales, self.biases = [], [], []
        for idx, (w, b) in enumerate(zip(est.buckets_, est.intercepts_)):
            with np.errstate(over="ignore"):  # overflow is reported below
                w32, b32 = w.astype(np.float32), b.astype(np.float32)
            if not (np.all(np.isfinite(w32)) and np.all(np.isfinite(b32))):
                raise ValueError(
                    f"Layer {idx} of the model has buckets or biases that are not "
                    "finite in float32; refit it before exporting."
                )
            if buckets == "int8":
                q, scale = quantize_int8(w)
                self.weights.append(q)
                self.scales.append(scale)
            else:
                self.weights.append(w32)
            self.biases.append(b32)

        self.x_mean = self.x_scale = None
        if scaler is not None:  # as StandardScaler.transform: (x - mean) / scale
            if scaler.with_mean:
                self.x_mean = np.asarray(scaler.mean_, dtype=np.float64)
            if scaler.with_std:
                self.x_scale = np.asarray(scaler.scale_, dtype=np.float64)
        self.y_mean = self.y_scale = None
        if not self.is_classifier:
            self.y_mean = np.asarray(est.target_mean_, dtype=np.float64)
            self.y_scale = np.asarray(est.target_scale_, dtype=np.float64)

        # Scratch: layer l writes its n_out doubles at the start of the buffer
        # when l is even and at its end when l is odd, so a layer's input and
        # output never overlap if the buffer holds the widest consecutive pair.
        outs = self.units[1:]
        self.scratch_size = max(
            [outs[0]] + [a + b for a, b in zip(outs[:-1], outs[1:])]
        )


def quantize_int8(w):
    """Per-layer symmetric int8 quantization: ``w ~= scale * q``.

    ``scale = max|w| / 127`` (1 for an all-zero ``w``), ``q = rint(w / scale)``
    in ``[-127, 127]``. Returns ``(q, scale)`` with ``q`` int8 and ``scale`` a
    Python float.
    """
    w = np.asarray(w, dtype=np.float64)
    peak = float(np.max(np.abs(w))) if w.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


# --------------------------------------------------------------------------
# C rendering
# --------------------------------------------------------------------------
def _f32(v):
    """Shortest decimal literal that reads back as exactly this float32."""
    text = str(np.float32(v))
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


def _f64(v):
    return repr(float(v))


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
    else:
        store = "float32 buckets and biases"
    return [
        f"{spec.kind} exported by sk-hashednets {__version__} (export_c).",
        "",
        f"Layers {shape}; hidden activation {spec.activation}; output "
        f"{spec.out_activation}.",
        f"{target}.",
        f"Input: {spec.n_features} floats, {inputs}.",
        f"Stored parameters: {spec.n_stored} (buckets + biases), {store}.",
        "",
        f"void {spec.function}(const float *x, float *out);",
        f"  x: {spec.NAME}_N_FEATURES floats; out: {spec.NAME}_N_OUTPUTS floats.",
        "  No heap allocation. NOT thread-safe: every call works in one static",
        f"  scratch buffer of {spec.NAME}_SCRATCH_SIZE doubles.",
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


_HASH = """\
/* XXH32 of the 8-byte key u32le(i) || u32le(j), split in two: the first half
   depends only on (i, seed) and is computed once per input unit. */
static uint32_t {n}_rotl17(uint32_t v)
{{
    return (v << 17) | (v >> 15);
}}

static uint32_t {n}_hash_i(uint32_t i, uint32_t seed)
{{
    const uint32_t h = seed + {P5} + 8u + i * {P3};
    return {n}_rotl17(h) * {P4};
}}

static uint32_t {n}_hash_j(uint32_t h, uint32_t j)
{{
    h = {n}_rotl17(h + j * {P3}) * {P4};
    h ^= h >> 15;
    h *= {P2};
    h ^= h >> 13;
    h *= {P3};
    return h ^ (h >> 16);
}}

/* z[j] += a * V[i][j] for every output j, where
   V[i][j] = xi(i, j) * w[h(i, j)],
   h(i, j) = (H(i, j, seed_h) * n_buckets) >> 32 in 64-bit unsigned arithmetic,
   xi(i, j) = -1 if the top bit of H(i, j, seed_xi) is set, else +1. */
static void {n}_accumulate(const {n}_layer_t *layer, uint32_t i, double a, double *z)
{{
    const uint32_t hh = {n}_hash_i(i, layer->seed_h);
    const uint32_t hx = {n}_hash_i(i, layer->seed_xi);
    uint32_t j;
    for (j = 0; j < layer->n_out; ++j) {{
        const uint64_t h = {n}_hash_j(hh, j);
        const uint32_t k = (uint32_t)((h * layer->n_buckets) >> 32);
        const double v = a * (double)layer->w[k];
        z[j] += ({n}_hash_j(hx, j) >> 31) ? -v : v;
    }}
}}
"""

_ACTIVATIONS = {
    "relu": "if (z[k] <= 0.0) z[k] = 0.0;",
    "tanh": "z[k] = tanh(z[k]);",
    "logistic": "z[k] = 1.0 / (1.0 + exp(-z[k]));",
}


def _render_source(spec):
    n, N = spec.name, spec.NAME
    primes = {k: _u32(v) for k, v in _PRIMES.items()}
    int8 = spec.buckets == "int8"
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
        f"\nvoid {spec.function}(const float *x, float *out);\n\n",
        "typedef struct {\n"
        "    uint32_t n_in, n_out, n_buckets, seed_h, seed_xi;\n"
        f"    const {spec.weight_type} *w;\n"
        "    const float *b;\n"
        + ("    double scale; /* w ~= scale * q */\n" if int8 else "")
        + f"}} {n}_layer_t;\n\n",
    ]

    # parameters
    for label, values in [("x_mean", spec.x_mean), ("x_scale", spec.x_scale),
                          ("y_mean", spec.y_mean), ("y_scale", spec.y_scale)]:
        if values is not None:
            out.append(_array("double", f"{n}_{label}", values, _f64) + "\n")
    fmt = str if int8 else _f32
    rows = []
    for idx, (w, b) in enumerate(zip(spec.weights, spec.biases)):
        n_in, n_out = spec.units[idx], spec.units[idx + 1]
        out.append(f"/* layer {idx}: {n_in} -> {n_out}, {len(w)} buckets */\n")
        out.append(_array(spec.weight_type, f"{n}_w{idx}", w, fmt))
        out.append(_array("float", f"{n}_b{idx}", b, _f32))
        out.append("\n")
        seed_h, seed_xi = spec.seeds[idx]
        scale = f", {_f64(spec.scales[idx])}" if int8 else ""
        rows.append(f"    {{{n_in}u, {n_out}u, {len(w)}u, {_u32(seed_h)}, "
                    f"{_u32(seed_xi)}, {n}_w{idx}, {n}_b{idx}{scale}}}")
    n_layers = len(rows)
    out.append(f"static const {n}_layer_t {n}_layers[{n_layers}] = {{\n"
               + ",\n".join(rows) + "\n};\n\n")
    out.append(f"static double {n}_scratch[{N}_SCRATCH_SIZE];\n\n")

    # code
    out.append(_HASH.format(n=n, **primes))
    finish = "z[j] * layer->scale + (double)layer->b[j]" if int8 else \
        "z[j] + (double)layer->b[j]"
    out.append(
        f"\n/* z = z + b (int8: z = scale * z + b) */\n"
        f"static void {n}_bias(const {n}_layer_t *layer, double *z)\n{{\n"
        f"    uint32_t j;\n"
        f"    for (j = 0; j < layer->n_out; ++j)\n"
        f"        z[j] = {finish};\n}}\n"
    )
    if n_layers > 1:
        out.append(
            f"\n/* z = a V + b */\n"
            f"static void {n}_layer(const {n}_layer_t *layer, const double *a, "
            f"double *z)\n{{\n"
            f"    uint32_t i, j;\n"
            f"    for (j = 0; j < layer->n_out; ++j)\n"
            f"        z[j] = 0.0;\n"
            f"    for (i = 0; i < layer->n_in; ++i)\n"
            f"        if (a[i] != 0.0)\n"
            f"            {n}_accumulate(layer, i, a[i], z);\n"
            f"    {n}_bias(layer, z);\n}}\n"
        )
        if spec.activation != "identity":
            out.append(
                f"\n/* hidden activation: {spec.activation} */\n"
                f"static void {n}_activate(double *z, uint32_t n)\n{{\n"
                f"    uint32_t k;\n"
                f"    for (k = 0; k < n; ++k)\n"
                f"        {_ACTIVATIONS[spec.activation]}\n}}\n"
            )
    out.append(_render_predict(spec))
    return "".join(out)


def _render_predict(spec):
    n, N = spec.name, spec.NAME
    units = spec.units
    n_layers = len(units) - 1
    if spec.x_mean is not None and spec.x_scale is not None:
        feature = f"((double)x[i] - {n}_x_mean[i]) / {n}_x_scale[i]"
    elif spec.x_mean is not None:
        feature = f"(double)x[i] - {n}_x_mean[i]"
    elif spec.x_scale is not None:
        feature = f"(double)x[i] / {n}_x_scale[i]"
    else:
        feature = "(double)x[i]"
    activate = spec.activation != "identity"
    body = [
        f"\nvoid {spec.function}(const float *x, float *out)\n{{",
        f"    double *z = {n}_scratch;",
        "    uint32_t i;",
    ]
    if n_layers > 1:
        body.append("    uint32_t l;")
    body += [
        "",
        "    /* layer 0 reads x, writes the start of the scratch buffer */",
        f"    for (i = 0; i < {units[1]}u; ++i)",
        "        z[i] = 0.0;",
        f"    for (i = 0; i < {N}_N_FEATURES; ++i) {{",
        f"        const double a = {feature};",
        "        if (a != 0.0)",
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
            f"        double *next = (z == {n}_scratch)",
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
    body += _render_output(spec)
    body.append("}\n")
    return "\n".join(body)


def _render_output(spec):
    n = spec.name
    n_out = spec.units[-1]
    if spec.out_activation == "identity":
        return [
            "    /* identity output, back on the original target scale */",
            f"    for (i = 0; i < {n_out}u; ++i)",
            f"        out[i] = (float)(z[i] * {n}_y_scale[i] + {n}_y_mean[i]);",
        ]
    if spec.out_activation == "softmax":
        return [
            "    /* softmax */",
            "    {",
            "        double peak = z[0], total = 0.0;",
            f"        for (i = 1; i < {n_out}u; ++i)",
            "            if (z[i] > peak)",
            "                peak = z[i];",
            f"        for (i = 0; i < {n_out}u; ++i) {{",
            "            z[i] = exp(z[i] - peak);",
            "            total += z[i];",
            "        }",
            f"        for (i = 0; i < {n_out}u; ++i)",
            "            out[i] = (float)(z[i] / total);",
            "    }",
        ]
    if spec.y_type == "binary":
        # predict_proba returns [1 - p, p], with 1 - p computed in the model's
        # dtype: do the same, so that tiny complements match it.
        if spec.model_dtype == np.float32:
            complement = "out[0] = 1.0f - out[1];"
        else:
            complement = "out[0] = (float)(1.0 - p);"
        return [
            "    /* one logistic unit: out = [1 - p, p] */",
            "    {",
            "        const double p = 1.0 / (1.0 + exp(-z[0]));",
            "        out[1] = (float)p;",
            f"        {complement}",
            "    }",
        ]
    return [
        "    /* one logistic unit per label */",
        f"    for (i = 0; i < {n_out}u; ++i)",
        "        out[i] = (float)(1.0 / (1.0 + exp(-z[i])));",
    ]
