"""benchmarks/mcu.py's report: the tables of benchmarks/MCU.md and docs/mcu.png."""

import platform

import numpy as np
from common import tool_version

LABELS = {("hashing", "float32"): "hashing, float32",
          ("hashing", "int8"): "hashing, int8",
          ("hashing_blocks", "float32"): "blocks, float32",
          ("hashing_blocks", "int8"): "blocks, int8"}
STYLES = {("hashing", "float32"): ("C0", "o"), ("hashing", "int8"): ("C0", "^"),
          ("hashing_blocks", "float32"): ("C3", "o"),
          ("hashing_blocks", "int8"): ("C3", "^")}
MODELS = {"hashed": "hashed (export_c)", "emlearn": "dense (emlearn)",
          "dense_int8": "dense int8 (peer)",
          "stored_int8": "hashed, trained as stored", "stored_int4":
          "hashed, trained as stored"}
BUCKETS = {"emlearn": "float32", "dense_int8": "int8", "stored_int8": "int8",
           "stored_int4": "int4"}
METHOD = {"hashing": "hashing", "hashing_blocks": "blocks"}
SLOWER = 10  # the latency budget of the second choice: 10x emlearn's instructions


def summarize(results, dataset, configurations, key, seeds):
    """One row per export with all seeds measured: flash, RAM, instructions
    (mean over seeds), accuracy mean and std, the largest board difference."""
    rows = []
    for kind, method, width, compression in configurations:
        entries = [results.get(key(dataset, kind, method, width, compression, s))
                   for s in seeds]
        if any(e is None for e in entries):
            continue
        for precision in ("float32", "int8") if kind == "hashed" else (None,):
            parts = [e[precision] if precision else e for e in entries]
            acc = np.array([p["accuracy"] for p in parts])
            rows.append({
                "kind": kind, "method": method, "precision": precision,
                "width": width, "compression": compression,
                "stored": entries[0]["stored"], "flash": parts[0]["flash"],
                "ram": parts[0]["ram"],
                "instructions": float(np.mean([p["instructions"] for p in parts])),
                "mean": float(acc.mean()), "std": float(acc.std()),
                "board": max(p["board_difference"] for p in parts)})
    return sorted(rows, key=lambda r: (r["flash"], r["instructions"]))


def name(row):
    if row["kind"] == "emlearn":
        return f"emlearn dense, width {row['width']}"
    if row["kind"] == "dense_int8":
        return f"dense int8, width {row['width']}"
    if row["kind"].startswith("stored_"):
        return (f"{METHOD[row['method']]}, {BUCKETS[row['kind']]} as stored, "
                f"width {row['width']}, {row['compression']}")
    return (f"{LABELS[row['method'], row['precision']]}, width {row['width']}, "
            f"{row['compression']}")


def choices(rows):
    """Per emlearn row: (row, best hashed with no more flash, best hashed with
    no more flash and at most SLOWER x its instructions, best dense int8 with
    no more flash); None where there is none."""
    hashed = [r for r in rows if r["kind"] == "hashed"]
    int8 = [r for r in rows if r["kind"] == "dense_int8"]
    out = []
    for dense in (r for r in rows if r["kind"] == "emlearn"):
        fits = [r for r in hashed if r["flash"] <= dense["flash"]]
        fast = [r for r in fits if r["instructions"] <= SLOWER * dense["instructions"]]
        peers = [r for r in int8 if r["flash"] <= dense["flash"]]
        best = [max(c, key=lambda r: r["mean"]) if c else None
                for c in (fits, fast, peers)]
        out.append((dense, *best))
    return out


BUDGETS = {"digits": (2, 4, 8), "fashion": (4, 8, 16, 32)}  # KiB of flash
KINDS = (("emlearn", None, "emlearn, float32"), ("dense_int8", None, "dense int8"),
         ("hashed", "float32", "hashed, float32 buckets"),
         ("hashed", "int8", "hashed, int8 buckets rounded after training"),
         ("stored_int8", None, "hashed, int8 buckets trained as stored"),
         ("stored_int4", None, "hashed, int4 buckets trained as stored"))
