"""export_c: the generated C compiles warning-free and reproduces the model,
for both exported methods and both bucket storages (heads:
test_export_c_heads.py; the stored arrays: test_export_c_source.py; bad
input: test_export_c_errors.py)."""

import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import SGD
from export_c_helpers import (
    FLAGS,
    KINDS,
    N_TEST,
    N_TRAIN,
    Compiled,
    assert_matches_model,
    compile_c,
    fit_quietly,
    fitted,
    make_problems,
    needs_cc,
)
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, export_c, quantize
from sk_hashednets._quantize import pack_int4, quantize_int8, quantize_layer

METHODS = ["hashing", "hashing_blocks"]


@pytest.fixture(scope="session")
def problems():
    return make_problems()


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
    assert_matches_model(model, X_test, Compiled(model, tmp_path)(X_test))


@needs_cc
@pytest.mark.parametrize("hidden", [(40, 24), (150,)], ids=["one-block", "blocks"])
@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
@pytest.mark.parametrize("kind", KINDS)
def test_block_method_matches_model(problems, tmp_path, kind, compression, hidden):
    # (150,): two full blocks of 64 and a partial one; at 1/64 a block's run
    # is longer than the layer's buckets and wraps around more than once
    model, X_test = fitted(problems, kind, activation="tanh", method="hashing_blocks",
                           compression=compression, hidden_layer_sizes=hidden)
    predict = Compiled(model, tmp_path)
    assert "_BLOCK 64u" in predict.source.read_text()
    assert_matches_model(model, X_test, predict(X_test))


@needs_cc
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", KINDS)
def test_c_matches_float32_model(problems, tmp_path, kind, method):
    model, X_test = fitted(problems, kind, dtype=np.float32, activation="tanh",
                           compression=1 / 8, method=method)
    assert model.buckets_[0].dtype == np.float32
    assert_matches_model(model, X_test, Compiled(model, tmp_path)(X_test))


@needs_cc
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["binary", "regressor"])
def test_network_without_hidden_layer(problems, tmp_path, kind, method):
    model, X_test = fitted(problems, kind, hidden_layer_sizes=(), compression=1 / 4,
                           method=method)
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
    second, _ = fitted(problems, "binary", compression=1 / 64,
                       method="hashing_blocks")
    export_c(first, tmp_path / "first.c", name="first")
    export_c(second, tmp_path / "second.c", name="second", buckets="int8")
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "first.h"\n#include "second.h"\n'
        "int main(void)\n{\n"
        "    float x[FIRST_N_FEATURES] = {0};\n"
        "    float a[FIRST_N_OUTPUTS], b[SECOND_N_OUTPUTS];\n"
        "    x[0] = 1.0f;\n"
        "    first_predict_proba(x, a);\n    second_predict_proba(x, b);\n"
        '    printf("%.9g %.9g\\n", (double)a[0], (double)b[1]);\n    return 0;\n}\n')
    compile_c(["-o", "main", "main.c", "first.c", "second.c", "-lm"], tmp_path)
    printed = subprocess.run([str(tmp_path / "main")], capture_output=True,
                             text=True, check=True).stdout.split()
    x = np.zeros((1, 20))
    x[0, 0] = 1
    np.testing.assert_allclose([float(v) for v in printed],
                               [first.predict_proba(x)[0, 0],
                                quantize(second, "int8").predict_proba(x)[0, 1]],
                               atol=1e-5)


# ---------------------------------------------------------------------------
# int8 buckets
# ---------------------------------------------------------------------------
@needs_cc
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
def test_int8_buckets(tmp_path, compression, method):
    X, y = load_digits(return_X_y=True)
    X = X / 16  # no scaler: the many zero pixels are skipped by the C loop
    model = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(128,),
                                            compression=compression, max_iter=40,
                                            method=method, random_state=0),
                        X[:-N_TEST], y[:-N_TEST])
    X_test = X[-N_TEST:].astype(np.float32)
    predict = Compiled(model, tmp_path, name="digits", buckets="int8")
    text = predict.source.read_text()
    reference = quantize(model, "int8")
    for idx, w in enumerate(model.buckets_):
        # the documented recipe: s = float32(max|w| / 127), q = rint(w / s)
        s = np.float32(np.abs(w).max() / 127)
        q = np.rint(w / np.float64(s)).astype(np.int8)
        assert np.abs(q).max() == 127
        np.testing.assert_array_equal(quantize_int8(w)[0], q)
        assert re.search(rf"static const int8_t digits_w{idx}\[{q.size}\]", text)
        np.testing.assert_array_equal(reference[-1].buckets_[idx]
                                      if hasattr(reference, "steps") else
                                      reference.buckets_[idx], np.float64(s) * q)
    # the C code computes the model whose buckets are s * q ...
    out = predict(X_test)
    assert_matches_model(model, X_test, out, reference=reference)
    # ... which stays close to the float model
    assert np.abs(out - model.predict_proba(X_test)).max() < 0.05
    assert np.mean(out.argmax(1) == model.predict(X_test)) >= 0.99


@needs_cc
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["multiclass", "regressor"])
def test_int4_buckets(problems, tmp_path, kind, method):
    model, X_test = fitted(problems, kind, compression=1 / 4, method=method)
    predict = Compiled(model, tmp_path, name="m", buckets="int4")
    text = predict.source.read_text()
    for idx, w in enumerate(model.buckets_):
        q, _ = quantize_layer(w, "int4")
        assert np.abs(q).max() == 7
        packed = pack_int4(q)  # two buckets a byte, low nibble first
        body = re.search(rf"static const uint8_t m_w{idx}\[{packed.size}\] = "
                         r"\{(.*?)\};", text, re.DOTALL).group(1)
        np.testing.assert_array_equal([int(v) for v in body.split(",")], packed)
    assert "int4 buckets, two a byte" in predict.header.read_text()
    # the C code computes the model whose buckets are the int4 levels times
    # their scale
    assert_matches_model(model, X_test, predict(X_test),
                         reference=quantize(model, "int4"))


@needs_cc
@pytest.mark.parametrize("buckets", ["int8", "int4"])
def test_a_model_trained_as_stored_is_what_the_board_computes(problems, tmp_path,
                                                             buckets):
    model, X_test = fitted(problems, "multiclass", compression=1 / 8,
                           method="hashing_blocks", quantize=buckets)
    predict = Compiled(model, tmp_path, buckets=buckets)
    assert_matches_model(model, X_test, predict(X_test))  # the model itself
    # exported at another precision it still works, and says what it holds
    other = Compiled(model, tmp_path, name="other", buckets="float32")
    assert "float32 buckets and biases" in other.header.read_text()
    assert_matches_model(model, X_test, other(X_test))


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
