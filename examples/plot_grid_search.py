"""
Grid search over method and compression
=======================================

``method`` swaps how each layer stores its weights at the storage budget of
the hashed network, so one :class:`~sklearn.model_selection.GridSearchCV`
compares HashedNets with the paper's baselines: low-rank factorisation,
random edge removal and a narrower dense network.

Reproduce the figure with ``python examples/plot_grid_search.py``.
"""

import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier

# the short runs stop at max_iter on purpose
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
pipe = make_pipeline(StandardScaler(),
                     HashedMLPClassifier(hidden_layer_sizes=(128,), max_iter=50,
                                         random_state=0))
search = GridSearchCV(pipe, {
    "hashedmlpclassifier__method": ["hashing", "low_rank", "random_edges",
                                    "shrunk"],
    "hashedmlpclassifier__compression": [1 / 8, 1 / 64],
}, cv=3)
search.fit(X, y)
print("best:", search.best_params_, f"{search.best_score_:.4f}")

# %%
# Mean cross-validated accuracy of each method at each compression.
table = pd.DataFrame(search.cv_results_).pivot_table(
    index="param_hashedmlpclassifier__method",
    columns="param_hashedmlpclassifier__compression",
    values="mean_test_score")
table.index.name, table.columns.name = "method", "compression"
table = table[sorted(table.columns, reverse=True)]
print(table.round(4))

fig, ax = plt.subplots(figsize=(6, 4))
table.rename(columns=lambda c: f"1/{round(1 / c)}").plot.bar(ax=ax, rot=0)
ax.set_ylim(0, 1)
ax.set_ylabel("mean CV accuracy (3 folds)")
ax.set_title("digits, 64-128-10")
ax.legend(title="compression", loc="lower right")
fig.tight_layout()
plt.show()
