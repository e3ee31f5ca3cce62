"""``to_sklearn()``: the fitted scikit-learn MLP that computes what the hashed
model computes, or a clear refusal where scikit-learn has no equivalent."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor, _sklearn

METHODS = ["hashing", "hashing_blocks", "low_rank", "random_edges", "shrunk"]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _digits(dtype=np.float64, n=300):
    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16).astype(dtype), y[:n]


def _same_outputs(mlp, model, X, methods):
    for method in methods:
        ours, theirs = getattr(model, method)(X), getattr(mlp, method)(X)
        assert theirs.shape == ours.shape
        if ours.dtype.kind == "f":
            np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
        else:
            np.testing.assert_array_equal(theirs, ours)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classifier_becomes_the_equivalent_mlp(method, dtype):
    X, y = _digits(dtype)
    model = _fit(HashedMLPClassifier((20, 12), activation="tanh", method=method,
                                     compression=1 / 4, max_iter=5, random_state=0),
                 X, y)
    mlp = model.to_sklearn()
    assert type(mlp) is MLPClassifier
    np.testing.assert_array_equal(mlp.classes_, model.classes_)
    for theirs, ours in zip(mlp.coefs_, model.coefs_):
        assert theirs.dtype == dtype
        np.testing.assert_array_equal(theirs, ours)
    assert mlp.out_activation_ == "softmax" and mlp.activation == "tanh"
    assert mlp.hidden_layer_sizes == tuple(b.size for b in model.intercepts_[:-1])
    assert mlp.loss_curve_ == model.loss_curve_ and mlp.n_iter_ == model.n_iter_
    _same_outputs(mlp, model, X, ["predict", "predict_proba", "predict_log_proba"])
    assert mlp.score(X, y) == model.score(X, y)


@pytest.mark.parametrize("kind", ["binary", "strings", "multilabel"])
def test_binary_and_multilabel_targets(kind):
    X, y = _digits()
    if kind == "multilabel":
        y = np.column_stack([y % 2, y > 4, y == 3]).astype(int)
    elif kind == "strings":
        y = np.where(y % 2, "odd", "even")
    else:
        y = y % 2
    model = _fit(HashedMLPClassifier((16,), max_iter=5, random_state=0), X, y)
    mlp = model.to_sklearn()
    assert mlp.out_activation_ == "logistic"
    assert mlp._label_binarizer.y_type_ == model._y_type
    np.testing.assert_array_equal(mlp.classes_, model.classes_)
    _same_outputs(mlp, model, X, ["predict", "predict_proba"])


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_folds_its_target_scaling(n_outputs):
    X, y = make_friedman1(n_samples=200, random_state=0)
    y = np.column_stack([y * 100 + 1000 * k for k in range(1, n_outputs + 1)])
    model = _fit(HashedMLPRegressor((16,), max_iter=20, random_state=0), X,
                 y.ravel() if n_outputs == 1 else y)
    mlp = model.to_sklearn()
    assert type(mlp) is MLPRegressor
    assert mlp.loss == "squared_error" and mlp.out_activation_ == "identity"
    np.testing.assert_array_equal(mlp.coefs_[0], model.coefs_[0])
    _same_outputs(mlp, model, X, ["predict"])
    assert mlp.score(X, y) == pytest.approx(model.score(X, y), rel=1e-9)


def test_poisson_regressor_becomes_mlpregressor_with_the_poisson_loss():
    X, y = make_friedman1(n_samples=200, random_state=0)
    model = _fit(HashedMLPRegressor((16,), loss="poisson", max_iter=20,
                                    random_state=0), X, np.round(y))
    mlp = model.to_sklearn()
    assert mlp.loss == "poisson" and mlp.out_activation_ == "exp"
    _same_outputs(mlp, model, X, ["predict"])


def test_sparse_input_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _digits()
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    model = _fit(HashedMLPClassifier((16,), max_iter=3, random_state=0), frame, y)
    mlp = model.to_sklearn()
    np.testing.assert_array_equal(mlp.feature_names_in_, model.feature_names_in_)
    _same_outputs(mlp, model, frame, ["predict_proba"])
    model = _fit(HashedMLPClassifier((16,), max_iter=3, random_state=0), X, y)
    _same_outputs(model.to_sklearn(), model, sp.csr_matrix(X), ["predict_proba"])


def test_hyperparameters_scikit_learn_accepts_are_copied():
    X, y = _digits()
    model = _fit(HashedMLPClassifier(
        (16,), solver="sgd", alpha=1e-3, learning_rate="inverse_time",
        momentum=0.8, max_iter=3, random_state=5), X, y)
    params = model.to_sklearn().get_params()
    assert (params["solver"], params["alpha"], params["momentum"],
            params["random_state"]) == ("sgd", 1e-3, 0.8, 5)
    assert params["learning_rate"] == "constant"  # scikit-learn lacks the schedule


def test_the_mlp_is_independent_pickles_and_trains_on():
    X, y = _digits()
    model = _fit(HashedMLPClassifier((16,), max_iter=3, random_state=0), X, y)
    before = model.predict_proba(X)
    mlp = model.to_sklearn()
    mlp.coefs_[0][:] = 0
    mlp.intercepts_[0][:] = 0
    np.testing.assert_array_equal(model.predict_proba(X), before)
    mlp = pickle.loads(pickle.dumps(model.to_sklearn()))
    _same_outputs(mlp, model, X, ["predict_proba"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.partial_fit(X, y)  # scikit-learn's dense training from here
    assert len(mlp.loss_curve_) == len(model.loss_curve_) + 1


def test_an_onnx_converter_for_scikit_learn_reads_it():
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    X, y = _digits(np.float32)
    model = _fit(HashedMLPClassifier((16,), max_iter=3, random_state=0), X, y)
    onx = skl2onnx.to_onnx(model.to_sklearn(), X[:1],
                           options={"zipmap": False})
    session = ort.InferenceSession(onx.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {session.get_inputs()[0].name: X})
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_unfitted_model_is_not_fitted():
    with pytest.raises(NotFittedError):
        HashedMLPClassifier().to_sklearn()


def test_single_class_is_refused():
    X, _ = _digits()
    model = _fit(HashedMLPClassifier((8,), max_iter=2), X, np.zeros(len(X), int))
    with pytest.raises(ValueError, match=re.escape(
            "This HashedMLPClassifier was fitted on a single class (0), which it "
            "predicts with probability 1; MLPClassifier has no equivalent")):
        model.to_sklearn()


def test_a_head_scikit_learn_lacks_is_refused(monkeypatch):
    X, y = make_friedman1(n_samples=100, random_state=0)
    model = _fit(HashedMLPRegressor((8,), loss="poisson", max_iter=2), X, y)
    monkeypatch.setattr(_sklearn, "_loss_options", lambda: {"squared_error"})
    with pytest.raises(ValueError, match=re.escape(
            "This HashedMLPRegressor has out_activation_='exp', which "
            "MLPRegressor has with loss='poisson' from scikit-learn 1.7 on")):
        model.to_sklearn()
    monkeypatch.setitem(model.__dict__, "out_activation_", "gamma")
    with pytest.raises(ValueError, match=re.escape(
            "This HashedMLPRegressor has out_activation_='gamma', which "
            "scikit-learn's MLPs lack")):
        model.to_sklearn()
