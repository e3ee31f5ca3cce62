"""
Text: the hashing trick twice
=============================

:class:`~sklearn.feature_extraction.text.HashingVectorizer` hashes words into
2**20 sparse columns without keeping a vocabulary; the hashed network then
hashes the connections of its first layer into a few thousand buckets without
keeping a weight matrix. Sparse input is never densified: the first layer
hashes each stored entry's connections on the fly.

The corpus is generated here (three topics, each document a few topic words
among common ones), so the example needs no download.

Reproduce the figure with ``python examples/plot_text_hashing.py``.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sk_hashednets import HashedMLPClassifier

# the short runs stop at max_iter on purpose
warnings.simplefilter("ignore", ConvergenceWarning)

rng = np.random.RandomState(0)
topics = ["sport", "cooking", "space"]
docs, labels = [], []
for _ in range(900):
    topic = rng.randint(3)
    words = [f"{topics[topic]}{rng.randint(30)}" if rng.rand() < 0.2
             else f"word{rng.randint(300)}" for _ in range(rng.randint(10, 31))]
    docs.append(" ".join(words))
    labels.append(topics[topic])
docs_train, docs_test, y_train, y_test = train_test_split(docs, labels,
                                                          random_state=0)

# %%
# The first layer's buckets decide the storage; the 2**20 x 64 virtual
# weights stay the same. ``HashingVectorizer`` rows have unit norm, so each
# feature is small and a larger learning rate trains faster.
first_layer = [2**6, 2**8, 2**10, 2**12, 2**14]
accuracy, stored = [], []
for k in first_layer:
    model = make_pipeline(
        HashingVectorizer(n_features=2**20),
        HashedMLPClassifier(hidden_layer_sizes=(64,), n_buckets=[k, 64 * 3],
                            solver="sgd", learning_rate_init=0.1, max_iter=30,
                            random_state=0))
    model.fit(docs_train, y_train)
    clf = model[-1]
    accuracy.append(model.score(docs_test, y_test))
    stored.append(clf.n_stored_params_)
    print(f"{k:6,} buckets: {clf.n_stored_params_:,} stored of "
          f"{clf.n_virtual_params_:,} virtual parameters, "
          f"accuracy {accuracy[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(stored, accuracy, "o-")
ax.set_xscale("log")
ax.set_xlabel("stored parameters (of 67 million virtual)")
ax.set_ylabel("test accuracy")
ax.set_title("HashingVectorizer(2**20) + HashedMLPClassifier(64)")
fig.tight_layout()
plt.show()
