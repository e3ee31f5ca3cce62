"""benchmarks/mcu.py's loop part: instructions per virtual weight on the board.

* ``layer_loops``: one 128 x 128 layer (2,048 buckets), the loops export_c
  writes (plain hashing and blocks; float32, int8 and int4 buckets), called on the
  board exactly as the export calls them, beside the hashes cached in a
  16-bit table and a dense float multiply-add; every loop must compute the
  same z (checked).
* ``whole_inference``: a whole 784-64-10 inference at 1/64, both methods and
  every bucket storage, on Fashion-MNIST test rows through a folded
  StandardScaler (so no input is zero and none is skipped), beside emlearn's
  dense 784-8-10 on the same rows; each board output checked against Python.
"""

import tempfile
from pathlib import Path

import numpy as np
from common import quiet_fit
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, export_c
from sk_hashednets.datasets import load_fashion_mnist

EXPORTS = {"hf": ("hashing", "float32"), "hq": ("hashing", "int8"),
           "h4": ("hashing", "int4"), "bf": ("hashing_blocks", "float32"),
           "bq": ("hashing_blocks", "int8"), "b4": ("hashing_blocks", "int4")}

KERNELS = """\
#include <stdint.h>
#include <stdio.h>
#include "hf.c"
#include "hq.c"
#include "h4.c"
#include "bf.c"
#include "bq.c"
#include "b4.c"

#define N_IN {n_in}u
#define N_OUT {n_out}u
#define N_BUCKETS {n_buckets}u
#define SEED_H 0x9E3779B9u
#define SEED_XI 0x7F4A7C15u
#define SCALE (1.0f / 64.0f)
#define COUNTER (*(volatile uint32_t *)0x40028018u)

static int8_t q[N_BUCKETS];  /* levels in [-7, 7]: every storage holds them */
static uint8_t q4[(N_BUCKETS + 1) / 2];
static float w[N_BUCKETS], dense[N_IN * N_OUT], a[N_IN], z[N_OUT];
static uint16_t codes[N_IN * N_OUT];  /* bucket in bits 0-14, sign in bit 15 */
static const hf_layer_t hf_l = {{N_IN, N_OUT, N_BUCKETS, SEED_H, SEED_XI, w, 0}};
static const hq_layer_t hq_l = {{N_IN, N_OUT, N_BUCKETS, SEED_H, SEED_XI, q, 0,
                                 SCALE}};
static const h4_layer_t h4_l = {{N_IN, N_OUT, N_BUCKETS, SEED_H, SEED_XI, q4, 0,
                                 SCALE}};
static const bf_layer_t bf_l = {{N_IN, N_OUT, N_BUCKETS, SEED_H, SEED_XI, w, 0}};
static const bq_layer_t bq_l = {{N_IN, N_OUT, N_BUCKETS, SEED_H, SEED_XI, q, 0,
                                 SCALE}};
static const b4_layer_t b4_l = {{N_IN, N_OUT, N_BUCKETS, SEED_H, SEED_XI, q4, 0,
                                 SCALE}};

static void clear(void)
{{
    uint32_t j;
    for (j = 0; j < N_OUT; ++j)
        z[j] = 0.0f;
}}

static void hashing_float32(void)
{{
    uint32_t i;
    for (i = 0; i < N_IN; ++i)
        hf_accumulate(&hf_l, i, a[i], z);
}}

static void hashing_int8(void)
{{
    uint32_t i;
    for (i = 0; i < N_IN; ++i)
        hq_accumulate(&hq_l, i, a[i], z);
}}

static void hashing_int4(void)
{{
    uint32_t i;
    for (i = 0; i < N_IN; ++i)
        h4_accumulate(&h4_l, i, a[i], z);
}}

static void blocks_int4(void)
{{
    uint32_t i;
    for (i = 0; i < N_IN; ++i)
        b4_accumulate(&b4_l, i, a[i], z);
}}

static void blocks_float32(void)
{{
    uint32_t i;
    for (i = 0; i < N_IN; ++i)
        bf_accumulate(&bf_l, i, a[i], z);
}}

static void blocks_int8(void)
{{
    uint32_t i;
    for (i = 0; i < N_IN; ++i)
        bq_accumulate(&bq_l, i, a[i], z);
}}

static void cached(void)
{{
    uint32_t i, j;
    const uint16_t *c = codes;
    for (i = 0; i < N_IN; ++i)
        for (j = 0; j < N_OUT; ++j, ++c) {{
            const float v = a[i] * w[*c & 0x7FFFu];
            z[j] += (*c >> 15) ? -v : v;
        }}
}}

static void dense_float(void)
{{
    uint32_t i, j;
    const float *row = dense;
    for (i = 0; i < N_IN; ++i, row += N_OUT)
        for (j = 0; j < N_OUT; ++j)
            z[j] += a[i] * row[j];
}}

static void time_it(const char *name, void (*kernel)(void), float scale)
{{
    uint32_t start, ticks;
    clear();
    start = COUNTER;
    kernel();
    ticks = COUNTER - start;
    printf("%s %lu %.9g\\n", name, (unsigned long)ticks, (double)(z[0] * scale));
}}

int main(void)
{{
    uint32_t i, j;
    for (i = 0; i < N_BUCKETS; ++i) {{
        q[i] = (int8_t)((int32_t)((i * 2654435761u) >> 28) - 8);
        if (q[i] == -8)
            q[i] = 7;
        w[i] = (float)q[i] * SCALE;
        q4[i / 2] = (uint8_t)(q4[i / 2] | ((uint32_t)q[i] & 0xFu) << (4 * (i % 2)));
    }}
    for (i = 0; i < N_IN; ++i) {{
        const uint32_t hh = hf_round_i(SEED_H, i), hx = hf_round_i(SEED_XI, i);
        a[i] = 1.0f + (float)i / N_IN;
        for (j = 0; j < N_OUT; ++j) {{
            const uint32_t k = hf_bucket(hf_mix(hh, j * {P3}u), N_BUCKETS);
            const uint32_t negative = hf_mix(hx, j * {P3}u) >> 31;
            codes[i * N_OUT + j] = (uint16_t)(k | negative << 15);
            dense[i * N_OUT + j] = negative ? -w[k] : w[k];
        }}
    }}
    time_it("hashing_float32", hashing_float32, 1.0f);
    time_it("hashing_int8", hashing_int8, SCALE);
    time_it("hashing_int4", hashing_int4, SCALE);
    time_it("blocks_float32", blocks_float32, 1.0f);
    time_it("blocks_int8", blocks_int8, SCALE);
    time_it("blocks_int4", blocks_int4, SCALE);
    time_it("cached", cached, 1.0f);
    time_it("dense_float", dense_float, 1.0f);
    return 0;
}}
"""

