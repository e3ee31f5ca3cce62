"""export_c: what the source file stores (the model's own parameters, nothing
of a layer's virtual size), its object's size, and that it compiles under
strict warnings with no double-precision arithmetic."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from export_c_helpers import (
    compile_c,
    fitted,
    make_problems,
    needs_cc,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import export_c

ARRAY = re.compile(r"static const (float|double|u?int8_t) (\w+)\[(\d+)\] = \{(.*?)\};",
                   re.DOTALL)


@pytest.fixture(scope="session")
def problems():
    return make_problems()


def c_arrays(text):
    """{name: (ctype, values as strings)} of every static const array."""
    arrays = {}
    for ctype, name, size, body in ARRAY.findall(text):
        values = [v.strip() for v in body.replace("\n", " ").split(",")]
        assert len(values) == int(size), name
        arrays[name] = (ctype, values)
    return arrays


def c_float(literal):
    assert literal.endswith("f"), literal
    return np.float32(literal[:-1])


@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
@pytest.mark.parametrize("kind", ["multiclass", "regressor"])
def test_arrays_are_the_stored_parameters(problems, tmp_path, kind, compression):
    model, _ = fitted(problems, kind, compression=compression)
    source, header = export_c(model, tmp_path / "m.c", name="m")
    text = source.read_text()
    arrays = c_arrays(text)
    units = [model.n_features_in_] + [len(b) for b in model.intercepts_]
    virtual = {a * b for a, b in zip(units[:-1], units[1:])}

    # every array is accounted for: buckets, biases, target scaling
    expected = {f"m_w{idx}": w.size for idx, w in enumerate(model.buckets_)}
    expected.update({f"m_b{idx}": b.size for idx, b in enumerate(model.intercepts_)})
    if kind == "regressor":
        expected.update(m_y_mean=1, m_y_scale=1)
    assert {n: len(v) for n, (_, v) in arrays.items()} == expected
    stored = [len(v) for n, (_, v) in arrays.items() if not n.startswith("m_y_")]
    assert sum(stored) == model.n_stored_params_
    for idx, (w, b) in enumerate(zip(model.buckets_, model.intercepts_)):
        ctype, values = arrays[f"m_w{idx}"]
        # no bucket array is (or is as large as) a layer's virtual matrix
        assert ctype == "float" and len(values) < units[idx] * units[idx + 1]
        assert len(values) not in virtual
        # every literal reads back as exactly the float32 bucket
        np.testing.assert_array_equal([c_float(v) for v in values],
                                      w.astype(np.float32))
        np.testing.assert_array_equal([c_float(v) for v in arrays[f"m_b{idx}"][1]],
                                      b.astype(np.float32))
    for seed_h, seed_xi in model.hash_seeds_:
        assert f"UINT32_C(0x{seed_h:08X}), UINT32_C(0x{seed_xi:08X})" in text
    # the scratch buffer holds the widest pair of consecutive layers
    assert "#define M_SCRATCH_SIZE 64\n" in text  # 40 + 24
    assert "#define M_SCRATCH_SIZE 64\n" in header.read_text()
    assert "static float m_scratch[M_SCRATCH_SIZE];" in text
    assert "malloc" not in text and "#include <math.h>\n#include <stdint.h>\n" in text
    # the export is deterministic
    export_c(model, tmp_path / "again.c", name="m")
    assert (tmp_path / "again.c").read_text() == text


def size_of_object(path):
    """(text, data) from binutils' ``size``, or None when unavailable."""
    tool = shutil.which("size")
    if tool is None:
        return None
    lines = subprocess.run([tool, str(path)], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    if len(lines) != 2 or lines[0].split()[:2] != ["text", "data"]:
        return None
    return tuple(int(v) for v in lines[1].split()[:2])


@needs_cc
@pytest.mark.parametrize("buckets, bytes_per_bucket", [("float32", 4), ("int8", 1),
                                                       ("int4", 0.5)])
def test_object_size_is_the_stored_parameters_plus_code(problems, tmp_path, buckets,
                                                        bytes_per_bucket):
    model, _ = fitted(problems, "multiclass", hidden_layer_sizes=(256,),
                      compression=1 / 8, max_iter=5)
    export_c(model, tmp_path / "m.c", name="m", buckets=buckets)
    compile_c(["-c", "m.c"], tmp_path)
    sizes = size_of_object(tmp_path / "m.o")
    if sizes is None:
        pytest.skip("binutils' size is not available")
    n_buckets = sum(w.size for w in model.buckets_)
    n_biases = sum(b.size for b in model.intercepts_)
    arrays = bytes_per_bucket * n_buckets + 4 * n_biases
    assert arrays <= sum(sizes) <= arrays + 4096


STRICT = ["-pedantic", "-Wconversion", "-Wdouble-promotion", "-Wshadow",
          "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wcast-qual", "-Wundef",
          "-c"]


def undefined_symbols(path):
    """The symbols an object file needs from elsewhere (binutils' nm -u)."""
    tool = shutil.which("nm")
    if tool is None:
        pytest.skip("binutils' nm is not available")
    out = subprocess.run([tool, "-u", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@needs_cc
@pytest.mark.parametrize("buckets", ["float32", "int8", "int4"])
@pytest.mark.parametrize("method", ["hashing", "hashing_blocks"])
@pytest.mark.parametrize("kind, activation", [("binary", "logistic"),
                                              ("multiclass", "tanh"),
                                              ("counts", "relu")])
def test_strict_warnings_and_single_precision(problems, tmp_path, kind, activation,
                                              method, buckets):
    params = {"loss": "poisson"} if kind == "counts" else {}
    model, _ = fitted(problems, kind, activation=activation, method=method,
                      max_iter=5, **params)
    export_c(make_pipeline(StandardScaler().fit(problems[kind][1]), model),
             tmp_path / "m.c", name="m", buckets=buckets)
    # -Wdouble-promotion: no float is widened to double anywhere
    compile_c([*STRICT, "m.c"], tmp_path)
    text = (tmp_path / "m.c").read_text()
    assert "double" not in text
    # the object calls single-precision functions of <math.h> only
    needed = undefined_symbols(tmp_path / "m.o")
    assert needed & {"exp", "tanh", "__extendsfdf2", "__adddf3", "__muldf3"} == set()
    if activation != "relu" or kind in ("binary", "counts"):
        assert "expf" in needed


# ---------------------------------------------------------------------------
# int8 buckets
# ---------------------------------------------------------------------------


@needs_cc
def test_int4_halves_the_bytes_of_int8(problems, tmp_path):
    model, _ = fitted(problems, "multiclass", hidden_layer_sizes=(2048,),
                      compression=1 / 2, max_iter=1)
    sizes = {}
    for buckets in ("int8", "int4"):
        export_c(model, tmp_path / f"{buckets}.c", name="m", buckets=buckets)
        compile_c(["-c", f"{buckets}.c"], tmp_path)
        sizes[buckets] = size_of_object(tmp_path / f"{buckets}.o")
        if sizes[buckets] is None:
            pytest.skip("binutils' size is not available")
    n_buckets = sum(w.size for w in model.buckets_)
    saved = sum(sizes["int8"]) - sum(sizes["int4"])
    assert n_buckets > 20_000
    assert abs(saved - n_buckets / 2) <= 512  # the rest is code
