"""benchmarks/mcu.py's per-budget choice: the most accurate model of each kind
that fits, and a cell named as waiting while a configuration that may fit it
is not measured on every seed (benchmarks/mcu_stored.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import mcu_report  # noqa: E402
import mcu_stored  # noqa: E402

mcu = mcu_stored.mcu  # benchmarks/mcu.py (not the folder mcu/)


def row(kind, method, width, compression, flash, mean, precision=None):
    return {"kind": kind, "method": method, "width": width,
            "compression": compression, "flash": flash, "mean": mean,
            "precision": precision, "std": 0.0, "instructions": 1.0}


def test_each_kind_takes_its_most_accurate_model_that_fits():
    rows = [row("stored_int4", "hashing", 64, "1/8", 2000, 0.90),
            row("stored_int4", "hashing", 256, "1/8", 4000, 0.95),
            row("stored_int4", "hashing_blocks", 256, "1/4", 5000, 0.99),
            row("hashed", "hashing", 64, "1/8", 1500, 0.80, "float32"),
            row("dense_int8", "dense", 8, "1", 3000, 0.85)]
    (_, cells2), (_, cells4) = mcu_report.by_budget(rows, (2, 4))
    kinds = [k for k, _, _ in mcu_report.KINDS]
    assert cells2[kinds.index("stored_int4")]["width"] == 64
    assert cells4[kinds.index("stored_int4")]["width"] == 256  # 5000 B > 4 KiB
    assert cells2[kinds.index("dense_int8")] is None
    assert cells4[kinds.index("hashed")]["mean"] == 0.80
    assert cells4[kinds.index("stored_int8")] is None
    # per method
    (_, blocks4), = mcu_report.by_budget(rows, (4,), mcu_report.STORED,
                                         "hashing_blocks")
    assert blocks4 == [None, None, None]


def test_a_cell_waits_for_configurations_that_may_fit_it():
    seeds = mcu.SEEDS
    results = {mcu.key("digits", *c, s): {} for c in mcu_stored.configurations(
        "digits") for s in seeds}
    assert mcu_stored.missing([], results, "digits", 8, "stored_int4", mcu.key,
                              seeds) == []
    gone = ("stored_int4", "hashing", 256, "1/4")
    del results[mcu.key("digits", *gone, 1)]  # one seed short
    assert mcu_stored.missing([], results, "digits", 8, "stored_int4", mcu.key,
                              seeds) == ["hashing 256 1/4"]
    assert mcu_stored.missing([], results, "digits", 8, "stored_int8", mcu.key,
                              seeds) == []
    # a model of the same method and width with fewer buckets over the budget
    # rules it out
    rows = [row("stored_int4", "hashing", 256, "1/8", 9000, 0.9)]
    assert mcu_stored.missing(rows, results, "digits", 8, "stored_int4",
                              mcu.key, seeds) == []


def test_milder_compressions_only_where_their_buckets_fit():
    configs = list(mcu_stored.configurations("fashion"))
    assert ("stored_int4", "hashing", 256, "1/4") in configs  # 25 KB of buckets
    assert ("stored_int8", "hashing", 256, "1/4") not in configs  # 51 KB > 32 KiB
    assert all(c[0] in mcu_stored.KINDS for c in configs)
    assert len(configs) == len(set(configs))