# the two methods' loops differ in what they compute; each must agree with its
# peers: plain hashing with the cached table and the dense matrix
SAME_Z = {"hashing": ("hashing_float32", "hashing_int8", "hashing_int4", "cached",
                      "dense_float"),
          "blocks": ("blocks_float32", "blocks_int8", "blocks_int4")}


def layer_loops(mcu, tmp, n_in=128, n_out=128, n_buckets=2048):
    """Instructions per virtual weight of each loop over one layer."""
    from sk_hashednets import _kernels

    directory = Path(tempfile.mkdtemp(dir=tmp))
    X, y = load_digits(return_X_y=True)
    for name, (method, buckets) in EXPORTS.items():  # for their functions only
        small = HashedMLPClassifier((4,), max_iter=1, method=method, random_state=0)
        quiet_fit(small, X / 16, y)
        export_c(small, directory / f"{name}.c", name=name, buckets=buckets)
    text = KERNELS.format(n_in=n_in, n_out=n_out, n_buckets=n_buckets,
                          P3=int(_kernels._P3))
    elf = mcu.link(directory, "kernels", text,
                   cflags=[mcu.SPEED, "-Wno-unused-function"])
    costs, first = {}, {}
    for line in mcu.run_elf(elf):
        name, ticks, z0 = line.split()
        costs[name] = int(ticks) * mcu.INSTRUCTIONS_PER_TICK / (n_in * n_out)
        first[name] = float(z0)
    for group in SAME_Z.values():
        values = [first[name] for name in group]
        if np.ptp(values) > 1e-3 * max(1.0, np.abs(values).max()):
            raise RuntimeError(f"the loops {group} disagree: {values}")
    return {"n_in": n_in, "n_out": n_out, "n_buckets": n_buckets,
            "per_weight": costs}


def whole_inference(mcu, emlearn_target, tmp, rows=5, fit_rows=5000):
    """Instructions per virtual weight over whole inferences of 784-64-10 at
    1/64 on inputs with no zero, and of emlearn's dense 784-8-10."""
    X_train, y_train, X_test, _ = load_fashion_mnist()
    X_train, y_train = X_train[:fit_rows].astype(np.float64), y_train[:fit_rows]
    X_board = X_test[:rows].astype(np.float32)
    scaler = StandardScaler().fit(X_train)
    if np.any(scaler.transform(X_board.astype(np.float64)) == 0):
        raise RuntimeError("a board row has a zero input after scaling")
    virtual = 784 * 64 + 64 * 10
    out = {}
    for method in ("hashing", "hashing_blocks"):
        model = make_pipeline(StandardScaler(), HashedMLPClassifier(
            (64,), compression=1 / 64, method=method, max_iter=5, random_state=0))
        quiet_fit(model, X_train, y_train)
        for buckets in ("float32", "int8", "int4"):
            directory = Path(tempfile.mkdtemp(dir=tmp))
            target = mcu.hashed_target(model, directory, buckets)
            board, instructions = target.run(X_board)
            expected = mcu.expected_outputs(model, X_board.astype(np.float64),
                                            buckets)
            difference = mcu.board_difference(model, board, expected)
            if difference > 1e-5:
                raise RuntimeError(f"{method} {buckets}: the board differs from "
                                   f"Python by {difference:.1e}")
            helpers = [s for s in mcu.undefined_symbols(target.sources[0], directory)
                       if s.startswith(("__aeabi_d", "__aeabi_f2d"))]
            out[f"{method}/{buckets}"] = {
                "instructions": instructions, "per_weight": instructions / virtual,
                "board_difference": difference, "double_helpers": helpers}
    dense = MLPClassifier((8,), max_iter=20, random_state=0)
    quiet_fit(dense, scaler.transform(X_train), y_train)
    target = emlearn_target(dense, Path(tempfile.mkdtemp(dir=tmp)))
    _, instructions = target.run(scaler.transform(X_board).astype(np.float32))
    out["emlearn/784-8-10"] = {"instructions": instructions,
                               "per_weight": instructions / (784 * 8 + 8 * 10)}
    return out