#: per method: the kinds a hashed model is stored as, each trained as stored
STORED = (("hashed", "float32", "float32"), ("stored_int8", None, "int8"),
          ("stored_int4", None, "int4"))


def by_budget(rows, budgets, kinds=KINDS, method=None):
    """Per flash budget (KiB): the most accurate row of each kind that fits
    (of ``method`` only, if given)."""
    out = []
    for budget in budgets:
        cells = []
        for kind, precision, _ in kinds:
            fits = [r for r in rows if r["kind"] == kind
                    and r["precision"] == precision and r["flash"] <= budget * 1024
                    and method in (None, r["method"])]
            cells.append(max(fits, key=lambda r: r["mean"]) if fits else None)
        out.append((budget, cells))
    return out


def _budgets(rows, budgets, missing):
    """``missing(budget, kind)``: the configurations a cell still waits for."""
    lines = ["| flash budget | " + " | ".join(text for _, _, text in KINDS) + " |",
             "| --- " * (len(KINDS) + 1) + "|"]
    for budget, cells in by_budget(rows, budgets):
        text = []
        for (kind, _, _), r in zip(KINDS, cells):
            wait = missing(budget, kind)
            text.append(
                f"not measured yet ({'; '.join(wait)})" if wait else "none"
                if r is None else f"{r['mean']:.3f} ± {r['std']:.3f}: {name(r)}, "
                f"{r['flash']:,} B, {r['instructions']:,.0f} instructions")
        lines.append(f"| {budget} KiB | " + " | ".join(text) + " |")
    lines += ["", "The hashed models per method, each trained as it is stored:", "",
              "| flash budget | method | " + " | ".join(
                  f"{text} buckets" for _, _, text in STORED) + " |",
              "| --- " * (len(STORED) + 2) + "|"]
    for method in METHOD:
        for budget, cells in by_budget(rows, budgets, STORED, method):
            text = ["not measured yet" if [m for m in missing(budget, kind)
                                           if m.split()[0] == method] else "none"
                    if r is None else f"{r['mean']:.3f} ± {r['std']:.3f}, "
                    f"width {r['width']}, {r['compression']}, {r['flash']:,} B, "
                    f"{r['instructions']:,.0f} instructions"
                    for (kind, _, _), r in zip(STORED, cells)]
            lines.append(f"| {budget} KiB | {METHOD[method]} | " + " | ".join(text)
                         + " |")
    return lines


