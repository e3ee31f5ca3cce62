"""export_c: the generated C compiles warning-free and reproduces the model."""

import copy
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import SGD
from sklearn.datasets import (
    load_digits,
    make_classification,
    make_friedman1,
    make_multilabel_classification,
)
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, export_c


def _find_compiler():
    for candidate in (os.environ.get("CC"), "gcc", "cc", "clang"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


CC = _find_compiler()
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"]
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler found")

DRIVER = """\
#include <stdio.h>
#include "{name}.h"

/* Reads rows of float32 features from stdin, writes rows of float32 outputs. */
int main(void)
{{
    float x[{NAME}_N_FEATURES], out[{NAME}_N_OUTPUTS];
    while (fread(x, sizeof(float), {NAME}_N_FEATURES, stdin) == {NAME}_N_FEATURES) {{
        {function}(x, out);
        if (fwrite(out, sizeof(float), {NAME}_N_OUTPUTS, stdout) != {NAME}_N_OUTPUTS)
            return 1;
    }}
    return 0;
}}
"""


def compile_c(args, cwd):
    """Compile with FLAGS; any warning or note fails the test."""
    result = subprocess.run([CC, *FLAGS, *args], cwd=cwd, capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


class Compiled:
    """An exported model compiled with a driver program."""

    def __init__(self, model, directory, name="model", **options):
        self.source, self.header = export_c(model, Path(directory) / f"{name}.c",
                                            name=name, **options)
        function = (f"{name}_predict_proba" if hasattr(model, "predict_proba")
                    else f"{name}_predict")
        (Path(directory) / "driver.c").write_text(
            DRIVER.format(name=name, NAME=name.upper(), function=function))
        self.program = Path(directory) / "driver"
        compile_c(["-o", "driver", "driver.c", self.source.name, "-lm"], directory)

    def __call__(self, X):
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = subprocess.run([str(self.program)], input=X.tobytes(),
                             capture_output=True, check=True).stdout
        return np.frombuffer(out, dtype=np.float32).reshape(len(X), -1)


def final_estimator(model):
    return model[-1] if hasattr(model, "steps") else model


def outputs(model, X):
    """predict_proba, or predict as a 2-D array."""
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.predict(X).reshape(len(X), -1)


def stored_parameters_model(model, buckets=None):
    """A float64 copy of the model holding exactly what the C file stores.

    The buckets (unless given, as float64) and the biases are rounded to
    float32, then evaluated in float64: the model the C code computes, up to
    the rounding of its float outputs.
    """
    model = copy.deepcopy(model)
    est = final_estimator(model)
    if buckets is None:
        buckets = [w.astype(np.float32) for w in est.buckets_]
    est.buckets_ = [np.asarray(w, np.float64) for w in buckets]
    est.intercepts_ = [b.astype(np.float32).astype(np.float64) for b in est.intercepts_]
    return model


# The C outputs are floats: below float32's smallest normal number they cannot
# carry a relative precision, so that is the only absolute tolerance.
F32_TINY = float(np.finfo(np.float32).tiny)


def assert_matches_model(model, X, c_out, reference=None):
    """The C output of 200 rows against the model.

    1. Against ``predict_proba`` / ``predict``: 1e-5 relative. One documented
       exception: the first column of a float32 binary classifier is ``1 - p``
       computed in float32 by ``predict_proba`` itself, which has no relative
       precision once p is close to 1 (it is exactly 0 from p > 1 - 2**-25).
       The C code performs the same float32 subtraction, so that column is
       checked as exactly ``1 - out[:, 1]``.
    2. Against ``reference`` (by default the exported float32 parameters
       evaluated in float64): 1e-6 relative. This is the accuracy of the C
       arithmetic itself, free of the rounding that float32 buckets (for a
       float64 model) or float32 arithmetic (for a float32 model) put into
       ``predict_proba``.
    """
    est = final_estimator(model)
    expected = outputs(model, X)
    assert c_out.shape == expected.shape
    columns = slice(None)
    binary = getattr(est, "_y_type", None) == "binary"
    if binary and est.buckets_[0].dtype == np.float32:
        columns = slice(1, None)
        np.testing.assert_array_equal(c_out[:, 0], np.float32(1) - c_out[:, 1])
        np.testing.assert_array_equal(expected[:, 0], np.float32(1) - expected[:, 1])
    np.testing.assert_allclose(c_out[:, columns], expected[:, columns], rtol=1e-5,
                               atol=F32_TINY)
    if reference is None:
        reference = stored_parameters_model(model)
    np.testing.assert_allclose(c_out[:, columns],
                               outputs(reference, X.astype(np.float64))[:, columns],
                               rtol=1e-6, atol=F32_TINY)


# ---------------------------------------------------------------------------
# data and models
# ---------------------------------------------------------------------------
N_TRAIN, N_TEST = 400, 200


def _standardized(X):
    return (X - X.mean(0)) / X.std(0)


@pytest.fixture(scope="session")
def problems():
    X_bin, y_bin = make_classification(N_TRAIN + N_TEST, 20, n_informative=8,
                                       random_state=0)
    X_mc, y_mc = make_classification(N_TRAIN + N_TEST, 20, n_informative=8,
                                     n_classes=4, random_state=1)
    X_ml, y_ml = make_multilabel_classification(N_TRAIN + N_TEST, 20, n_classes=3,
                                                random_state=2)
    X_reg, y_reg = make_friedman1(N_TRAIN + N_TEST, n_features=10, noise=0.5,
                                  random_state=3)
    return {
        "binary": (HashedMLPClassifier, _standardized(X_bin), y_bin),
        "multiclass": (HashedMLPClassifier, _standardized(X_mc), y_mc),
        "multilabel": (HashedMLPClassifier, _standardized(X_ml), y_ml),
        "regressor": (HashedMLPRegressor, _standardized(X_reg), y_reg),
    }


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "The gradient norm exceeded")
        return model.fit(X, y)


def fitted(problems, kind, dtype=np.float64, **params):
    cls, X, y = problems[kind]
    params = {"hidden_layer_sizes": (40, 24), "max_iter": 60, "random_state": 0,
              **params}
    X = X.astype(dtype)
    model = fit_quietly(cls(**params), X[:N_TRAIN], y[:N_TRAIN])
    return model, X[N_TRAIN:].astype(np.float32)


KINDS = ["binary", "multiclass", "multilabel", "regressor"]


# ---------------------------------------------------------------------------
# the C output reproduces predict_proba / predict
# ---------------------------------------------------------------------------
@needs_cc
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
@pytest.mark.parametrize("kind", KINDS)
def test_c_matches_model(problems, tmp_path, kind, compression, activation):
    model, X_test = fitted(problems, kind, activation=activation,
                           compression=compression)
    predict = Compiled(model, tmp_path)
    assert_matches_model(model, X_test, predict(X_test))


@needs_cc
@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
@pytest.mark.parametrize("kind", KINDS)
def test_c_matches_float32_model(problems, tmp_path, kind, compression):
    model, X_test = fitted(problems, kind, dtype=np.float32, activation="tanh",
                           compression=compression)
    assert model.buckets_[0].dtype == np.float32
    predict = Compiled(model, tmp_path)
    assert_matches_model(model, X_test, predict(X_test))


@needs_cc
@pytest.mark.parametrize("kind", ["binary", "regressor"])
def test_network_without_hidden_layer(problems, tmp_path, kind):
    model, X_test = fitted(problems, kind, hidden_layer_sizes=(), compression=1 / 4)
    assert len(model.buckets_) == 1
    assert_matches_model(model, X_test, Compiled(model, tmp_path)(X_test))


@needs_cc
@pytest.mark.parametrize("scaler", [
    StandardScaler(), StandardScaler(with_mean=False), StandardScaler(with_std=False)
], ids=["mean-and-scale", "scale-only", "mean-only"])
def test_pipeline_folds_standard_scaler(tmp_path, scaler):
    X, y = load_digits(return_X_y=True)  # raw pixels 0..16; some are constant
    model = fit_quietly(make_pipeline(scaler, HashedMLPClassifier(
        hidden_layer_sizes=(64,), max_iter=30, random_state=0)), X[:-N_TEST],
        y[:-N_TEST])
    predict = Compiled(model, tmp_path)
    text = predict.source.read_text()
    assert ("_x_mean[" in text) == scaler.with_mean
    assert ("_x_scale[" in text) == scaler.with_std
    X_test = X[-N_TEST:].astype(np.float32)
    assert_matches_model(model, X_test, predict(X_test))


@needs_cc
def test_pipeline_multi_output_regressor(tmp_path):
    X, y = make_friedman1(N_TRAIN + N_TEST, n_features=8, random_state=0)
    X = 100 * X + 50  # far from standardized: the folded scaler must act
    Y = np.c_[y, 3 * y - 40]
    model = fit_quietly(make_pipeline(StandardScaler(), HashedMLPRegressor(**SGD,
        hidden_layer_sizes=(32,), activation="tanh", max_iter=60, random_state=0)),
        X[:N_TRAIN], Y[:N_TRAIN])
    X_test = X[N_TRAIN:].astype(np.float32)
    out = Compiled(model, tmp_path)(X_test)
    assert out.shape == (N_TEST, 2)
    assert_matches_model(model, X_test, out)


@needs_cc
def test_class_labels_cannot_break_the_source(problems, tmp_path):
    _, X, y = problems["binary"]
    labels = np.array(["end */ of comment", "trigraph ??/"])[y]
    model = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(8,), max_iter=5,
                                            random_state=0),
                        X[:N_TRAIN], labels[:N_TRAIN])
    X_test = X[N_TRAIN:].astype(np.float32)
    predict = Compiled(model, tmp_path)
    text = predict.source.read_text()
    assert "end * / of" in text and "trigraph ? ?/" in text
    assert_matches_model(model, X_test, predict(X_test))


