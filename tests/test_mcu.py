"""The exported C runs on an emulated Cortex-M4F (QEMU's mps2-an386 board) and
prints what predict_proba / predict return, to 1e-5 absolute (int8 and int4
buckets: those of sk_hashednets.quantize(model, buckets)), for both exported
methods; its object uses no double-precision helper."""

import importlib.util
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor

_spec = importlib.util.spec_from_file_location(
    "mcu_run", Path(__file__).resolve().parents[1] / "mcu" / "run.py")
mcu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mcu)

MISSING = mcu.missing_tools()
needs_toolchain = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
N_TEST = 8


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def classifier(compression, method="hashing"):
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16
    model = fit_quietly(HashedMLPClassifier(hidden_layer_sizes=(48,),
                                            compression=compression, max_iter=40,
                                            method=method, random_state=0),
                        X[N_TEST:], y[N_TEST:600])
    return model, X[:N_TEST]


def regressor(compression, method="hashing"):
    X, y = make_friedman1(300, n_features=10, noise=0.5, random_state=0)
    Y = np.c_[y, X[:, 0] * X[:, 1]]  # two outputs
    model = fit_quietly(HashedMLPRegressor(hidden_layer_sizes=(32, 16),
                                           compression=compression, max_iter=60,
                                           method=method, random_state=0),
                        X[N_TEST:], Y[N_TEST:])
    return model, X[:N_TEST]


@needs_toolchain
@pytest.mark.parametrize("buckets", ["float32", "int8", "int4"])
@pytest.mark.parametrize("method", ["hashing", "hashing_blocks"])
@pytest.mark.parametrize("make", [classifier, regressor])
@pytest.mark.parametrize("compression", [1 / 8, 1 / 64])
def test_board_prints_what_python_predicts(make, compression, method, buckets,
                                           tmp_path):
    model, X = make(compression, method)
    X = X.astype(np.float32)
    target = mcu.hashed_target(model, tmp_path, buckets)
    out, instructions = target.run(X)
    expected = mcu.expected_outputs(model, X.astype(np.float64), buckets)
    assert out.shape == expected.shape
    assert mcu.board_difference(model, out, expected) <= 1e-5
    assert np.ptp(expected, axis=0).min() > 0  # the rows give different outputs
    assert instructions > 0
    # single precision: no software double arithmetic in the object
    needed = mcu.undefined_symbols(target.sources[0], tmp_path)
    assert not [s for s in needed if s.startswith(("__aeabi_d", "__aeabi_f2d"))]
    assert "expf" in needed or make is regressor


@needs_toolchain
def test_footprint_follows_the_buckets(tmp_path):
    sizes = {}
    for compression in (1 / 8, 1 / 64):
        model, _ = classifier(compression)
        directory = tmp_path / str(len(model.buckets_[0]))
        directory.mkdir()
        sizes[compression] = mcu.hashed_target(model, directory).footprint()
        stored = model.n_stored_params_
        flash, ram = sizes[compression]
        assert flash > 4 * stored  # the parameters are in flash, as float32
        assert ram >= 4 * 48  # the scratch buffer: at least one layer of floats
    saved = 4 * (classifier(1 / 8)[0].n_stored_params_
                 - classifier(1 / 64)[0].n_stored_params_)
    assert sizes[1 / 8][0] - sizes[1 / 64][0] == pytest.approx(saved, abs=64)
    assert sizes[1 / 8][1] == sizes[1 / 64][1]


@needs_toolchain
def test_a_fault_on_the_board_is_an_error(tmp_path):
    # an undefined instruction: the startup's fault handler ends the emulation
    target = mcu.Target(tmp_path, [], "", "out[0] = x[0]; __builtin_trap()",
                        n_features=1, n_outputs=1)
    with pytest.raises(RuntimeError, match="did not run to its end under QEMU"):
        target.run(np.zeros((1, 1)))


def test_missing_toolchain_is_named(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(mcu.shutil, "which",
                        lambda tool: None if tool == "qemu-system-arm"
                        else real_which(tool))
    reason = mcu.missing_tools()
    assert "qemu-system-arm (Debian package qemu-system-arm)" in reason
    assert "arm-none-eabi-gcc" not in reason or real_which("arm-none-eabi-gcc") is None
