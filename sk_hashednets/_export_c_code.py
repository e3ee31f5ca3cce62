"""The C text of export_c: the hash, each method's layer loop, the heads.

Everything here computes in single precision (``float``, ``expf``, ``tanhf``):
a Cortex-M4F's FPU has no double, and the generated file compiles with
``-Wdouble-promotion -Werror``. Templates are ``str.format`` strings whose
``{n}`` is the model's C prefix.
"""

# --------------------------------------------------------------------------
# the hash recipe, split where the loops need it
# --------------------------------------------------------------------------
# XXH32 of the 8-byte key u32le(i) || u32le(j):
#   h = seed + P5 + 8;  h = rotl17(h + i * P3) * P4     (round of i)
#   h = rotl17(h + j * P3) * P4                        (round of j)
#   h ^= h >> 15; h *= P2; h ^= h >> 13; h *= P3; h ^= h >> 16
# The round of i is done once per input unit; both hashes of a weight add
# the same j * P3 (``key``), which the loop steps by P3 instead of
# multiplying. The last step h ^= h >> 16 leaves the top bit as it is, so
# the sign hash stops before it.
HASH = """\
/* XXH32 of the 8-byte key u32le(i) || u32le(j), in two parts. The round of
   i depends only on (i, seed): once per input unit. */
static uint32_t {n}_round_i(uint32_t seed, uint32_t i)
{{
    const uint32_t h = seed + {P5} + 8u + i * {P3};
    return ((h << 17) | (h >> 15)) * {P4};
}}

/* The round of j and the avalanche, but for its last step h ^= h >> 16
   (which keeps the top bit). key = j * P3. */
static uint32_t {n}_mix(uint32_t h, uint32_t key)
{{
    h += key;
    h = ((h << 17) | (h >> 15)) * {P4};
    h ^= h >> 15;
    h *= {P2};
    h ^= h >> 13;
    return h * {P3};
}}

/* bucket of a mixed hash m: (H * K) >> 32, H = m ^ (m >> 16): one UMULL */
static uint32_t {n}_bucket(uint32_t m, uint32_t n_buckets)
{{
    return (uint32_t)(((uint64_t)(m ^ (m >> 16)) * n_buckets) >> 32);
}}
"""

# v with its sign bit flipped when the top bit of `sign` is set
FLIP = """\
/* v, negated when the top bit of sign is set (xi = -1) */
static float {n}_flip(float v, uint32_t sign)
{{
    union {{ float f; uint32_t u; }} c;
    c.f = v;
    c.u ^= sign & 0x80000000u;
    return c.f;
}}
"""