@needs_cc
def test_two_models_link_into_one_program(problems, tmp_path):
    first, X_test = fitted(problems, "multiclass", compression=1 / 8)
    second, _ = fitted(problems, "binary", compression=1 / 64)
    export_c(first, tmp_path / "first.c", name="first")
    export_c(second, tmp_path / "second.c", name="second")
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "first.h"\n#include "second.h"\n'
        "int main(void)\n{\n"
        "    float x[FIRST_N_FEATURES] = {0};\n"
        "    float a[FIRST_N_OUTPUTS], b[SECOND_N_OUTPUTS];\n"
        "    first_predict_proba(x, a);\n    second_predict_proba(x, b);\n"
        '    printf("%.9g %.9g\\n", (double)a[0], (double)b[1]);\n    return 0;\n}\n')
    compile_c(["-o", "main", "main.c", "first.c", "second.c", "-lm"], tmp_path)
    printed = subprocess.run([str(tmp_path / "main")], capture_output=True,
                             text=True, check=True).stdout.split()
    zero = np.zeros((1, 20))
    np.testing.assert_allclose([float(v) for v in printed],
                               [first.predict_proba(zero)[0, 0],
                                second.predict_proba(zero)[0, 1]], rtol=1e-5)


# ---------------------------------------------------------------------------
# what the source file stores
# ---------------------------------------------------------------------------
ARRAY = re.compile(r"static const (float|double|int8_t) (\w+)\[(\d+)\] = \{(.*?)\};",
                   re.DOTALL)


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
@pytest.mark.parametrize("buckets, bytes_per_bucket", [("float32", 4), ("int8", 1)])
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


