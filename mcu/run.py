"""Run an exported model on an emulated Cortex-M4F and compare it with Python.

    python mcu/run.py                        # a digits classifier, 1/8, float32
    python mcu/run.py --compression 1/64 --buckets int8 --hidden 64
    python mcu/run.py --method hashing_blocks --buckets int8
    python mcu/run.py --model model.pkl --data X.npy --rows 20

Exports the model with ``sk_hashednets.export_c``, compiles it with a driver
that holds the first ``--rows`` rows of the data for QEMU's ``mps2-an386``
board (Cortex-M4 with single-precision FPU; ``startup.c`` and
``mps2-an386.ld`` beside this file), runs it under
``qemu-system-arm -M mps2-an386 -semihosting -icount shift=0`` and compares
what the board prints with ``predict_proba`` / ``predict`` (int8, int4 buckets:
those of ``sk_hashednets.quantize(model, buckets)``, the model whose buckets
are the dequantized ``scale * q``). Prints the largest absolute
difference (for a regressor: on the standardized target, ``y /
target_scale_``), the flash and RAM the model adds to a firmware, and the
instructions per inference; exits with status 1 if the outputs differ by
more than ``--atol``.

Needs the Debian packages ``gcc-arm-none-eabi``, ``libnewlib-arm-none-eabi``
and ``qemu-system-arm``.

How things are measured:

* Outputs are printed with ``%.9g``, which reads back as the exact float.
* Flags: ``CFLAGS`` below (``-Wall -Wextra -Werror -Wdouble-promotion``),
  with ``-O2`` for the instruction counts and ``-Os`` for flash and RAM.
* Flash and RAM: ``arm-none-eabi-size`` of a firmware that calls the model
  once, minus the same firmware with the call left out (both linked with
  ``--gc-sections``, built ``-Os``): text + data is flash, data + bss is RAM
  (static RAM only: the stack is not counted). This includes the library
  code the model pulls in (``expf``, ``tanhf``, ...).
* Instructions: with ``-icount shift=0`` QEMU advances its virtual clock by
  1 ns per executed instruction, and the board's FPGAIO counter (at
  0x40028018) counts that clock at 25 MHz, so one tick is 40 instructions.
  The driver reads the counter around the loop over all rows. These are
  instructions executed by QEMU's model of the core, not cycles of a real
  Cortex-M4 (where loads, branches and divisions take more than one cycle).
"""

import argparse
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TOOLS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi",
         "arm-none-eabi-size": "binutils-arm-none-eabi (with gcc-arm-none-eabi)",
         "qemu-system-arm": "qemu-system-arm"}
CFLAGS = ["-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
          "-mfpu=fpv4-sp-d16", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion",
          "-ffunction-sections", "-fdata-sections"]
SPEED, SIZE = "-O2", "-Os"  # instructions are counted at -O2, flash taken at -Os
LDFLAGS = ["-nostartfiles", "-T", str(HERE / "mps2-an386.ld"), "--specs=rdimon.specs",
           "-Wl,--gc-sections"]
QEMU = ["qemu-system-arm", "-M", "mps2-an386", "-display", "none", "-monitor",
        "none", "-serial", "none", "-semihosting-config", "enable=on,target=native",
        "-icount", "shift=0"]
INSTRUCTIONS_PER_TICK = 40  # 1 ns per instruction, a 25 MHz counter

DRIVER = """\
#include <stdint.h>
#include <stdio.h>
{includes}

#define N_ROWS {n_rows}u
#define N_FEATURES {n_features}u
#define N_OUTPUTS {n_outputs}u
/* mps2-an386 FPGAIO counter: 25 MHz of QEMU's virtual clock */
#define COUNTER (*(volatile uint32_t *)0x40028018u)

static const float rows[N_ROWS][N_FEATURES] = {{
{rows}
}};
static float outputs[N_ROWS][N_OUTPUTS];

int main(void)
{{
    uint32_t r, k, start, ticks;

    start = COUNTER;
    for (r = 0; r < N_ROWS; ++r) {{
        const float *x = rows[r];
        float *out = outputs[r];
        {call};
    }}
    ticks = COUNTER - start;
    for (r = 0; r < N_ROWS; ++r)
        for (k = 0; k < N_OUTPUTS; ++k)
            printf("%.9g%c", (double)outputs[r][k], k + 1 < N_OUTPUTS ? ' ' : '\\n');
    printf("ticks %lu\\n", (unsigned long)ticks);
    return 0;
}}
"""

