"""A copy of a model is the model: the solver's state (Adam's moments and step
count, momentum's velocities, the learning rate its schedule reached) goes
through pickle, joblib, skops and copy.deepcopy with the rest, so that a copy
continues partial_fit bit-identically; without_solver_state() leaves it out
for a small file; older states load, and bad solver states are refused."""

import copy
import io
import pickle
import re
import runpy
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sk_hashednets import HashedMLPClassifier, HashedMLPRegressor
from sk_hashednets._layers import METHODS
from sk_hashednets._persistence import STATE_FORMAT


def _pickle(model):
    return pickle.loads(pickle.dumps(model))


def _joblib(model):
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _skops(model):
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == [f"sk_hashednets.{type(model).__name__}"]
    return sio.loads(data, trusted=untrusted)


COPIES = {"pickle": _pickle, "joblib": _joblib, "skops": _skops,
          "deepcopy": copy.deepcopy}

#: the solvers partial_fit runs, with what their state carries: Adam's moments
#: and step count; momentum's velocities (Nesterov's and classical), the rate
#: the adaptive schedule lowered after stalls, the invscaling rate, the
#: inverse-time schedule's count of updates
SOLVERS = {
    "adam": dict(solver="adam", learning_rate_init=1e-2),
    "sgd-adaptive": dict(solver="sgd", learning_rate_init=0.05,
                         learning_rate="adaptive", n_iter_no_change=1, tol=10.0),
    "sgd-invscaling": dict(solver="sgd", learning_rate_init=0.2, power_t=0.25,
                           learning_rate="invscaling", nesterovs_momentum=False),
    "sgd-inverse-time": dict(solver="sgd", learning_rate_init=0.1,
                             learning_rate="inverse_time", learning_rate_decay=0.05),
    # trained as stored: the solver updates float buckets kept beside the
    # int8 ones the model predicts with
    "adam-int8": dict(solver="adam", learning_rate_init=1e-2, quantize="int8"),
}


@pytest.fixture(scope="module")
def digits():
    """The issue's data: digits scaled to [0, 1], cut in six chunks."""
    X, y = load_digits(return_X_y=True)
    return X / 16, y, np.array_split(np.arange(len(X)), 6)


def _model(kind, method, solver):
    cls = HashedMLPClassifier if kind == "classifier" else HashedMLPRegressor
    # dropout and shuffling draw from the model's random streams at each step
    return cls(hidden_layer_sizes=(64,), compression=1 / 8, method=method,
               dropout=0.1, input_dropout=0.1, batch_size=64, random_state=0,
               **SOLVERS[solver])


def _data(kind, X, y):
    if kind == "classifier":
        return X, y, {"classes": np.arange(10)}
    # the regressor in float32: the moments keep the parameters' dtype
    return X.astype(np.float32), np.c_[y, X[:, 20] * 3].astype(np.float32), {}