@needs_cc
def test_strict_warnings_and_pedantic_c99(problems, tmp_path):
    model, _ = fitted(problems, "binary", activation="logistic")
    export_c(make_pipeline(StandardScaler().fit(problems["binary"][1]), model),
             tmp_path / "m.c", name="m", buckets="int8")
    strict = ["-pedantic", "-Wconversion", "-Wdouble-promotion", "-Wshadow",
              "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wcast-qual",
              "-Wundef", "-c"]
    compile_c([*strict, "m.c"], tmp_path)


# ---------------------------------------------------------------------------
# int8 buckets
# ---------------------------------------------------------------------------
def quantized(w):
    """The documented recipe: s = max|w| / 127, q = rint(w / s)."""
    s = np.abs(w).max() / 127
    return np.rint(w / s).astype(np.int8), s


@needs_cc
@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
def test_int8_buckets(tmp_path, compression):
    X, y = load_digits(return_X_y=True)
    X = X / 16  # no scaler: the many zero pixels are skipped by the C loop
    model = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(128,),
                                            compression=compression, max_iter=40,
                                            random_state=0), X[:-N_TEST], y[:-N_TEST])
    X_test = X[-N_TEST:].astype(np.float32)
    predict = Compiled(model, tmp_path, name="digits", buckets="int8")
    arrays = c_arrays(predict.source.read_text())

    levels = []
    for idx, w in enumerate(model.buckets_):
        q, s = quantized(w)
        ctype, values = arrays[f"digits_w{idx}"]
        assert ctype == "int8_t"
        np.testing.assert_array_equal([int(v) for v in values], q)
        assert np.abs(q).max() == 127
        levels.append(s * q.astype(np.float64))
    # the C code computes the model whose buckets are s * q (to 1e-6) ...
    out = predict(X_test)
    dequantized = stored_parameters_model(model, levels)
    assert_matches_model(dequantized, X_test, out, reference=dequantized)
    # ... which stays close to the float model
    assert np.abs(out - model.predict_proba(X_test)).max() < 0.05
    assert np.mean(out.argmax(1) == model.predict(X_test)) >= 0.99


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_model(problems):
    return fitted(problems, "binary", hidden_layer_sizes=(8,), max_iter=5)[0]


def test_pipeline_with_other_preprocessing_is_rejected(small_model, problems,
                                                       tmp_path):
    _, X, _ = problems["binary"]
    pipe = make_pipeline(PCA(20).fit(X), small_model)
    with pytest.raises(ValueError, match=re.escape(
            "export_c can fold only a single StandardScaler placed before the model "
            "into the C code; this Pipeline has 'pca' (PCA).")):
        export_c(pipe, tmp_path / "m.c")
    pipe = make_pipeline(StandardScaler().fit(X), PCA(20).fit(X), small_model)
    with pytest.raises(ValueError, match=re.escape(
            "this Pipeline has 'standardscaler' (StandardScaler), 'pca' (PCA).")):
        export_c(pipe, tmp_path / "m.c")
    assert not (tmp_path / "m.c").exists()


