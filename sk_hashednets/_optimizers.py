"""The solvers: momentum SGD (classical and Nesterov) with scikit-learn's
learning-rate schedules, and Adam. Both update their parameters in place.

A solver's state is part of the model (a copy of a model continues as the
model): :meth:`_Optimizer.scalars` and :meth:`_Optimizer.moments` are what a
saved model keeps of it, :meth:`_Optimizer.restore` takes them back.
"""

import math

import numpy as np

from ._lazy import kernels as _kernels


class _Optimizer:
    """What the epoch loop asks of a solver.

    ``params`` is the list of 1-D arrays that :meth:`update` changes in place;
    the solver's own state (velocities, moments) lives in ``_state``, a list of
    ``n_moments`` lists of arrays shaped like ``params``, or None before the
    first update. Every other attribute is a number, bool or str (its
    settings, learning rate and counters): saved models keep them all.
    """

    #: the estimator's ``solver`` that this class implements
    solver = None
    #: arrays shaped like ``params`` in ``_state``
    n_moments = 0

    def __init__(self, params, learning_rate_init):
        self.params = params
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self._state = None
        # True when the moments were dropped from a copy of the model (see
        # drop_state): the next partial_fit warns that it starts from rest
        self.state_lost = False

    def update(self, grads):
        raise NotImplementedError

    def iteration_ends(self, time_step):
        """Called after each epoch with the number of samples seen so far."""

    def trigger_stopping(self, msg, verbose):
        """Decide what happens when progress stalls; True means stop."""
        if verbose:
            print(msg + " Stopping.", flush=True)
        return True

    def drop_state(self, lost=False):
        """Forget the velocities or moments (they are as large as the model);
        the next update starts from rest. ``lost`` says that they were dropped
        from a copy of the model, which then no longer continues as the model
        (``state_lost``); fit drops them at its end with ``lost=False``."""
        lost = lost and self._state is not None
        self._state = None
        self.state_lost = self.state_lost or lost

    def _start(self):
        """Fresh moments before the first update, or after a drop."""
        self._state = [[p * 0 for p in self.params] for _ in range(self.n_moments)]
        self.state_lost = False

    def scalars(self):
        """Everything but the parameters and the moments: settings, learning
        rate, counters and flags, as plain Python values."""
        return {name: value.item() if isinstance(value, np.generic) else value
                for name, value in vars(self).items()
                if name not in ("params", "_state")}

    def moments(self):
        """The velocities or moments as one ``(n_moments, n_params)`` array of
        the parameters' dtype, each row all parameters in the order of
        ``params``; None when the next update starts from rest."""
        if self._state is None:
            return None
        return np.stack([np.concatenate(arrays) for arrays in self._state])

    def restore(self, scalars, moments):
        """Take back what :meth:`scalars` and :meth:`moments` gave (checked by
        the caller: the names, kinds, shape and dtype fit this solver)."""
        vars(self).update(scalars)
        if moments is None:
            self._state = None
        else:
            bounds = np.cumsum([p.size for p in self.params])[:-1]
            self._state = [[a.copy() for a in np.split(row, bounds)]
                           for row in moments]

    def copy(self, params):
        """A copy that updates ``params``, with a private copy of the state."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.params = params
        if self._state is not None:
            new._state = [[a.copy() for a in arrays] for arrays in self._state]
        return new


class MomentumSGD(_Optimizer):
    """Stochastic gradient descent with momentum.

    Parameters
    ----------
    params : list of 1-D arrays
        Updated in place by :meth:`update`.
    learning_rate_init, lr_schedule, momentum, nesterov, power_t
        As in :class:`sklearn.neural_network.MLPClassifier`, and the schedule
        ``'inverse_time'``: update ``k`` (counted from 0) steps at
        ``learning_rate_init / (1 + decay * k)``.
    decay : float
        ``decay`` of the ``'inverse_time'`` schedule.
    """

    solver = "sgd"
    n_moments = 1

    def __init__(self, params, learning_rate_init, lr_schedule="constant",
                 momentum=0.9, nesterov=True, power_t=0.5, decay=0.0):
        super().__init__(params, learning_rate_init)
        self.decay = float(decay)
        self.n_updates = 0
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = power_t

    def update(self, grads):
        if self._state is None:
            self._start()
        if self.lr_schedule == "inverse_time":
            self.learning_rate = (float(self.learning_rate_init)
                                  / (1 + self.decay * self.n_updates))
        self.n_updates += 1
        for p, g, v in zip(self.params, grads, self._state[0]):
            _kernels.momentum_step(p, g, v, p.dtype.type(self.learning_rate),
                                   p.dtype.type(self.momentum), self.nesterov)

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.", flush=True)
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}", flush=True)
        return False


class Adam(_Optimizer):
    """Adam (Kingma and Ba, 2014) with bias-corrected moments, as
    :class:`sklearn.neural_network.MLPClassifier`'s ``solver="adam"``.

    Its per-parameter step suits buckets of unequal load: a bucket's gradient
    sums about ``1 / compression`` virtual gradients, and Adam divides each
    gradient by its own running scale.

    Parameters
    ----------
    params : list of 1-D arrays
        Updated in place by :meth:`update`.
    learning_rate_init, beta_1, beta_2, epsilon
        As in :class:`sklearn.neural_network.MLPClassifier`.
    """

    solver = "adam"
    n_moments = 2

    def __init__(self, params, learning_rate_init, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8):
        super().__init__(params, learning_rate_init)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0

    def update(self, grads):
        if self._state is None:  # moments and time restart together
            self._start()
            self.t = 0
        self.t += 1
        self.learning_rate = (
            self.learning_rate_init * math.sqrt(1 - self.beta_2**self.t)
            / (1 - self.beta_1**self.t)
        )
        for p, g, m, v in zip(self.params, grads, *self._state):
            kind = p.dtype.type
            _kernels.adam_step(p, g, m, v, kind(self.learning_rate),
                               kind(self.beta_1), kind(self.beta_2),
                               kind(self.epsilon))


#: the estimator's ``solver`` -> the class that implements it
OPTIMIZERS = {cls.solver: cls for cls in (MomentumSGD, Adam)}


def make_optimizer(estimator, params):
    """The solver an estimator's parameters ask for, updating ``params``."""
    if estimator.solver == "adam":
        return Adam(params, estimator.learning_rate_init, beta_1=estimator.beta_1,
                    beta_2=estimator.beta_2, epsilon=estimator.epsilon)
    return MomentumSGD(params, estimator.learning_rate_init,
                       lr_schedule=estimator.learning_rate,
                       momentum=estimator.momentum,
                       nesterov=estimator.nesterovs_momentum,
                       power_t=estimator.power_t,
                       decay=estimator.learning_rate_decay)