# --------------------------------------------------------------------------
# z[j] += a * V[i][j] over one row i of V, per method and bucket storage
# --------------------------------------------------------------------------
HASHING = {
    "float": """\
/* z[j] += a * V[i][j] for every output j: V[i][j] = xi(i, j) * w[h(i, j)],
   h(i, j) = (H(i, j, seed_h) * n_buckets) >> 32 (64-bit unsigned),
   xi(i, j) = -1 if the top bit of H(i, j, seed_xi) is set, else +1. */
static void {n}_accumulate(const {n}_layer_t *layer, uint32_t i, float a, float *z)
{{
    const uint32_t hh = {n}_round_i(layer->seed_h, i);
    const uint32_t hx = {n}_round_i(layer->seed_xi, i);
    const uint32_t n_buckets = layer->n_buckets, n_out = layer->n_out;
    const float *w = layer->w;
    uint32_t j, key = 0u;
    for (j = 0; j < n_out; ++j, key += {P3}) {{
        const float v = w[{n}_bucket({n}_mix(hh, key), n_buckets)];
        z[j] += a * {n}_flip(v, {n}_mix(hx, key));
    }}
}}
""",
    "int8": """\
/* z[j] += a * Q[i][j] for every output j: Q[i][j] = xi(i, j) * q[h(i, j)],
   h(i, j) = (H(i, j, seed_h) * n_buckets) >> 32 (64-bit unsigned),
   xi(i, j) = -1 if the top bit of H(i, j, seed_xi) is set, else +1. The
   layer's scale multiplies the sums afterwards. */
static void {n}_accumulate(const {n}_layer_t *layer, uint32_t i, float a, float *z)
{{
    const uint32_t hh = {n}_round_i(layer->seed_h, i);
    const uint32_t hx = {n}_round_i(layer->seed_xi, i);
    const uint32_t n_buckets = layer->n_buckets, n_out = layer->n_out;
    const int8_t *q = layer->w;
    uint32_t j, key = 0u;
    for (j = 0; j < n_out; ++j, key += {P3}) {{
        const int32_t v = q[{n}_bucket({n}_mix(hh, key), n_buckets)];
        const int32_t m = -(int32_t)({n}_mix(hx, key) >> 31); /* 0 or -1 */
        z[j] += a * (float)((v ^ m) - m);
    }}
}}
""",
    "int4": """\
/* z[j] += a * Q[i][j] for every output j: Q[i][j] = xi(i, j) * q[h(i, j)],
   q[k] the 4-bit level in nibble k of the packed buckets,
   h(i, j) = (H(i, j, seed_h) * n_buckets) >> 32 (64-bit unsigned),
   xi(i, j) = -1 if the top bit of H(i, j, seed_xi) is set, else +1. The
   layer's scale multiplies the sums afterwards. */
static void {n}_accumulate(const {n}_layer_t *layer, uint32_t i, float a, float *z)
{{
    const uint32_t hh = {n}_round_i(layer->seed_h, i);
    const uint32_t hx = {n}_round_i(layer->seed_xi, i);
    const uint32_t n_buckets = layer->n_buckets, n_out = layer->n_out;
    const uint8_t *q = layer->w;
    uint32_t j, key = 0u;
    for (j = 0; j < n_out; ++j, key += {P3}) {{
        const int32_t v = {n}_level(q, {n}_bucket({n}_mix(hh, key), n_buckets));
        const int32_t m = -(int32_t)({n}_mix(hx, key) >> 31); /* 0 or -1 */
        z[j] += a * (float)((v ^ m) - m);
    }}
}}
""",
}

# the 4-bit level of bucket k: nibble k & 1 of byte k >> 1 (low nibble first),
# a two's-complement value in [-7, 7]
LEVEL = """\
/* bucket k's 4-bit level: byte k / 2, low nibble for even k, sign-extended */
static int32_t {n}_level(const uint8_t *q, uint32_t k)
{{
    const uint32_t nibble = ((uint32_t)q[k >> 1] >> ((k & 1u) << 2)) & 0xFu;
    return (int32_t)(nibble ^ 8u) - 8;
}}
"""

RUNS = {
    "array": """\
/* z[t] += a * w[k + t] for t < n: one contiguous run of a block */
static void {n}_run(float *z, const {wt} *w, uint32_t k, uint32_t n, float a)
{{
    uint32_t t;
    w += k;
    for (t = 0; t < n; ++t)
        z[t] += a * (float)w[t];
}}
""",
    "int4": """\
/* z[t] += a * q[k + t] for t < n: one contiguous run of a block, 4-bit
   levels, two a byte: a byte at a time after an odd start */
static void {n}_run(float *z, const uint8_t *q, uint32_t k, uint32_t n, float a)
{{
    uint32_t t = 0u;
    if ((k & 1u) && n > 0u) {{
        z[0] += a * (float){n}_level(q, k);
        t = 1u;
    }}
    q += (k + t) >> 1;
    for (; t + 1u < n; t += 2u, ++q) {{
        const uint32_t byte = *q;
        z[t] += a * (float)((int32_t)((byte & 0xFu) ^ 8u) - 8);
        z[t + 1u] += a * (float)((int32_t)((byte >> 4) ^ 8u) - 8);
    }}
    if (t < n)
        z[t] += a * (float)((int32_t)((*q & 0xFu) ^ 8u) - 8);
}}
""",
}

