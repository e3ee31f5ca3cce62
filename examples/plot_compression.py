"""
Accuracy against stored parameters
==================================

The same 64-256-10 network on scikit-learn's digits, stored at compression 1
down to 1/256, against a dense network narrowed to the same storage
(``method="shrunk"``, the paper's "equal-storage" baseline). The x axis counts
what each model really stores (:attr:`n_stored_params_`, buckets or weights
plus biases).

Reproduce the figure with ``python examples/plot_compression.py``.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier

# the short runs stop at max_iter on purpose
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0)

# %%
# Fit each method at each compression and record the stored parameters and
# the test accuracy.
compressions = [1, 1 / 4, 1 / 16, 1 / 64, 1 / 256]
results = {}
for method in ["hashing", "shrunk"]:
    for compression in compressions:
        clf = HashedMLPClassifier(hidden_layer_sizes=(256,), method=method,
                                  compression=compression, max_iter=50,
                                  random_state=0)
        model = make_pipeline(StandardScaler(), clf).fit(X_train, y_train)
        results.setdefault(method, []).append(
            (clf.n_stored_params_, model.score(X_test, y_test)))
        print(f"{method:8} 1/{round(1 / compression):<3} "
              f"{clf.n_stored_params_:6,} stored, "
              f"accuracy {model.score(X_test, y_test):.4f}")

# %%
# At the same storage the hashed network keeps all 256 hidden units, the
# shrunk one fewer and fewer.
fig, ax = plt.subplots(figsize=(6, 4))
labels = {"hashing": "HashedNets (256 hidden units)",
          "shrunk": "dense network of equal storage"}
for method, points in results.items():
    stored, accuracy = zip(*points, strict=True)
    ax.plot(stored, accuracy, "o-", label=labels[method])
ax.set_xscale("log")
ax.set_xlabel("stored parameters")
ax.set_ylabel("test accuracy")
ax.set_title("digits, 64-256-10")
ax.legend()
fig.tight_layout()
plt.show()
