"""``python -m sk_hashednets.experiments``: the command line of the
experiments (see the package's docstring for what each one runs)."""

import argparse
import sys
from pathlib import Path

from .plan import ARCHITECTURES
from .runs import RUNNERS, SettingsMismatch, load_data, stored_best_settings

DESCRIPTIONS = {
    "sweep": "every method tries the same solvers and learning rates (both "
             "hashing methods also with rescale_grad), and three of them the "
             "paper's recipe, on 784-1000-10 at 1/8 and 1/64; writes sweep.json",
    "table1": "Table 1 with every method at its best setting from the sweep: "
              "1x1000 and 3x1000 (see --architectures) for each of --seeds; "
              "writes table1.json",
    "paper": "the paper's recipe (dropout, decaying momentum-SGD rate, 200 "
             "epochs, patience 20) at its best rate from the sweep for hashing, "
             "block hashing and the equal-storage net, 1x1000 at 1/8 and 1/64 "
             "for each of --seeds; writes paper.json",
    "distillation": "hashing distilled from the dense 1x1000 teacher at every "
                    "temperature (2, 4, 8) and weight (0.5, 0.9), at 1/8 and "
                    "1/64 for each of --seeds; writes distillation.json",
    "compression": "test error against compression (1 to 1/64), 784-1000-10; "
                   "writes compression.json and compression.png",
    "expansion": "fixed storage (a dense 784-50-10), hidden layer 1x to 32x "
                 "wider; writes expansion.json and expansion.png",
    "report": "rewrite RESULTS.md and the figures from the stored runs (every "
              "other experiment does this too when it ends)",
}


def _check_out(out):
    """Refuse an output folder inside the installed package."""
    package = Path(__file__).resolve().parents[1]
    if out.resolve() == package or package in out.resolve().parents:
        raise ValueError(f"--out {out} lies inside the package ({package}); "
                         "pass a folder of your own.")


def _shard(text):
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n, got {text!r}") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"expected 0 <= i < n, got {text!r}")
    return i, n


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sk_hashednets.experiments",
        description="The paper's comparisons with every method at its best "
                    "setting. Run the sweep first: the other experiments read "
                    "each method's setting from OUT/sweep.json. Every run is "
                    "stored in OUT as it ends, so an interrupted experiment "
                    "resumes where it stopped.",
        epilog="experiments:\n" + "\n".join(
            f"  {name:12} {text}" for name, text in DESCRIPTIONS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", nargs="+", choices=list(DESCRIPTIONS),
                        metavar="experiment",
                        help="one or more of: " + ", ".join(DESCRIPTIONS))
    parser.add_argument("--dataset", choices=["fashion-mnist", "digits"],
                        default="fashion-mnist",
                        help="Fashion-MNIST (the default; 60,000 training and "
                             "10,000 test images), or scikit-learn's digits "
                             "with the README's 70/30 split")
    parser.add_argument("--epochs", type=int, default=50,
                        help="maximum epochs per run (default: 50)")
    parser.add_argument("--patience", type=int, default=10,
                        help="stop after this many epochs without validation "
                             "gain (default: 10)")
    parser.add_argument("--train-size", type=int, default=60000,
                        help="training images to use, a random subset "
                             "(default: 60000, all of Fashion-MNIST)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of every run, and of the training "
                             "subset (default: 0)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="the seeds of table1, paper and distillation "
                             "(default: 0 1 2)")
    parser.add_argument("--architectures", nargs="+", choices=list(ARCHITECTURES),
                        default=list(ARCHITECTURES),
                        help="the networks table1 runs now (the others are "
                             "left for later; default: all)")
    parser.add_argument("--wait", action="store_true",
                        help="wait for other processes to finish the sweep "
                             "instead of stopping when it is incomplete")
    parser.add_argument("--shard", type=_shard, default=(0, 1), metavar="I/N",
                        help="run only every N-th unit of work from the I-th, so "
                             "that N processes share an experiment (default: 0/1)")
    parser.add_argument("--data", default=None,
                        help="folder with the Fashion-MNIST IDX files (default: "
                             "$SK_HASHEDNETS_FASHION_MNIST, else "
                             "/usr/share/datasets/fashion-mnist)")
    parser.add_argument("--out", type=Path, default=Path("docs"),
                        help="the folder of the JSON files, figures and "
                             "RESULTS.md, relative to the current one "
                             "(default: docs)")
    args = parser.parse_args(argv)
    try:
        _check_out(args.out)
        if set(args.experiment) - {"sweep", "report"} and (
                "sweep" not in args.experiment) and not args.wait:
            stored_best_settings(args)  # fail before loading anything
        data = load_data(args) if set(args.experiment) - {"report"} else None
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .report import write_report

    for name in args.experiment:
        if name in RUNNERS:
            print(f"{name}:", flush=True)
            try:
                RUNNERS[name](args, data)
            except SettingsMismatch as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        write_report(args)
    return 0
