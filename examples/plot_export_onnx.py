"""
Export to ONNX: a file that grows with the buckets
==================================================

:func:`~sk_hashednets.export_onnx` writes a fitted model as an ONNX file that
stores only the buckets, biases and hash seeds and computes every virtual
matrix in the graph. We export a pipeline of a ``StandardScaler`` and a
hashed network at several compressions, run each file in onnxruntime on the
test digits, and compare its size with skl2onnx's graph of a dense
``MLPClassifier`` of the same shape, which stores every weight.

Needs the ``onnx`` extra (``pip install "sk-hashednets[onnx]"``).
Reproduce the figure with ``python examples/plot_export_onnx.py``.
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, export_onnx

# the short runs stop at max_iter on purpose
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0)
folder = Path(tempfile.mkdtemp())

# %%
# The dense reference: skl2onnx's graph of an ``MLPClassifier`` with the same
# 64-256-10 shape stores all of its 19,210 parameters.
dense = make_pipeline(StandardScaler(), MLPClassifier(
    hidden_layer_sizes=(256,), max_iter=50, random_state=0)).fit(X_train, y_train)
dense_file = folder / "dense.onnx"
dense_file.write_bytes(to_onnx(dense, X[:1], target_opset=18,
                               options={"zipmap": False}).SerializeToString())
print(f"dense: {dense_file.stat().st_size:,} bytes, "
      f"accuracy {dense.score(X_test, y_test):.4f}")

# %%
# Hashed networks of the same shape, exported with the scaler folded in. The
# file takes raw pixels and returns ``label`` and ``probabilities``, as
# skl2onnx's classifiers do; onnxruntime folds each virtual matrix into a
# constant when it creates the session, so the calls run as a dense graph's.
compressions = [1 / 4, 1 / 16, 1 / 64]
sizes, accuracies = {}, {}
for method in ("hashing", "hashing_blocks"):
    for compression in compressions:
        model = make_pipeline(StandardScaler(), HashedMLPClassifier(
            hidden_layer_sizes=(256,), compression=compression, method=method,
            max_iter=50, random_state=0)).fit(X_train, y_train)
        path = export_onnx(model, folder / f"{method}-{round(1 / compression)}.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        label, proba = session.run(None, {"X": X_test})
        gap = np.abs(proba - model.predict_proba(X_test)).max()
        assert (label == model.predict(X_test)).all() and gap < 1e-5
        sizes[method, compression] = path.stat().st_size
        accuracies[method, compression] = np.mean(label == y_test)
        print(f"{method} 1/{round(1 / compression)}: {path.stat().st_size:,} bytes, "
              f"{model[-1].n_stored_params_:,} stored parameters, accuracy "
              f"{accuracies[method, compression]:.4f}, largest difference to "
              f"predict_proba {gap:.1e}")

# %%
# File size and test accuracy against the compression. The dashed line is
# the dense graph.
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
ticks = [f"1/{round(1 / c)}" for c in compressions]
for method, marker in (("hashing", "o"), ("hashing_blocks", "s")):
    left.plot(ticks, [sizes[method, c] / 1024 for c in compressions], marker=marker,
              label=method)
    right.plot(ticks, [accuracies[method, c] for c in compressions], marker=marker,
               label=method)
left.axhline(dense_file.stat().st_size / 1024, color="gray", ls="--",
             label="dense (skl2onnx)")
right.axhline(dense.score(X_test, y_test), color="gray", ls="--", label="dense")
left.set(yscale="log", xlabel="compression", ylabel="ONNX file (KiB)",
         title="File size")
right.set(xlabel="compression", ylabel="test accuracy", title="Accuracy in onnxruntime")
left.legend()
right.legend()
fig.tight_layout()
plt.show()
