"""A failed call loses nothing: a diverging step leaves the model as it was
(or with its completed epochs, and says so), and Ctrl-C leaves a usable
model that can go on training."""

import _thread
import itertools
import pickle
import re
import threading
import warnings

import numpy as np
import pytest
from conftest import SGD
from sklearn.exceptions import ConvergenceWarning
from small_problems import CLF, REG, X, make, target, y_reg

from sk_hashednets import _network, _training


@pytest.mark.parametrize("Est", [CLF, REG])
def test_failed_partial_fit_changes_nothing(Est):
    """A diverging partial_fit leaves the model exactly as it was: predictions,
    pickled state and the result of the following updates."""
    kwargs = {"classes": [0, 1, 2]} if Est is CLF else {}
    model = make(Est, "hashing", batch_size=10, **SGD).partial_fit(X, target(Est),
                                                                    **kwargs)
    twin = make(Est, "hashing", batch_size=10, **SGD).partial_fit(X, target(Est),
                                                                   **kwargs)
    before = model.predict(X)
    state = pickle.dumps(model)
    with np.errstate(all="ignore"), pytest.raises(ValueError) as info:
        model.partial_fit(X * 1e200, target(Est))
    assert isinstance(info.value, _training.DivergenceError)
    assert re.match(
        r"Training diverged in epoch 2: the (loss|gradient|parameters) became "
        r"non-finite \(.*\)\. The model is left as it was before this call\. Lower "
        r"learning_rate_init \(currently 0\.01\) or scale the input features \(e\.g\. "
        r"with StandardScaler\)\.$", str(info.value))
    np.testing.assert_array_equal(model.predict(X), before)
    assert pickle.dumps(model) == state
    model.partial_fit(X, target(Est))
    twin.partial_fit(X, target(Est))
    for a, b in zip(model.buckets_ + model.intercepts_,
                    twin.buckets_ + twin.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_fit_diverging_in_a_later_epoch_keeps_the_completed_epochs(monkeypatch):
    """The loss turns NaN in epoch 3: the model is the one of 2 epochs, bit for bit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = make(REG, "hashing", batch_size=10, max_iter=2, **SGD).fit(X, y_reg)
    original = _network.Trainer.step
    calls = itertools.count(1)

    def step(self, *args):
        loss = original(self, *args)
        return np.nan if next(calls) == 8 else loss  # 3 steps per epoch

    monkeypatch.setattr(_network.Trainer, "step", step)
    model = make(REG, "hashing", batch_size=10, max_iter=50, **SGD)
    with pytest.raises(ValueError, match=re.escape(
            "Training diverged in epoch 3: the loss became non-finite (nan). Training "
            "stopped; the model keeps the result of its 2 completed epoch(s). Lower "
            "learning_rate_init (currently 0.01)")):
        model.fit(X, y_reg)
    assert model.n_iter_ == 2
    assert model.loss_curve_ == reference.loss_curve_
    for a, b in zip(model.buckets_ + model.intercepts_,
                    reference.buckets_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


@pytest.mark.parametrize("Est", [CLF, REG])
def test_absurd_learning_rate_fails_clearly_and_warm_start_keeps_the_model(Est):
    with np.errstate(all="ignore"):
        fresh = make(Est, "hashing", batch_size=10, learning_rate_init=1e300,
                     solver="sgd")
        with pytest.raises(ValueError, match=re.escape(
                "The model is left as it was before this call. Lower "
                "learning_rate_init (currently 1e+300)")):
            fresh.fit(X, target(Est))
        assert not hasattr(fresh, "buckets_")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = make(Est, "hashing", batch_size=10, warm_start=True, **SGD).fit(
                X, target(Est))
        state = pickle.dumps(model)
        model.set_params(learning_rate_init=1e300)
        with pytest.raises(ValueError, match="Training diverged in epoch 4"):
            model.fit(X, target(Est))
    model.set_params(learning_rate_init=0.01)
    assert pickle.dumps(model) == state


def test_ctrl_c_mid_epoch_leaves_a_usable_model(monkeypatch):
    """A real SIGINT, delivered by the interpreter wherever the fit happens to
    be once the second epoch is under way."""
    X_ = np.random.RandomState(2).randn(400, 16)
    y_ = (X_[:, 0] + X_[:, 1] > 0).astype(int)
    original = _network.Trainer.step
    calls = itertools.count(1)
    second_epoch = threading.Event()

    def step(self, *args):
        if next(calls) == 25:  # 20 steps per epoch
            second_epoch.set()
        return original(self, *args)

    def press_ctrl_c():
        second_epoch.wait()
        _thread.interrupt_main()

    monkeypatch.setattr(_network.Trainer, "step", step)
    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    model = CLF(hidden_layer_sizes=(32,), batch_size=20, max_iter=500, tol=0,
                n_iter_no_change=500, random_state=0)
    try:
        with pytest.warns(UserWarning, match="Training interrupted by user"):
            model.fit(X_, y_)
    finally:
        second_epoch.set()
        presser.join()
    assert 1 <= model.n_iter_ < 500
    assert model._step >= 24  # the signal came after 24 completed steps
    proba = model.predict_proba(X_)
    assert np.isfinite(proba).all()
    np.testing.assert_array_equal(model.predict(X_), model.classes_[proba.argmax(1)])
    model.partial_fit(X_, y_)  # and training can go on
    assert pickle.loads(pickle.dumps(model)).predict(X_).shape == (400,)
