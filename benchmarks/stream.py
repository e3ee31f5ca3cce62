"""Streaming text classification: a million generated documents through
HashingVectorizer(n_features=2**20), learned by partial_fit chunk by chunk.

    python benchmarks/stream.py                      # 1,000,000 documents
    python benchmarks/stream.py --documents 50000    # a smaller run
    python benchmarks/stream.py --models hashed sgd  # some of the models only

Writes benchmarks/STREAM.md (``--output``).

Each model trains in a fresh process of its own, so that its peak RSS (VmHWM)
is its own; the corpus is generated there chunk by chunk (never whole in
memory) and vectorised by the same stateless HashingVectorizer for every
model. Models (``--models``, all by default):

* ``hashed``: ``HashedMLPClassifier((256,), compression=1/64)``, 268 million
  virtual first-layer weights in 4.2 million buckets;
* ``sgd``: scikit-learn's ``SGDClassifier``, the usual linear model at this
  scale;
* ``low_rank``, ``random_edges``: the same network with the other methods, on
  the first ``--method-documents`` documents (their throughput, not their
  accuracy, is the point: both fit the 2**20 x 256 first layer in the memory
  hashing does);
* ``mlp``: scikit-learn's ``MLPClassifier((256,))`` (Adam), which at 2**20
  features would hold a 2**20 x 256 float64 first layer, its gradient and two
  Adam moments (8 GiB, reported, not run); measured at ``--mlp-features``
  instead, on the first ``--mlp-documents`` documents.

Reported per model: documents per second of training (vectorising and
partial_fit, not generating), peak RSS, held-out accuracy on ``--test``
documents from a separate stream, and the pickled model's size.
"""

import argparse
import json
import pickle
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from common import ROOT, blas_libraries, peak_rss_mib

N_FEATURES = 2**20
HIDDEN = 256
COMPRESSION = 1 / 64
CHUNK = 10_000
N_TOPICS = 20
TOPIC_WORDS = 1_000  # each topic's own vocabulary
SHARED_WORDS = 50_000  # words of every topic
P_TOPICAL = 0.1  # probability that a word comes from the document's topic
MODELS = ("hashed", "sgd", "mlp", "low_rank", "random_edges")

_SHARED = np.array([f"w{k}" for k in range(SHARED_WORDS)], dtype=object)
_TOPICAL = np.array([[f"t{t}x{k}" for k in range(TOPIC_WORDS)]
                     for t in range(N_TOPICS)], dtype=object)


def make_chunk(index, n_docs, stream=0):
    """Documents ``index * n_docs`` to ``(index + 1) * n_docs`` of a stream.

    A document has 10 to 60 words; each word is, with probability 0.1, one of
    its topic's 1,000 words (uniform), else one of 50,000 shared words (skewed
    towards the first ones, as word frequencies are). Chunk ``index`` of
    ``stream`` depends on those two numbers only, so any chunk can be made
    alone. Returns the documents and their topics.
    """
    rng = np.random.default_rng([stream, index])
    labels = rng.integers(N_TOPICS, size=n_docs)
    lengths = rng.integers(10, 61, size=n_docs)
    doc = np.repeat(np.arange(n_docs), lengths)
    topical = rng.random(doc.size) < P_TOPICAL
    shared = (SHARED_WORDS * rng.random(doc.size) ** 3).astype(np.int64)
    own = rng.integers(TOPIC_WORDS, size=doc.size)
    words = np.where(topical, _TOPICAL[labels[doc], own], _SHARED[shared])
    ends = np.cumsum(lengths)
    docs = [" ".join(words[end - n:end]) for end, n in zip(ends, lengths)]
    return docs, labels


def vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=N_FEATURES, dtype=np.float32)


def make_model(name, n_features):
    from sklearn.linear_model import SGDClassifier
    from sklearn.neural_network import MLPClassifier

    from sk_hashednets import HashedMLPClassifier

    if name == "sgd":
        return SGDClassifier(random_state=0)
    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=0)
    method = "hashing" if name == "hashed" else name
    return HashedMLPClassifier(hidden_layer_sizes=(HIDDEN,), compression=COMPRESSION,
                               method=method, solver="adam",
                               learning_rate_init=1e-3, random_state=0)


