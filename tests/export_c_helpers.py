"""What the export_c tests share: the host compiler, a compiled model, the
fitted problems and the tolerance of the single-precision C output."""

import functools
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import (
    make_classification,
    make_friedman1,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning

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


#: The tolerance of the single-precision C output, absolute: on probabilities
#: for a classifier, on the standardized target (``y / target_scale_``) for a
#: regressor; an exp (Poisson) output is checked to it relative as well.
TOLERANCE = 1e-5


def assert_matches_model(model, X, c_out, reference=None):
    """The C output of the test rows against ``predict_proba`` / ``predict``
    of ``reference`` (the model itself unless given), to :data:`TOLERANCE`."""
    reference = model if reference is None else reference
    expected = outputs(reference, X.astype(np.float64))
    assert c_out.shape == expected.shape
    est = final_estimator(model)
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(c_out, expected, rtol=0, atol=TOLERANCE)
    else:
        scale = est.target_scale_
        np.testing.assert_allclose(c_out / scale, expected / scale,
                                   rtol=TOLERANCE, atol=TOLERANCE)
    assert np.ptp(expected, axis=0).max() > 0  # the rows give different outputs


# ---------------------------------------------------------------------------
# data and models
# ---------------------------------------------------------------------------
N_TRAIN, N_TEST = 400, 200
KINDS = ["binary", "multiclass", "multilabel", "regressor"]


def _standardized(X):
    return (X - X.mean(0)) / X.std(0)


@functools.cache
def make_problems():
    """{kind: (estimator class, X, y)}; the tests' ``problems`` fixtures."""
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
        "counts": (HashedMLPRegressor, _standardized(X_reg),
                   np.random.default_rng(4).poisson(np.exp(y_reg / 10))),
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