BLOCKS = """\

/* z[j] += a * V[i][j] for every output j, block by block: row i of V is cut
   into blocks of {N}_BLOCK columns, and block b reads {N}_BLOCK consecutive
   buckets from a hashed start, wrapping from the last bucket to the first,
   with one hashed sign:
   V[i][b * BLOCK + t] = xi(i, b) * w[(h(i, b) + t) mod n_buckets],
   h(i, b) = (H(i, b, seed_h) * n_buckets) >> 32 (64-bit unsigned),
   xi(i, b) = -1 if the top bit of H(i, b, seed_xi) is set, else +1. */
static void {n}_accumulate(const {n}_layer_t *layer, uint32_t i, float a, float *z)
{{
    const uint32_t hh = {n}_round_i(layer->seed_h, i);
    const uint32_t hx = {n}_round_i(layer->seed_xi, i);
    const uint32_t n_buckets = layer->n_buckets, n_out = layer->n_out;
    uint32_t j, key = 0u;
    for (j = 0; j < n_out; j += {N}_BLOCK, key += {P3}) {{
        const float signed_a = {n}_flip(a, {n}_mix(hx, key));
        const uint32_t end = n_out - j < {N}_BLOCK ? n_out : j + {N}_BLOCK;
        uint32_t k = {n}_bucket({n}_mix(hh, key), n_buckets), t = j;
        while (t < end) {{ /* one run, or two where it wraps around */
            const uint32_t run = end - t < n_buckets - k ? end - t : n_buckets - k;
            {n}_run(z + t, layer->w, k, run, signed_a);
            t += run;
            k = 0u;
        }}
    }}
}}
"""

ACTIVATIONS = {
    "relu": "if (z[k] < 0.0f) z[k] = 0.0f;",
    "tanh": "z[k] = tanhf(z[k]);",
    "logistic": "z[k] = 1.0f / (1.0f + expf(-z[k]));",
}


# --------------------------------------------------------------------------
# output heads: the C that turns the last layer's z into `out`, by head name
# --------------------------------------------------------------------------
def _softmax(spec):
    n_out = spec.units[-1]
    return [
        "    /* softmax */",
        "    {",
        "        float peak = z[0], total = 0.0f;",
        f"        for (i = 1; i < {n_out}u; ++i)",
        "            if (z[i] > peak)",
        "                peak = z[i];",
        f"        for (i = 0; i < {n_out}u; ++i) {{",
        "            z[i] = expf(z[i] - peak);",
        "            total += z[i];",
        "        }",
        f"        for (i = 0; i < {n_out}u; ++i)",
        "            out[i] = z[i] / total;",
        "    }",
    ]


def _logistic(spec):
    if spec.y_type == "binary":
        return [
            "    /* one logistic unit: out = [1 - p, p] */",
            "    out[1] = 1.0f / (1.0f + expf(-z[0]));",
            "    out[0] = 1.0f - out[1];",
        ]
    if spec.y_type != "multilabel-indicator":
        raise ValueError(f"export_c cannot export a logistic output for "
                         f"y_type={spec.y_type!r}.")
    return [
        "    /* one logistic unit per label */",
        f"    for (i = 0; i < {spec.units[-1]}u; ++i)",
        "        out[i] = 1.0f / (1.0f + expf(-z[i]));",
    ]


def _regression(link, what):
    def lines(spec):
        n = spec.name
        return [
            f"    /* {what}, back on the original target scale */",
            f"    for (i = 0; i < {spec.units[-1]}u; ++i)",
            f"        out[i] = {link.format('z[i]')} * {n}_y_scale[i] + {n}_y_mean[i];",
        ]
    return lines


# head name (the fitted out_activation_) -> C lines computing `out` from `z`
HEADS = {
    "softmax": _softmax,
    "logistic": _logistic,
    "identity": _regression("{}", "identity output"),
    "exp": _regression("expf({})", "exp output (Poisson)"),
}
