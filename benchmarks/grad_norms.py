"""Gradient norms of real training runs, to set ``max_grad_norm``'s default.

Fits the experiments' recipe (dropout 0.25, batch 50, early stopping on a 20%
split) on digits scaled to [0, 1] with clipping off, records the global L2
norm of every batch gradient, and prints their median, 99th percentile and
maximum, and the share of steps above 10, 30 and 100. The last rows feed
badly scaled input (raw 0-16 pixels, and x1600) to show what clipping is for.

    python benchmarks/grad_norms.py
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import sk_hashednets._training as training
from sk_hashednets import HashedMLPClassifier

NORMS = []


def _record(grads, max_norm):
    NORMS.append(np.sqrt(sum(float(np.dot(g, g)) for g in grads)))
    return 0


def main():
    training._clip_grad_norm = _record  # record instead of clipping
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.3, stratify=y, random_state=0)
    recipe = dict(dropout=0.25, input_dropout=0.25, batch_size=50, max_iter=60,
                  early_stopping=True, validation_fraction=0.2, random_state=0,
                  max_grad_norm=1e300)
    runs = [
        ("3x1000 1/64 low_rank adam 0.003", 1, dict(
            hidden_layer_sizes=(1000,) * 3, compression=1 / 64, method="low_rank",
            solver="adam", learning_rate_init=0.003)),
        ("3x1000 1/8 hashing sgd 0.01", 1, dict(
            hidden_layer_sizes=(1000,) * 3, compression=1 / 8, solver="sgd",
            learning_rate_init=0.01)),
        ("1x1000 1/8 hashing adam 0.001", 1, dict(
            hidden_layer_sizes=(1000,), compression=1 / 8)),
        ("raw 0-16 pixels, adam 0.001", 16, dict(
            hidden_layer_sizes=(1000,), compression=1 / 8)),
        ("raw 0-16 pixels, sgd 0.01", 16, dict(
            hidden_layer_sizes=(1000,), compression=1 / 8, solver="sgd",
            learning_rate_init=0.01)),
    ]
    print("| run | median | p99 | max | > 10 | > 30 | > 100 | test accuracy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, scale, params in runs:
        NORMS.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = HashedMLPClassifier(**recipe, **params).fit(X_train * scale, y_train)
        n = np.array(NORMS)
        print(f"| {name} | {np.median(n):.2f} | {np.percentile(n, 99):.2f} | "
              f"{n.max():.2f} | {np.mean(n > 10):.3f} | {np.mean(n > 30):.3f} | "
              f"{np.mean(n > 100):.3f} | {clf.score(X_test * scale, y_test):.4f} |",
              flush=True)


if __name__ == "__main__":
    main()
