"""Momentum SGD (classical and Nesterov) with scikit-learn's learning-rate schedules."""

from . import _kernels


class MomentumSGD:
    """Stochastic gradient descent with momentum, updating parameters in place.

    Parameters
    ----------
    params : list of 1-D arrays
        Updated in place by :meth:`update`.
    learning_rate_init, lr_schedule, momentum, nesterov, power_t
        As in :class:`sklearn.neural_network.MLPClassifier`.
    """

    def __init__(self, params, learning_rate_init, lr_schedule="constant",
                 momentum=0.9, nesterov=True, power_t=0.5):
        self.params = params
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = power_t
        self.velocities = None  # zeros, allocated by the first update

    def update(self, grads):
        if self.velocities is None:
            self.velocities = [p * 0 for p in self.params]
        for p, g, v in zip(self.params, grads, self.velocities):
            _kernels.momentum_step(p, g, v, p.dtype.type(self.learning_rate),
                                   p.dtype.type(self.momentum), self.nesterov)

    def iteration_ends(self, time_step):
        """Called after each epoch with the number of samples seen so far."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        """Decide what happens when progress stalls; True means stop."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.", flush=True)
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.", flush=True)
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}", flush=True)
        return False

    def drop_velocities(self):
        """Forget the momentum (it is as large as the model); the next update
        starts from rest."""
        self.velocities = None

    def _copy_velocities(self):
        if self.velocities is None:
            return None
        return [v.copy() for v in self.velocities]
