"""The solvers: momentum SGD (classical and Nesterov) with scikit-learn's
learning-rate schedules, and Adam. Both update their parameters in place."""

import math

from . import _kernels


class _Optimizer:
    """What the epoch loop asks of a solver.

    ``params`` is the list of 1-D arrays that :meth:`update` changes in place;
    the solver's own state (velocities, moments) lives in ``_state``, a list of
    lists of arrays shaped like ``params``, or None before the first update.
    """

    def __init__(self, params, learning_rate_init):
        self.params = params
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self._state = None

    def update(self, grads):
        raise NotImplementedError

    def iteration_ends(self, time_step):
        """Called after each epoch with the number of samples seen so far."""

    def trigger_stopping(self, msg, verbose):
        """Decide what happens when progress stalls; True means stop."""
        if verbose:
            print(msg + " Stopping.", flush=True)
        return True

    def drop_state(self):
        """Forget the velocities or moments (they are as large as the model);
        the next update starts from rest."""
        self._state = None

    def copy(self, params):
        """A copy that updates ``params``, with a private copy of the state."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.params = params
        if self._state is not None:
            new._state = [[a.copy() for a in arrays] for arrays in self._state]
        return new

    def _zeros(self, n):
        return [[p * 0 for p in self.params] for _ in range(n)]


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
            self._state = self._zeros(1)
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

    def __init__(self, params, learning_rate_init, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8):
        super().__init__(params, learning_rate_init)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0

    def update(self, grads):
        if self._state is None:  # moments and time restart together
            self._state = self._zeros(2)
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
