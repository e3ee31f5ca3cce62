"""
Dark knowledge: distilling a dense teacher
==========================================

``HashedMLPClassifier(teacher=...)`` trains on a mix of the hard labels and
the teacher's probabilities softened at ``distillation_temperature``. Any
scikit-learn classifier with ``predict_proba`` can teach; here a dense
network of the same architecture (compression 1), fitted once and passed in
fitted, teaches hashed students at decreasing compression. Each student is
compared with the same network trained on the labels alone.

Reproduce the figure with ``python examples/plot_distillation.py``.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier

# the short runs stop at max_iter on purpose
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

teacher = HashedMLPClassifier(hidden_layer_sizes=(256,), compression=1,
                              max_iter=50, random_state=0).fit(X_train, y_train)
print(f"teacher (dense): accuracy {teacher.score(X_test, y_test):.4f}")

# %%
# The students: the same architecture at each compression, with and without
# the teacher.
compressions = [1 / 16, 1 / 64, 1 / 256]
scores = {"labels only": [], "with the teacher": []}
for compression in compressions:
    for label, mentor in [("labels only", None), ("with the teacher", teacher)]:
        student = HashedMLPClassifier(hidden_layer_sizes=(256,),
                                      compression=compression, teacher=mentor,
                                      max_iter=50, random_state=0)
        student.fit(X_train, y_train)
        scores[label].append(student.score(X_test, y_test))
        print(f"1/{round(1 / compression):<3} {label:16} "
              f"accuracy {scores[label][-1]:.4f}")

# %%
# One seed and 540 test digits: differences of a point or so are noise.
fig, ax = plt.subplots(figsize=(6, 4))
for label, accuracy in scores.items():
    ax.plot(compressions, accuracy, "o-", label=label)
ax.axhline(teacher.score(X_test, y_test), color="k", ls=":", label="teacher")
ax.set_xscale("log", base=2)
ax.set_xticks(compressions, [f"1/{round(1 / c)}" for c in compressions])
ax.set_xlabel("compression")
ax.set_ylabel("test accuracy")
ax.set_title("digits, 64-256-10 students")
ax.legend()
fig.tight_layout()
plt.show()
