"""``python -m sk_hashednets``: accuracy and size against compression on real data.

Trains the same architecture at several compression ratios on a 70/30
stratified split and prints one row per ratio: stored parameters, pickled
size, test accuracy and fit time.
"""

import argparse
import pickle
import sys
import time
import warnings
from fractions import Fraction

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import HashedMLPClassifier
from ._version import __version__
from .datasets import DATASETS, load


def _fraction(text):
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"compression must be a number in (0, 1] such as 0.125 or 1/8, got {text!r}"
        ) from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"compression must lie in (0, 1], got {text}")
    return value


def _hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"--hidden takes positive layer widths such as 1000 or 1000,1000; "
            f"got {text!r}"
        )
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sk_hashednets",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Accuracy and model size of HashedMLPClassifier against "
        "compression.\n\n"
        "Splits the data set 70/30 (stratified, shuffled with --seed), then for\n"
        "each compression ratio fits a StandardScaler followed by a\n"
        "HashedMLPClassifier (the given hidden layers, its defaults otherwise)\n"
        "on the training part and prints one row: stored parameters, virtual\n"
        "parameters, pickled size of the classifier, test accuracy and fit\n"
        "seconds. With the defaults it takes a few seconds on digits.",
        epilog="Output: the table goes to standard output; nothing is written to "
        "disk.\nfashion-mnist is read from local IDX files ($SK_HASHEDNETS_FASHION_"
        "MNIST\nor /usr/share/datasets/fashion-mnist); nothing is downloaded.",
    )
    parser.add_argument("--dataset", default="digits", choices=sorted(DATASETS),
                        help="data set (default: scikit-learn's digits)")
    parser.add_argument("--hidden", type=_hidden, default=(1000,),
                        help="hidden layer widths, comma separated (default: 1000)")
    parser.add_argument("--compression", type=_fraction, nargs="+",
                        default=[1.0, 1 / 8, 1 / 64],
                        help="compression ratios (default: 1 1/8 1/64)")
    parser.add_argument("--epochs", type=int, default=200,
                        help="maximum epochs per fit, max_iter (default: 200)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split and of every fit's random_state "
                        "(default: 0)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")

    try:
        X, y = load(args.dataset)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed
    )
    print(f"sk_hashednets {__version__}: {args.dataset}, {X_train.shape[0]} train / "
          f"{X_test.shape[0]} test samples, {X.shape[1]} features, hidden layers "
          f"{args.hidden}")
    header = (f"{'compression':>11}  {'stored params':>13}  {'virtual params':>14}  "
              f"{'pickled bytes':>13}  {'test accuracy':>13}  {'fit seconds':>11}")
    print(header)
    print("-" * len(header))
    for compression in args.compression:
        clf = HashedMLPClassifier(hidden_layer_sizes=args.hidden,
                                  compression=compression, max_iter=args.epochs,
                                  random_state=args.seed)
        model = make_pipeline(StandardScaler(), clf)
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - tic
        accuracy = model.score(X_test, y_test)
        label = str(Fraction(compression).limit_denominator(1 << 20))
        print(f"{label:>11}  {clf.n_stored_params_:>13,}  "
              f"{clf.n_virtual_params_:>14,}  {len(pickle.dumps(clf)):>13,}  "
              f"{accuracy:>13.4f}  {seconds:>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