def _outputs(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.predict(X)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_copy_continues_partial_fit_exactly_as_the_original(digits, kind, method,
                                                             solver):
    X, y, chunks = digits
    X, y, kwargs = _data(kind, X, y)
    model = _model(kind, method, solver)
    for chunk in chunks[:3]:
        model.partial_fit(X[chunk], y[chunk], **kwargs)
    copies = {way: make(model) for way, make in COPIES.items()}
    for twin in [model, *copies.values()]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # clipping
            # a copy has its state: no warning that it starts afresh
            warnings.filterwarnings("error", "This .* has no solver state")
            for chunk in chunks[3:]:
                twin.partial_fit(X[chunk], y[chunk], **kwargs)
    if solver == "sgd-adaptive":  # the schedule lowered the rate the copies use
        assert model._optimizer.learning_rate < model.learning_rate_init
    expected = _outputs(model, X)
    for way, twin in copies.items():
        np.testing.assert_array_equal(_outputs(twin, X), expected, err_msg=way)
        for a, b in zip(twin.buckets_ + twin.intercepts_,
                        model.buckets_ + model.intercepts_):
            np.testing.assert_array_equal(a, b, err_msg=way)
        assert twin.t_ == model.t_ and twin._step == model._step, way


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_a_copy_continues_a_warm_started_fit_exactly(digits, solver):
    """fit with warm_start: each call starts the solver from rest, and carries
    on the early-stopping split, counters and best score (L-BFGS keeps
    nothing between calls)."""
    X, y, _ = digits
    params = dict(hidden_layer_sizes=(32,), max_iter=4, warm_start=True,
                  random_state=0, solver=solver)
    if solver != "lbfgs":
        params.update(early_stopping=True, n_iter_no_change=2, dropout=0.1)
    model = HashedMLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        copies = {way: make(model) for way, make in COPIES.items()}
        for twin in [model, *copies.values()]:
            twin.fit(X, y)
    for way, twin in copies.items():
        np.testing.assert_array_equal(twin.predict_proba(X), model.predict_proba(X),
                                      err_msg=way)
        assert twin.loss_curve_ == model.loss_curve_, way
        assert twin.validation_scores_ == model.validation_scores_, way


def _partial_fitted(X, y, **params):
    model = HashedMLPClassifier(hidden_layer_sizes=(64,), compression=1 / 8,
                                random_state=0, **params)
    for chunk in np.array_split(np.arange(len(X)), 3):
        model.partial_fit(X[chunk], y[chunk], classes=np.arange(10))
    return model


FRESH_WARNING = ("has no solver state ({}): it was dropped when the model was "
                 "copied or saved")


@pytest.mark.parametrize("solver, what, n_moments", [
    ("adam", "Adam's moments and step count", 2),
    ("sgd", "the momentum velocities", 1)])
def test_without_solver_state_ships_small_and_resumes_from_rest(digits, solver, what,
                                                                n_moments):
    X, y, _ = digits
    model = _partial_fitted(X, y, solver=solver)
    slim = model.without_solver_state()
    assert type(slim) is type(model) and slim is not model
    np.testing.assert_array_equal(slim.predict_proba(X), model.predict_proba(X))
    # the moments were n_moments arrays as large as the stored parameters
    saved = len(pickle.dumps(model)) - len(pickle.dumps(slim))
    moments_bytes = n_moments * model.n_stored_params_ * 8
    assert moments_bytes <= saved < moments_bytes + 400
    assert model.__getstate__()["_solver_state"]["moments"].shape == (
        n_moments, model.n_stored_params_)
    for twin in (slim, _pickle(slim), _skops(slim)):
        assert twin.__getstate__()["_solver_state"]["moments"] is None

    # from rest, as the original after dropping its moments would
    at_rest = copy.deepcopy(model)
    at_rest._optimizer.drop_state()
    for twin in (slim, _pickle(slim)):
        with pytest.warns(UserWarning, match=re.escape(FRESH_WARNING.format(what))):
            twin.partial_fit(X, y)
    at_rest.partial_fit(X, y)
    model.partial_fit(X, y)  # the original keeps its state
    np.testing.assert_array_equal(slim.predict_proba(X), at_rest.predict_proba(X))
    assert not np.array_equal(slim.predict_proba(X), model.predict_proba(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new state is kept: no second warning
        slim.partial_fit(X, y)
        _pickle(slim).partial_fit(X, y)


def test_a_fitted_model_holds_no_moments_and_copies_without_a_warning(digits):
    """fit drops the moments at its end (a new fit starts from rest): its
    copies are as small with or without them, and resume without a warning."""
    X, y, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = HashedMLPClassifier(hidden_layer_sizes=(32,), max_iter=3,
                                    random_state=0).fit(X, y)
    assert len(pickle.dumps(model)) == len(pickle.dumps(model.without_solver_state()))
    slim = model.without_solver_state()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slim.partial_fit(X, y)
        model.partial_fit(X, y)
    np.testing.assert_array_equal(slim.predict_proba(X), model.predict_proba(X))


def test_a_changed_solver_starts_afresh_on_the_original_and_its_copies(digits):
    """After set_params(solver=...) partial_fit starts the new solver; a copy
    does the same (the old solver's state is not saved)."""
    X, y, _ = digits
    model = _partial_fitted(X, y, solver="adam").set_params(solver="sgd")
    twin = _pickle(model)
    assert "_solver_state" not in model.__getstate__()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for m in (model, twin):
            m.partial_fit(X, y)
    assert model._optimizer.solver == "sgd"
    np.testing.assert_array_equal(twin.predict_proba(X), model.predict_proba(X))


def _older_format(state, fmt=2):
    """``state`` as sk_hashednets saved it before state format 3."""
    del state["_solver_state"]
    state["_sk_hashednets_state_format"] = fmt
    return state


def test_a_state_of_an_older_format_resumes_from_rest_with_a_warning(digits):
    X, y, _ = digits
    model = _partial_fitted(X, y)
    older = HashedMLPClassifier.__new__(HashedMLPClassifier)
    older.__setstate__(_older_format(model.__getstate__()))
    np.testing.assert_array_equal(older.predict_proba(X), model.predict_proba(X))
    slim = model.without_solver_state()
    with pytest.warns(UserWarning, match=re.escape(
            FRESH_WARNING.format("Adam's moments and step count"))):
        older.partial_fit(X, y)
    with pytest.warns(UserWarning):
        slim.partial_fit(X, y)
    np.testing.assert_array_equal(older.predict_proba(X), slim.predict_proba(X))


# ---------------------------------------------------------------------------
# a solver state that does not fit the model is refused at load
# ---------------------------------------------------------------------------
def _solver(state):
    return state["_solver_state"]


def _one_moment(state):  # Adam keeps two
    _solver(state)["moments"] = _solver(state)["moments"][:1]


def _short_moments(state):
    _solver(state)["moments"] = _solver(state)["moments"][:, :-5]


def _float32_moments(state):
    _solver(state)["moments"] = _solver(state)["moments"].astype(np.float32)


def _moments_as_lists(state):
    _solver(state)["moments"] = list(_solver(state)["moments"])


def _other_solver(state):
    _solver(state)["solver"] = "sgd"


def _unknown_scalar(state):
    _solver(state)["scalars"]["velocity"] = 0.5


def _text_step_count(state):
    _solver(state)["scalars"]["t"] = "12"


def _infinite_rate(state):
    _solver(state)["scalars"]["learning_rate"] = np.inf


def _missing_entry(state):
    del _solver(state)["scalars"]


N_PARAMS = 64 * 64 // 8 + 64 * 10 // 8 + 64 + 10  # buckets and biases: 666
CORRUPT_SOLVER_STATES = [
    (_one_moment, "_solver_state['moments'] must be an ndarray of dtype float64 "
                  f"and shape (2, {N_PARAMS}), got float64 of shape (1, {N_PARAMS})."),
    (_short_moments, "_solver_state['moments'] must be an ndarray of dtype float64 "
                     f"and shape (2, {N_PARAMS}), got float64 of shape "
                     f"(2, {N_PARAMS - 5})."),
    (_float32_moments, "_solver_state['moments'] must be an ndarray of dtype "
                       f"float64 and shape (2, {N_PARAMS}), got float32 of shape "
                       f"(2, {N_PARAMS})."),
    (_moments_as_lists, "_solver_state['moments'] must be an ndarray of dtype "
                        f"float64 and shape (2, {N_PARAMS}), got list."),
    (_other_solver, "_solver_state holds the state of solver='sgd', but the "
                    "model's solver is 'adam'."),
    (_unknown_scalar, "_solver_state['scalars'] of solver='adam' must be a dict "
                      "with entries among ['beta_1', 'beta_2', 'epsilon', "
                      "'learning_rate', 'learning_rate_init', 'state_lost', 't'], "
                      "got ['beta_1', 'beta_2', 'epsilon', 'learning_rate', "
                      "'learning_rate_init', 'state_lost', 't', 'velocity']."),
    (_text_step_count, "_solver_state['scalars']['t'] must be a number, got '12'."),
    (_infinite_rate, "_solver_state['scalars']['learning_rate'] must be a number, "
                     "got inf."),
    (_missing_entry, "_solver_state must be a dict of ['solver', 'scalars', "
                     "'moments'], got ['moments', 'solver']."),
]


@pytest.fixture(scope="module")
def adam_model(digits):
    X, y, _ = digits
    return _partial_fitted(X, y)


@pytest.mark.parametrize("corrupt, problem", CORRUPT_SOLVER_STATES,
                         ids=[c.__name__.strip("_") for c, _ in CORRUPT_SOLVER_STATES])
@pytest.mark.parametrize("via", ["pickle", "skops"])
def test_a_solver_state_that_does_not_fit_is_refused_at_load(adam_model, monkeypatch,
                                                             corrupt, problem, via):
    model = adam_model
    assert model.n_stored_params_ == N_PARAMS
    original = HashedMLPClassifier.__getstate__

    def corrupted_getstate(self):
        state = original(self)
        corrupt(state)
        return state

    monkeypatch.setattr(HashedMLPClassifier, "__getstate__", corrupted_getstate)
    data = pickle.dumps(model) if via == "pickle" else sio.dumps(model)
    monkeypatch.undo()
    from sk_hashednets import __version__

    with pytest.raises(ValueError, match=re.escape(
            f"Cannot load this HashedMLPClassifier (saved by sk_hashednets "
            f"{__version__} with state format {STATE_FORMAT}): {problem} The file "
            "is corrupted, or was not written by sk_hashednets.")):
        if via == "pickle":
            pickle.loads(data)
        else:
            sio.loads(data, trusted=sio.get_untrusted_types(data=data))


@pytest.mark.slow  # the README's 1000-unit network, fitted and streamed
def test_the_persistence_page_quotes_what_its_command_prints():
    """docs/user_guide/persistence.md's sizes come from
    docs/user_guide/persistence_sizes.py (within 2%: a parameter added later
    adds a few bytes), and the difference is the solver's moments."""
    root = Path(__file__).resolve().parents[1]
    script = root / "docs" / "user_guide" / "persistence_sizes.py"
    measured, n_stored = runpy.run_path(str(script))["sizes"]()
    page = (root / "docs" / "user_guide" / "persistence.md").read_text()
    quoted = {}
    for row in re.finditer(r"^\| `(fit|partial_fit)`[^|]*\| ([\d,]+) \| ([\d,]+) \|$",
                           page, flags=re.MULTILINE):
        what, full, slim = row.group(1), *(int(n.replace(",", ""))
                                           for n in row.groups()[1:])
        quoted[what], quoted[f"{what}, without_solver_state()"] = full, slim
    assert quoted.keys() == measured.keys()
    for what, n_bytes in measured.items():
        assert abs(quoted[what] - n_bytes) <= 0.02 * n_bytes, what
    assert measured["fit"] == measured["fit, without_solver_state()"]
    moments = 2 * n_stored * 4  # Adam's two moments in float32
    assert moments <= measured["partial_fit"] - measured[
        "partial_fit, without_solver_state()"] < moments + 400
    assert f"{n_stored:,} stored parameters" in page