def plot(tables, names, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    for row_axes, dataset in zip(axes, names):
        rows = tables[dataset]
        for ax, quantity, label in zip(
                row_axes, ("flash", "instructions"),
                ("flash the model adds (KiB, text + data, -Os)",
                 "instructions per inference (QEMU -icount, -O2)")):
            scale = 1024 if quantity == "flash" else 1
            for kind, color, text in (("emlearn", "k", "emlearn dense, float32"),
                                      ("dense_int8", "0.55", "dense int8 peer")):
                dense = [r for r in rows if r["kind"] == kind]
                if not dense:
                    continue
                ax.errorbar([r[quantity] / scale for r in dense],
                            [r["mean"] for r in dense], [r["std"] for r in dense],
                            marker="s", color=color, capsize=3,
                            label=f"{text} (widths "
                            + ", ".join(str(r["width"]) for r in dense) + ")")
            for (method, precision), (color, marker) in STYLES.items():
                for width, style in zip(sorted({r["width"] for r in rows
                                                if r["kind"] == "hashed"}),
                                        ("-", ":")):
                    mine = sorted((r for r in rows if (r["method"], r["precision"],
                                                       r["width"]) == (method,
                                                                       precision,
                                                                       width)),
                                  key=lambda r: r["flash"])
                    if not mine:
                        continue
                    ax.errorbar([r[quantity] / scale for r in mine],
                                [r["mean"] for r in mine], [r["std"] for r in mine],
                                marker=marker, color=color, linestyle=style,
                                capsize=2, markersize=4,
                                label=f"{LABELS[method, precision]}, width {width}")
            for kind, marker in (("stored_int8", "v"), ("stored_int4", "D")):
                for method, color in (("hashing", "C0"), ("hashing_blocks", "C3")):
                    mine = [r for r in rows if (r["kind"], r["method"]) ==
                            (kind, method)]
                    if mine:
                        ax.errorbar([r[quantity] / scale for r in mine],
                                    [r["mean"] for r in mine],
                                    [r["std"] for r in mine], marker=marker,
                                    color=color, linestyle="none", capsize=2,
                                    markersize=4, mfc="none",
                                    label=f"{METHOD[method]}, {BUCKETS[kind]} "
                                    "trained as stored, widths 64 and 256")
            ax.set_xscale("log", base=2 if quantity == "flash" else 10)
            ax.set_xlabel(label)
            ax.set_ylabel("test accuracy (mean ± std, 3 seeds)")
            ax.set_title(f"{names[dataset]}, Cortex-M4F (QEMU mps2-an386)")
            ax.grid(True, which="both", alpha=0.3)
        row_axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _table(rows):
    lines = ["| model | method | buckets | width | compression | stored params "
             "| flash (B, -Os) | RAM (B) | instructions / inference (-O2) "
             "| accuracy | board check |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {MODELS[r['kind']]} "
            f"| {r['method']} | {r['precision'] or BUCKETS[r['kind']]} "
            f"| {r['width']} "
            f"| {r['compression']} | {r['stored']:,} | {r['flash']:,} | {r['ram']:,} "
            f"| {r['instructions']:,.0f} | {r['mean']:.3f} ± {r['std']:.3f} "
            f"| {r['board']:.1e} |")
    return lines


def _choices(rows):
    lines = ["| emlearn row | its flash (B) | its instructions | its accuracy "
             "| most accurate hashed, no more flash | most accurate hashed, no "
             f"more flash, at most {SLOWER}x the instructions "
             "| most accurate dense int8, no more flash |",
             "| --- | --- | --- | --- | --- | --- | --- |"]

    def cell(r):
        if r is None:
            return "none"
        return (f"{name(r)}: {r['mean']:.3f}, {r['flash']:,} B, "
                f"{r['instructions']:,.0f} instructions")

    for dense, best, fast, peer in choices(rows):
        lines.append(f"| width {dense['width']} | {dense['flash']:,} "
                     f"| {dense['instructions']:,.0f} | {dense['mean']:.3f} "
                     f"| {cell(best)} | {cell(fast)} | {cell(peer)} |")
    return lines


def _loops(loops):
    layer, whole = loops["layer"], loops["whole"]
    per = layer["per_weight"]
    rows = [("export_c, hashing, float32 buckets", "hashing_float32",
             "4 B x compression"),
            ("export_c, hashing, int8 buckets", "hashing_int8", "1 B x compression"),
            ("export_c, hashing, int4 buckets", "hashing_int4",
             "0.5 B x compression"),
            ("export_c, blocks, float32 buckets", "blocks_float32",
             "4 B x compression"),
            ("export_c, blocks, int8 buckets", "blocks_int8", "1 B x compression"),
            ("export_c, blocks, int4 buckets", "blocks_int4", "0.5 B x compression"),
            ("hashes cached in a 16-bit table (bucket, sign), float", "cached",
             "2 B + 4 B x compression"),
            ("dense float multiply-add", "dense_float", "4 B")]
    lines = [f"## One layer's loop ({layer['n_in']} x {layer['n_out']}, "
             f"{layer['n_buckets']:,} buckets), instructions per virtual weight (-O2)",
             "", "| loop | instructions / weight | flash per virtual weight |",
             "| --- | --- | --- |"]
    lines += [f"| {text} | {per[k]:.1f} | {flash} |" for text, k, flash in rows]
    lines += ["", "## A whole 784-64-10 inference at 1/64, rows with no zero input",
              "", "Fashion-MNIST test rows through a folded StandardScaler (no "
              "input is zero, none is skipped); emlearn's dense 784-8-10 on the "
              "same rows. Built -O2; the hashed objects checked with "
              "`arm-none-eabi-nm -u` for double-precision helpers.", "",
              "| export | instructions / inference | per virtual weight "
              "| board check | double helpers |", "| --- | --- | --- | --- | --- |"]
    for label, r in whole.items():
        helpers = ", ".join(r.get("double_helpers", [])) or "none"
        check = f"{r['board_difference']:.1e}" if "board_difference" in r else "-"
        lines.append(f"| {label} | {r['instructions']:,.0f} | {r['per_weight']:.1f} "
                     f"| {check} | {helpers if 'double_helpers' in r else '-'} |")
    return lines + [""]


def report(tables, loops, command, fashion_rows, plot_path, names, mcu, board_rows,
           import_emlearn, missing, stored_command):
    lines = [
        "# On a Cortex-M4F: accuracy against flash and instructions",
        "",
        "Made by `benchmarks/mcu.py` (see its docstring for the protocol):",
        "",
        f"    {command}",
        "",
        f"arm-none-eabi-gcc {tool_version(['arm-none-eabi-gcc', '-dumpversion'])} "
        f"`{' '.join(mcu.CFLAGS)}` with `{mcu.SPEED}` for instructions and "
        f"`{mcu.SIZE}` for flash and RAM; "
        f"{tool_version(['qemu-system-arm', '--version'])} "
        f"`-M mps2-an386 -icount shift=0`; emlearn "
        f"{getattr(import_emlearn(), '__version__', '?')}; "
        f"Python {platform.python_version()}.",
        "",
        "Flash and RAM: bytes the model adds to a firmware, library code included "
        "(text + data; data + bss). Instructions: per inference, counted by QEMU "
        f"(`-icount`), mean over the first {board_rows} test rows and the 3 seeds; "
        "the hashed exports skip zero inputs, so on these images (many zero "
        "pixels) they run fewer than the virtual weights. Accuracy: mean ± std "
        "over seeds 0, 1, 2, in Python (int8: the dequantized model the export "
        "computes). Board check: largest absolute difference of the board's "
        "output to Python's (hashed: `predict_proba`, int8 of the dequantized "
        "model; emlearn: labels equal too).",
        "",
    ]
    for dataset in names:
        what = ("1,497 training / 300 test rows, a stratified split per seed"
                if dataset == "digits" else
                f"{fashion_rows:,} of the 60,000 training rows (drawn per seed), all "
                "10,000 test rows")
        rows = tables[dataset]
        lines += [f"## {names[dataset]} ({what})", ""] + _table(rows) + [""]
        lines += [f"### {names[dataset]}: the hashed export to pick per emlearn row",
                  ""] + _choices(rows) + [""]
        lines += [f"### {names[dataset]}: the most accurate model of each kind per "
                  "flash budget", "", "Dense int8 weights rounded after "
                  "training (one scale per layer); hashed int8 buckets either "
                  "rounded after training or trained as stored (`quantize=`, "
                  f"`{stored_command}`), int4 buckets trained as stored.", ""]
        lines += _budgets(rows, BUDGETS[dataset],
                          lambda budget, kind, d=dataset: missing(d, budget, kind))
        lines += [""]
        waiting = [b for b in BUDGETS[dataset] for k, _, _ in KINDS
                   if missing(dataset, b, k)]
        if waiting:
            lines += ["Cells marked \"not measured yet\" wait for the "
                      "configurations named in them; this completes them "
                      "(resumable), then `python benchmarks/mcu.py "
                      "--report-only` rewrites this page:", "",
                      f"    {stored_command} --datasets {dataset}", ""]
    lines += [f"![accuracy against flash and instructions]({plot_path})", ""]
    if loops:
        lines += _loops(loops)
    return "\n".join(lines)
