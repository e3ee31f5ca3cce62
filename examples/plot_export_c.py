"""
Export to C and check the exported model
========================================

:func:`~sk_hashednets.export_c` writes a fitted model (here a pipeline of a
``StandardScaler`` and a hashed network) as one dependency-free C99 file. The
file holds only the buckets and biases and recomputes every virtual weight by
hashing while it runs, in single precision. We compile it with a small
``main`` that reads raw pixel rows, run it on the test digits, and compare
its probabilities with ``predict_proba``, for float32 and for int8 buckets;
the int8 file computes the model :func:`~sk_hashednets.quantize` returns,
whose ``predict_proba`` it matches to float rounding.

Needs a C compiler (``cc``); without one the example only writes the files.
Reproduce the figure with ``python examples/plot_export_c.py``.
"""

import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, export_c, quantize

# the short run stops at max_iter on purpose
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0)
model = make_pipeline(StandardScaler(), HashedMLPClassifier(
    hidden_layer_sizes=(256,), compression=1 / 16, max_iter=50, random_state=0))
model.fit(X_train, y_train)
clf = model[-1]
python_proba = model.predict_proba(X_test)
print(f"{clf.n_stored_params_:,} stored parameters, "
      f"Python accuracy {model.score(X_test, y_test):.4f}")

# %%
# A ``main`` that reads rows of raw pixels from standard input and prints the
# ten probabilities of each.
MAIN = r"""
#include <stdio.h>
#include "digits.h"

int main(void)
{
    float x[DIGITS_N_FEATURES], proba[DIGITS_N_OUTPUTS];
    for (;;) {
        for (int i = 0; i < DIGITS_N_FEATURES; ++i)
            if (scanf("%f", &x[i]) != 1)
                return 0;
        digits_predict_proba(x, proba);  /* the scaler is folded in */
        for (int k = 0; k < DIGITS_N_OUTPUTS; ++k)
            printf("%.9g%c", (double)proba[k], k + 1 < DIGITS_N_OUTPUTS ? ' ' : '\n');
    }
}
"""

work = Path(tempfile.mkdtemp())
(work / "main.c").write_text(MAIN)
rows = "\n".join(" ".join(f"{v:g}" for v in row) for row in X_test)
cc = shutil.which("cc") or shutil.which("gcc")
c_proba = {}
for buckets in ["float32", "int8"]:
    export_c(model, work / "digits.c", name="digits", buckets=buckets)
    source = (work / "digits.c").stat().st_size
    print(f"{buckets}: digits.c has {source:,} bytes of C source")
    if cc is None:
        continue
    subprocess.run([cc, "-std=c99", "-O2", "main.c", "digits.c", "-lm", "-o",
                    "digits"], cwd=work, check=True)
    printed = subprocess.run(["./digits"], cwd=work, input=rows, text=True,
                             capture_output=True, check=True).stdout
    c_proba[buckets] = np.loadtxt(printed.splitlines())
    agree = (c_proba[buckets].argmax(1) == python_proba.argmax(1)).mean()
    gap = np.abs(c_proba[buckets] - python_proba).max()
    print(f"{buckets}: C and Python agree on {agree:.1%} of the labels, "
          f"largest probability difference {gap:.2g}")
    if buckets == "int8":  # against the model the int8 file holds
        exact = np.abs(c_proba[buckets]
                       - quantize(model, "int8").predict_proba(X_test)).max()
        print(f"int8: largest difference to quantize(model, 'int8') {exact:.2g}")

# %%
# Each point is one probability of one test digit: C against Python. The
# float32 export sits on the diagonal to float rounding; int8 buckets move
# the probabilities a little and the labels hardly at all.
fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharey=True)
for ax, buckets in zip(axes, ["float32", "int8"], strict=True):
    if buckets in c_proba:
        ax.plot(python_proba.ravel(), c_proba[buckets].ravel(), ".", ms=3)
    else:
        ax.text(0.5, 0.5, "no C compiler found", ha="center")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_title(f"{buckets} buckets")
    ax.set_xlabel("predict_proba (Python)")
axes[0].set_ylabel("digits_predict_proba (C)")
fig.tight_layout()
plt.show()
shutil.rmtree(work)
