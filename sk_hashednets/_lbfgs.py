"""``solver="lbfgs"``: the whole-batch loss over all stored parameters,
handed to SciPy's L-BFGS-B, as scikit-learn's ``_fit_lbfgs``."""

import numpy as np
import scipy
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._errors import DivergenceError, warn
from ._network import Trainer


def check_lbfgs_params(estimator):
    """L-BFGS needs the exact gradient of a deterministic loss."""
    for name in ("dropout", "input_dropout"):
        if getattr(estimator, name):
            raise ValueError(
                f"solver='lbfgs' needs {name}=0 (got {getattr(estimator, name)}): "
                "L-BFGS's line search needs the same loss at every "
                "evaluation, and dropout draws new masks each time. Set "
                f"{name}=0.0 or use solver='adam' or 'sgd'."
            )
    if estimator.rescale_grad:
        raise ValueError(
            "solver='lbfgs' needs rescale_grad=False: L-BFGS needs the "
            "gradient of the loss, and rescaling changes it. Set "
            "rescale_grad=False or use solver='adam' or 'sgd'."
        )


#: SciPy 1.15 deprecated L-BFGS-B's ``iprint``; with a newer SciPy the
#: callback prints the iterations itself.
_LBFGS_IPRINT = tuple(int(v) for v in scipy.__version__.split(".")[:2]) < (1, 15)


#: correction pairs SciPy's L-BFGS-B keeps (its ``maxcor``)
MAXCOR = 10


def lbfgs_bytes(n_params):
    """Bytes an L-BFGS fit of ``n_params`` stored parameters holds besides
    the network's own arrays, in float64 vectors of ``n_params``: SciPy's
    L-BFGS-B, ``2 * MAXCOR + 16`` at its peak (its workspace of ``2 * MAXCOR
    + 5``, its point, gradient, bounds and int32 work vectors, and the copies
    of the point and gradient it keeps; 36 measured with SciPy 1.17 and
    ``tracemalloc``), and the packed point, last point, gradient and
    recorded iterate of :class:`PackedLoss` and :func:`fit_lbfgs` (4)."""
    return 8 * n_params * (2 * MAXCOR + 16 + 4)


class PackedLoss:
    """The whole-batch training loss as a function of one float64 vector.

    The vector packs every stored parameter of ``trainer`` (each layer's
    buckets or factors, then the biases); calling the object with a vector
    loads it into the trainer's arrays (in their dtype) and returns the loss
    of ``(X, Y, sample_weight)``, L2 penalty included, and its gradient,
    packed the same way: what ``scipy.optimize.minimize(jac=True)`` asks for.
    The trainer must hold a batch of all samples, without dropout.
    """

    def __init__(self, trainer, X, Y, sample_weight):
        self.trainer = trainer
        self.last = (None, None)  # the last point evaluated and its loss
        self.params = trainer.weights + trainer.biases
        self.grads = trainer.weight_grads + trainer.bias_grads
        self.bounds = np.cumsum([0] + [p.size for p in self.params])
        # one copy of the data in the trainer's buffers, reused by every call
        self.batch = trainer.take(X, Y, sample_weight, np.arange(X.shape[0]))

    def pack(self):
        return np.concatenate(self.params, dtype=np.float64)

    def unpack(self, theta):
        for p, start, stop in zip(self.params, self.bounds[:-1], self.bounds[1:]):
            p[...] = theta[start:stop]

    def __call__(self, theta):
        self.unpack(theta)
        loss = float(self.trainer.step(*self.batch, 0))
        self.last = (theta.copy(), loss)
        return loss, np.concatenate(self.grads, dtype=np.float64)

    def loss_at(self, theta):
        """The loss at ``theta``, without evaluating it again if it was the
        last point evaluated."""
        x, loss = self.last
        return loss if x is not None and np.array_equal(x, theta) else self(theta)[0]


def fit_lbfgs(estimator, state, layers, X, Y, sample_weight):
    """Fit ``state`` with L-BFGS-B on the whole-batch loss and commit it.

    As scikit-learn's ``solver='lbfgs'``: at most ``max_iter`` iterations and
    ``max_fun`` loss evaluations, ``tol`` as the projected-gradient tolerance,
    ``n_iter_`` the iterations of this call, a ConvergenceWarning when SciPy
    reports no convergence; early stopping does not apply. ``loss_curve_``
    gets the loss after each iteration. Non-finite results leave the
    estimator as it was; KeyboardInterrupt keeps the last iterate.
    """
    trainer = Trainer(
        layers, state.buckets_, state.intercepts_,
        activation=state.activation_,
        loss=estimator._make_loss(state.out_activation_),
        alpha=estimator.alpha, dropout=0.0, input_dropout=0.0,
        dropout_seed=state._seed, batch_size=X.shape[0], n_outputs=Y.shape[1],
        dtype=X.dtype, sparse_input=sp.issparse(X), quantize=state.quantize_,
    )
    objective = PackedLoss(trainer, X, Y, sample_weight)
    iterate = {"x": objective.pack(), "loss": None}
    curve = []

    def record(theta):  # after each iteration, at the accepted point
        loss = objective.loss_at(theta)
        iterate.update(x=theta.copy(), loss=loss)
        curve.append(loss)
        if estimator.verbose and not _LBFGS_IPRINT:
            print(f"Iteration {len(curve)}, loss = {loss:.8f}", flush=True)

    options = {"maxiter": estimator.max_iter, "maxfun": estimator.max_fun,
               "gtol": estimator.tol, "maxcor": MAXCOR}
    if _LBFGS_IPRINT:
        options["iprint"] = 1 if estimator.verbose else -1
    result = None
    try:
        result = scipy.optimize.minimize(objective, iterate["x"], method="L-BFGS-B",
                                         jac=True, callback=record, options=options)
        iterate.update(x=result.x, loss=float(result.fun))
    except KeyboardInterrupt:
        warn("Training interrupted by user.")
    if iterate["loss"] is None:  # interrupted before the first iteration
        iterate["loss"] = objective.loss_at(iterate["x"])
    objective.unpack(iterate["x"])
    if not (np.isfinite(iterate["loss"])
            and all(np.isfinite(p).all() for p in state.params())):
        raise DivergenceError(
            f"L-BFGS reached a non-finite loss ({iterate['loss']}) or "
            "parameters. The model is left as it was before this call. Scale "
            "the input features (e.g. with StandardScaler) or raise alpha "
            f"(currently {estimator.alpha})."
        )
    n_iter = min(len(curve) if result is None else result.nit, estimator.max_iter)
    if result is not None and result.status != 0:
        advice = (f"Increase max_iter (currently {estimator.max_iter})"
                  if n_iter == estimator.max_iter else
                  f"Increase max_fun (currently {estimator.max_fun})"
                  if result.nfev >= estimator.max_fun else
                  "Lower tol")
        warn(f"lbfgs failed to converge after {n_iter} iteration(s) (status="
             f"{result.status}): {result.message}. {advice} to improve the "
             "convergence; scaling the input features (e.g. with "
             "StandardScaler) may also help.", ConvergenceWarning)
    state.n_iter_ = n_iter
    state.loss_ = state.best_loss_ = iterate["loss"]
    state.loss_curve_.extend(curve)
    state.validation_scores_ = state.best_validation_score_ = None
    state.n_clipped_steps_ = 0
    state._optimizer = None
    state.commit(estimator)