@pytest.mark.parametrize("method", ["hashing_blocks", "low_rank", "random_edges",
                                    "shrunk"])
@pytest.mark.parametrize("is_fitted", [True, False])
def test_other_methods_are_rejected(problems, tmp_path, method, is_fitted):
    if is_fitted:
        model = fitted(problems, "binary", hidden_layer_sizes=(8,), max_iter=2,
                       method=method)[0]
    else:
        model = HashedMLPClassifier(method=method)
    with pytest.raises(ValueError, match=re.escape(
            "export_c exports hashed layers only (method='hashing'); this model "
            f"uses method={method!r}.")):
        export_c(make_pipeline(StandardScaler(), model), tmp_path / "m.c")
    assert not (tmp_path / "m.c").exists()


def test_the_fitted_method_decides(problems, small_model, tmp_path):
    # a hashed model whose parameter changed after fit still exports ...
    export_c(copy.deepcopy(small_model).set_params(method="low_rank"),
             tmp_path / "m.c")
    # ... and a low-rank model does not, whatever its parameter says now
    low_rank = fitted(problems, "binary", hidden_layer_sizes=(8,), max_iter=2,
                      method="low_rank")[0]
    with pytest.raises(ValueError, match="uses method='low_rank'"):
        export_c(low_rank.set_params(method="hashing"), tmp_path / "m.c")


def test_unfitted_and_foreign_models_are_rejected(small_model, tmp_path):
    with pytest.raises(NotFittedError):
        export_c(HashedMLPClassifier(), tmp_path / "m.c")
    with pytest.raises(NotFittedError):
        export_c(make_pipeline(StandardScaler(), HashedMLPRegressor()),
                 tmp_path / "m.c")
    with pytest.raises(NotFittedError, match="StandardScaler"):
        export_c(make_pipeline(StandardScaler(), small_model), tmp_path / "m.c")
    with pytest.raises(TypeError, match="got LogisticRegression"):
        export_c(LogisticRegression(), tmp_path / "m.c")


@pytest.mark.parametrize("name", ["1model", "my-model", "int", "", "modèle", None])
def test_bad_name(small_model, tmp_path, name):
    with pytest.raises(ValueError, match="name must be a valid C identifier"):
        export_c(small_model, tmp_path / "m.c", name=name)


def test_bad_path_and_options(small_model, tmp_path):
    with pytest.raises(ValueError, match=re.escape(
            "path must name a C source file ending with '.c'")):
        export_c(small_model, tmp_path / "m.h")
    with pytest.raises(ValueError, match=re.escape(
            "buckets must be 'float32' or 'int8', got 'int4'.")):
        export_c(small_model, tmp_path / "m.c", buckets="int4")


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e39])  # 1e39 overflows float32
def test_non_finite_parameters_are_rejected(small_model, tmp_path, value):
    model = copy.deepcopy(small_model)
    model.buckets_[1] = model.buckets_[1].copy()
    model.buckets_[1][0] = value
    with pytest.raises(ValueError, match="Layer 1 of the model has buckets or biases "
                       "that are not finite in float32"):
        export_c(model, tmp_path / "m.c")


# ---------------------------------------------------------------------------
# the user guide's example
# ---------------------------------------------------------------------------
def guide_section():
    """The example of the user guide's page on export (it was the README's)."""
    page = Path(__file__).parents[1] / "docs" / "user_guide" / "export_c.md"
    return page.read_text()


@pytest.mark.slow
@needs_cc
def test_guide_example(tmp_path, monkeypatch):
    section = guide_section()
    python = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    c_code = re.search(r"```c\n(.*?)```", section, re.DOTALL).group(1)
    shell = re.search(r"```bash\n(gcc .*?)\n", section).group(1)
    assert shell.startswith("gcc " + " ".join(FLAGS))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(python, "export_c.md", "exec"), namespace)
    expected = namespace["search"].best_estimator_.predict_proba(namespace["X"][-1:])[0]
    (tmp_path / "main.c").write_text(c_code)
    compile_c(shell.split()[len(FLAGS) + 1:], tmp_path)
    with open(tmp_path / "digit.txt") as digit:
        printed = subprocess.run(["./digits"], cwd=tmp_path, stdin=digit,
                                 capture_output=True, text=True, check=True).stdout
    label, probability = re.fullmatch(r"class (\d), probability (\d\.\d{4})\n",
                                      printed).groups()
    assert int(label) == expected.argmax()
    assert float(probability) == pytest.approx(expected.max(), abs=5e-5)
