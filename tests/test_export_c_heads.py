"""export_c: every output head compiles to C that gives predict_proba /
predict (softmax, binary and multilabel logistic, identity, exp), and a
head without a C form is refused."""

import numpy as np
import pytest
from export_c_helpers import (
    Compiled,
    assert_matches_model,
    fitted,
    make_problems,
    needs_cc,
)

from sk_hashednets import _export_c_code as code
from sk_hashednets import export_c

CASES = {  # head: (problem, loss)
    "softmax": ("multiclass", None),
    "binary logistic": ("binary", None),
    "multilabel logistic": ("multilabel", None),
    "identity": ("regressor", "squared_error"),
    "exp": ("counts", "poisson"),
}


@pytest.fixture(scope="session")
def problems():
    return make_problems()


@needs_cc
@pytest.mark.parametrize("method", ["hashing", "hashing_blocks"])
@pytest.mark.parametrize("head", list(CASES))
def test_every_head_matches_the_model(problems, tmp_path, head, method):
    kind, loss = CASES[head]
    params = {} if loss is None else {"loss": loss}
    model, X_test = fitted(problems, kind, compression=1 / 8, method=method,
                           **params)
    assert model.out_activation_ == head.split()[-1]
    predict = Compiled(model, tmp_path)
    out = predict(X_test)
    assert_matches_model(model, X_test, out)
    if head == "binary logistic":  # [1 - p, p], the complement in float
        np.testing.assert_array_equal(out[:, 0], np.float32(1) - out[:, 1])
    if head == "exp":
        assert "expf(z[i])" in predict.source.read_text()
        assert out.min() > 0


def test_a_head_without_c_form_is_refused(problems, tmp_path, monkeypatch):
    model, _ = fitted(problems, "counts", loss="poisson", max_iter=2)
    monkeypatch.delitem(code.HEADS, "exp")
    with pytest.raises(ValueError, match=r"export_c has no C form for the output "
                       r"head 'exp'; it exports \['identity', 'logistic', "
                       r"'softmax'\]\."):
        export_c(model, tmp_path / "m.c")
    assert not (tmp_path / "m.c").exists() and not (tmp_path / "m.h").exists()