# The size probe: one call on an input the compiler cannot see, or none.
PROBE = """\
#include <stdint.h>
{includes}

volatile float probe_x[{n_features}];
volatile float probe_out[{n_outputs}];

int main(void)
{{
    float x_[{n_features}], out_[{n_outputs}];
    const float *x = x_;
    float *out = out_;
    uint32_t k;
    for (k = 0; k < {n_features}u; ++k)
        x_[k] = probe_x[k];
    for (k = 0; k < {n_outputs}u; ++k)
        out_[k] = 0.0f;
    {call};
    for (k = 0; k < {n_outputs}u; ++k)
        probe_out[k] = out[k];
    (void)x;
    return 0;
}}
"""


class ToolchainMissing(RuntimeError):
    pass


def missing_tools():
    """A sentence naming the missing programs and their Debian packages, or None."""
    missing = [f"{tool} (Debian package {package})" for tool, package in TOOLS.items()
               if shutil.which(tool) is None]
    if not missing:
        return None
    return ("the Cortex-M toolchain is missing: " + ", ".join(missing) + "; install "
            "with apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
            "qemu-system-arm")


class Target:
    """C sources of one model, with the C statement that runs it.

    ``call`` reads ``const float *x`` and writes ``float *out``; ``includes``
    are the ``#include`` lines it needs; ``sources`` are compiled beside the
    driver (all in ``directory``).
    """

    def __init__(self, directory, sources, includes, call, n_features, n_outputs,
                 cflags=()):
        self.directory = Path(directory)
        self.sources = [str(s) for s in sources]
        self.includes = includes
        self.call = call
        self.n_features, self.n_outputs = n_features, n_outputs
        self.cflags = list(cflags)

    def _link(self, name, text, sources, optimize):
        return link(self.directory, name, text, sources, [optimize, *self.cflags])

    def run(self, X):
        """Run every row of ``X`` on the board: (outputs, instructions per row)."""
        X = np.asarray(X, dtype=np.float32)
        rows = ",\n".join("    {" + ", ".join(_float(v) for v in row) + "}"
                          for row in X)
        elf = self._link("driver", DRIVER.format(
            includes=self.includes, n_rows=len(X), n_features=self.n_features,
            n_outputs=self.n_outputs, rows=rows, call=self.call), self.sources,
            SPEED)
        lines = run_elf(elf)
        if len(lines) != len(X) + 1:
            raise RuntimeError(f"expected {len(X) + 1} lines from the board, got:\n"
                               + "\n".join(lines))
        out = np.array([[np.float32(v) for v in line.split()] for line in lines[:-1]])
        ticks = int(lines[-1].split()[1])
        return out, ticks * INSTRUCTIONS_PER_TICK / len(X)

    def footprint(self):
        """(flash, RAM) bytes the model adds to a firmware that calls it once."""
        sizes = []
        for call, sources in ((self.call, self.sources), ("(void)0", [])):
            elf = self._link("probe", PROBE.format(
                includes=self.includes if sources else "", call=call,
                n_features=self.n_features, n_outputs=self.n_outputs), sources,
                SIZE)
            sizes.append(section_sizes(elf))
        (text, data, bss), (text0, data0, bss0) = sizes
        return text + data - text0 - data0, data + bss - data0 - bss0