def run_model(name, n_docs, n_test, n_features):
    """Train one model on the stream in this process; return its figures."""
    vec = vectorizer()
    if n_features != N_FEATURES:
        vec.set_params(n_features=n_features)
    model = make_model(name, n_features)
    classes = np.arange(N_TOPICS)
    warm_docs, warm_y = make_chunk(0, 100, stream=2)  # compile the kernels
    make_model(name, n_features).partial_fit(vec.transform(warm_docs), warm_y,
                                             classes=classes)
    seconds = 0.0
    for index in range(-(-n_docs // CHUNK)):
        docs, y = make_chunk(index, min(CHUNK, n_docs - index * CHUNK))
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLPClassifier's ConvergenceWarning
            model.partial_fit(vec.transform(docs), y, classes=classes)
        seconds += time.perf_counter() - tic
    correct = 0
    for index in range(-(-n_test // CHUNK)):
        docs, y = make_chunk(index, min(CHUNK, n_test - index * CHUNK), stream=1)
        correct += int(np.sum(model.predict(vec.transform(docs)) == y))
    return {
        "model": name,
        "documents": n_docs,
        "n_features": n_features,
        "train_seconds": seconds,
        "docs_per_second": n_docs / seconds,
        "peak_rss_mib": peak_rss_mib(),
        "accuracy": correct / n_test,
        "model_mib": len(pickle.dumps(model)) / 2**20,
    }


def mlp_bytes(n_features):
    """Memory that MLPClassifier(solver='adam').partial_fit holds for its
    first layer at ``n_features``: the float64 weights, their gradient and
    the two Adam moments (no temporaries counted)."""
    return 4 * n_features * HIDDEN * 8


def child(args):
    print(json.dumps(run_model(args.child, args.child_documents, args.test,
                               args.child_features)))


def label(row):
    names = {
        "hashed": "HashedMLPClassifier((256,), 1/64)",
        "low_rank": "HashedMLPClassifier((256,), 1/64, method='low_rank')",
        "random_edges": "HashedMLPClassifier((256,), 1/64, method='random_edges')",
        "sgd": "SGDClassifier()",
        "mlp": "MLPClassifier((256,))",
    }
    return names[row["model"]]


def markdown(rows, command, args):
    blas = "; ".join(blas_libraries())
    lines = [
        "# Streaming benchmark",
        "",
        f"Produced by `{command}` ({platform.python_version()}, "
        f"{platform.machine()}, {blas}; each model in a fresh process). "
        f"A generated corpus of {N_TOPICS} topics (each with {TOPIC_WORDS:,} words "
        f"of its own over {SHARED_WORDS:,} shared ones, {P_TOPICAL:.0%} of a "
        "document's words topical), vectorised by "
        "`HashingVectorizer(n_features=2**20, dtype=np.float32)` and learned by "
        f"`partial_fit` in chunks of {CHUNK:,} documents; accuracy on "
        f"{args.test:,} held-out documents of a separate stream. Documents per "
        "second count vectorising and `partial_fit`; peak RSS is the process's "
        "VmHWM, interpreter and libraries included; model size is the pickle.",
        "",
        "| model | features | documents | documents / s | peak RSS (MiB) "
        "| accuracy | model size (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {label(row)} | 2^{int(np.log2(row['n_features']))} "
            f"| {row['documents']:,} | {row['docs_per_second']:,.0f} "
            f"| {row['peak_rss_mib']:,.0f} | {row['accuracy']:.4f} "
            f"| {row['model_mib']:,.1f} |")
    need = mlp_bytes(N_FEATURES) / 2**30
    lines += [
        "",
        f"`MLPClassifier((256,))` at 2^20 features is not run: its first layer "
        f"alone holds {need:.0f} GiB during `partial_fit` (2^20 x 256 float64 "
        "weights, their gradient and Adam's two moments, 2 GiB each), before any "
        "temporary.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--test", type=int, default=20_000)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--method-documents", type=int, default=100_000,
                        help="documents for low_rank and random_edges")
    parser.add_argument("--mlp-features", type=int, default=2**16)
    parser.add_argument("--mlp-documents", type=int, default=100_000)
    parser.add_argument("--output", type=Path,
                        default=ROOT / "benchmarks" / "STREAM.md",
                        help="markdown file to write ('-' for none)")
    parser.add_argument("--child", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--child-documents", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-features", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    rows = []
    for name in args.models:
        n_docs, n_features = args.documents, N_FEATURES
        if name in ("low_rank", "random_edges"):
            n_docs = min(args.documents, args.method_documents)
        if name == "mlp":
            n_docs = min(args.documents, args.mlp_documents)
            n_features = args.mlp_features
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--test", str(args.test),
             "--child-documents", str(n_docs), "--child-features", str(n_features)],
            check=True, stdout=subprocess.PIPE, text=True).stdout
        rows.append(json.loads(out.splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if str(args.output) != "-":
        command = " ".join(["python benchmarks/stream.py", *(argv or sys.argv[1:])])
        args.output.write_text(markdown(rows, command, args))
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