def link(directory, name, text, sources=(), cflags=(SPEED,)):
    """Write ``text`` as ``<name>.c`` in ``directory`` and link it with the
    startup file and ``sources`` into ``<name>.elf``; any warning is an error.
    ``cflags`` follow CFLAGS (they hold the optimization level)."""
    directory = Path(directory)
    (directory / f"{name}.c").write_text(text)
    elf = directory / f"{name}.elf"
    command = ["arm-none-eabi-gcc", *CFLAGS, *cflags, "-I", str(directory), *LDFLAGS,
               "-o", str(elf), str(HERE / "startup.c"), str(directory / f"{name}.c"),
               *[str(s) for s in sources], "-lm"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or result.stderr:
        raise RuntimeError(f"arm-none-eabi-gcc failed on {name}.c:\n{result.stderr}")
    return elf


def run_elf(elf):
    """Run a linked program under QEMU: the lines it printed."""
    result = subprocess.run([*QEMU, "-kernel", str(elf)], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(
            f"the program did not run to its end under QEMU (exit status "
            f"{result.returncode}; status 1 follows a fault):\n{result.stdout}"
            f"{result.stderr}")
    return result.stdout.splitlines()


def undefined_symbols(source, directory):
    """What the object of one C file needs from elsewhere (``arm-none-eabi-nm
    -u``), compiled with CFLAGS at -O2: the check that an export uses no
    double-precision helper (``__aeabi_d*``, ``__aeabi_f2d``)."""
    obj = Path(directory) / (Path(source).stem + ".o")
    result = subprocess.run(["arm-none-eabi-gcc", *CFLAGS, SPEED, "-c", "-o",
                             str(obj), str(source)], capture_output=True, text=True)
    if result.returncode != 0 or result.stderr:
        raise RuntimeError(f"arm-none-eabi-gcc failed on {source}:\n{result.stderr}")
    out = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True,
                         text=True, check=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines() if line.strip())


def section_sizes(path):
    """(text, data, bss) bytes of an object or ELF file, by arm-none-eabi-size."""
    out = subprocess.run(["arm-none-eabi-size", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return tuple(int(v) for v in out.splitlines()[1].split()[:3])


def _float(v):
    """A C float literal that reads back as exactly this float32."""
    text = str(np.float32(v))
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


def hashed_target(model, directory, buckets="float32", name="model"):
    """Export ``model`` with ``export_c`` into ``directory``: its Target (the
    C source is ``target.sources[0]``)."""
    from sk_hashednets import export_c

    source, header = export_c(model, Path(directory) / f"{name}.c", name=name,
                              buckets=buckets)
    function = f"{name}_predict_proba" if hasattr(model, "predict_proba") else \
        f"{name}_predict"
    text = header.read_text()
    n_features, n_outputs = (
        int(re.search(rf"#define {name.upper()}_{key} (\d+)", text).group(1))
        for key in ("N_FEATURES", "N_OUTPUTS"))
    return Target(directory, [source], f'#include "{header.name}"',
                  f"{function}(x, out)", n_features, n_outputs)


def expected_outputs(model, X, buckets="float32"):
    """``predict_proba``, or ``predict`` as a 2-D array, of the model the
    export computes: for int8 and int4 buckets, the model with dequantized
    buckets."""
    if buckets != "float32":
        from sk_hashednets import quantize
        model = quantize(model, buckets)
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.predict(X).reshape(len(X), -1)


def board_difference(model, out, expected):
    """Largest absolute difference: on probabilities for a classifier, on the
    standardized target (``y / target_scale_``) for a regressor."""
    if not hasattr(model, "predict_proba"):
        scale = (model[-1] if hasattr(model, "steps") else model).target_scale_
        out, expected = out / scale, expected / scale
    return float(np.max(np.abs(out - expected)))


def _demo_model(args):
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning

    from sk_hashednets import HashedMLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16
    model = HashedMLPClassifier(hidden_layer_sizes=(args.hidden,),
                                compression=float(Fraction(args.compression)),
                                method=args.method, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:-args.rows], y[:-args.rows])
    print(f"digits (pixels / 16), {len(X) - args.rows} training rows; "
          f"HashedMLPClassifier(hidden_layer_sizes=({args.hidden},), "
          f"compression={args.compression}, method={args.method!r}, "
          "random_state=0)")
    return model, X[-args.rows:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a pickled fitted model (or "
                        "Pipeline) that export_c accepts; default: fit one on digits")
    parser.add_argument("--data", type=Path, help="with --model: a .npy file of rows")
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--compression", default="1/8")
    parser.add_argument("--method", choices=["hashing", "hashing_blocks"],
                        default="hashing")
    parser.add_argument("--buckets", choices=["float32", "int8", "int4"],
                        default="float32")
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args(argv)
    reason = missing_tools()
    if reason:
        sys.exit(f"error: {reason}")
    if (args.model is None) != (args.data is None):
        parser.error("--model and --data go together")
    if args.model is not None:
        with open(args.model, "rb") as f:
            model = pickle.load(f)
        X = np.load(args.data)[:args.rows]
    else:
        model, X = _demo_model(args)
    X = np.asarray(X, dtype=np.float32)
    expected = expected_outputs(model, X.astype(np.float64), args.buckets)

    with tempfile.TemporaryDirectory() as tmp:
        target = hashed_target(model, tmp, args.buckets)
        out, instructions = target.run(X)
        flash, ram = target.footprint()
    difference = board_difference(model, out, expected)
    print(f"mps2-an386 (Cortex-M4F, QEMU), {args.buckets} buckets, {len(X)} rows: "
          f"max absolute difference to Python {difference:.1e}; flash {flash:,} B "
          f"and RAM {ram:,} B (-Os); {instructions:,.0f} instructions per "
          f"inference (-O2)")
    return 0 if difference <= args.atol else 1


if __name__ == "__main__":
    sys.exit(main())
