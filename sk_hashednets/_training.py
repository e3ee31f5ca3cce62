"""The epoch loop: training state, early stopping, rollback and warnings.

The estimator validates its parameters and data, then hands a
:class:`TrainingState` to :func:`fit_stochastic`, which runs the epochs
(in the spirit of scikit-learn's ``BaseMultilayerPerceptron._fit_stochastic``),
or to :func:`._lbfgs.fit_lbfgs`, which hands the whole-batch loss to L-BFGS.
The state is the estimator's fitted attributes in private copies: the loop
takes a snapshot (:meth:`TrainingState.snapshot`) at each epoch boundary and
commits the last complete epoch to the estimator (:meth:`TrainingState.commit`)
only when the call succeeds, so a failed or diverged call leaves the estimator
as it was.
"""

import copy
import time
from dataclasses import dataclass, field, fields

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ._errors import DivergenceError, warn
from ._network import Trainer, forward
from ._quantize import rounded
from ._timing import phase


# --------------------------------------------------------------------------
# the state of a fit
# --------------------------------------------------------------------------
@dataclass
class TrainingState:
    """The fitted attributes a call to ``fit`` or ``partial_fit`` changes.

    Field names are the estimator's attribute names. ``targets`` holds the
    attributes that describe the targets (``classes_``, ``target_mean_``, ...:
    the estimator's ``_target_attributes``), set by the first fit and read by
    the validation score; they never change during training.

    ``quantize_`` is the precision the call trains for (the estimator's
    ``quantize``). Then ``buckets_`` holds the float buckets the solver
    updates while training; :meth:`commit` gives the estimator their rounding
    as ``buckets_`` (the model it stores and predicts with) and keeps the float
    ones as ``_latent_buckets``, where the next ``warm_start`` or
    ``partial_fit`` call resumes.
    """

    hash_seeds_: np.ndarray
    buckets_: list
    intercepts_: list
    _seed: int
    _method: str
    n_layers_: int
    n_outputs_: int
    activation_: str
    out_activation_: str = None
    _optimizer: object = None
    _step: int = 0
    n_iter_: int = 0
    t_: int = 0
    loss_: float = None
    loss_curve_: list = field(default_factory=list)
    validation_scores_: list = None
    best_validation_score_: float = None
    best_loss_: float = None
    _no_improvement_count: int = 0
    n_clipped_steps_: int = 0
    quantize_: str = None
    targets: dict = field(default_factory=dict)

    @classmethod
    def fresh(cls, estimator, layer_units, budgets, dtype):
        """A new network drawn from ``estimator.random_state``: hash seeds, the
        seed of the epochs' randomness, Glorot-uniform weights and biases."""
        rng = check_random_state(estimator.random_state)
        n_layers = len(layer_units) - 1
        hash_seeds = rng.randint(0, 2**32, size=(n_layers, 2), dtype=np.uint64)
        hash_seeds = hash_seeds.astype(np.uint32)
        # equal seeds would tie each connection's sign to its bucket
        same = hash_seeds[:, 0] == hash_seeds[:, 1]
        hash_seeds[same, 1] ^= np.uint32(1)
        seed = int(rng.randint(0, 2**32, dtype=np.uint64))
        # Glorot-uniform on the virtual matrix; each bucket is one virtual weight.
        factor = 2.0 if estimator.activation == "logistic" else 6.0
        weights, biases = [], []
        for i, k in enumerate(budgets):
            a, b = layer_units[i], layer_units[i + 1]
            bound = np.sqrt(factor / (a + b))
            layer = estimator._make_layer(estimator.method, a, b, k, hash_seeds[i])
            weights.append(layer.init_weights(bound, rng, dtype))
            biases.append(rng.uniform(-bound, bound, b).astype(dtype))
        early_stopping = estimator.early_stopping
        return cls(
            hash_seeds_=hash_seeds, buckets_=weights, intercepts_=biases,
            _seed=seed, _method=estimator.method, n_layers_=len(layer_units),
            n_outputs_=layer_units[-1], activation_=estimator.activation,
            validation_scores_=[] if early_stopping else None,
            best_validation_score_=-np.inf if early_stopping else None,
            best_loss_=None if early_stopping else np.inf,
        )

    @classmethod
    def of(cls, estimator):
        """A private copy of a fitted estimator's state, to continue training."""
        arrays = ("targets", "buckets_", "intercepts_", "_optimizer")
        names = [f.name for f in fields(cls) if f.name not in arrays]
        state = cls(**{name: copy.deepcopy(getattr(estimator, name, None))
                       for name in names},
                    buckets_=[w.copy() for w in
                              getattr(estimator, "_latent_buckets", None)
                              or estimator.buckets_],
                    intercepts_=[b.copy() for b in estimator.intercepts_])
        state.targets = {name: getattr(estimator, name)
                         for name in estimator._target_attributes}
        optimizer = getattr(estimator, "_optimizer", None)
        # None after L-BFGS; a solver the parameters no longer ask for is
        # replaced by a fresh one of theirs
        if optimizer is not None and optimizer.solver == estimator.solver:
            state._optimizer = optimizer.copy(state.params())
        if estimator.early_stopping:
            if state.validation_scores_ is None:
                state.validation_scores_ = []
                state.best_validation_score_ = -np.inf
        elif state.best_loss_ is None:
            state.best_loss_ = np.inf
        return state

    @property
    def epochs(self):
        """Epochs trained since the network was drawn, over all calls (one
        loss each in ``loss_curve_``): numbers each epoch's shuffle.
        ``n_iter_`` counts those of the current call only."""
        return len(self.loss_curve_)

    def params(self):
        """The arrays the solver updates: all weights, then all biases."""
        return self.buckets_ + self.intercepts_

    def stored_buckets(self):
        """The buckets the model stores: ``buckets_``, or their rounding to
        ``quantize_``."""
        if self.quantize_ is None:
            return self.buckets_
        return [rounded(w, self.quantize_) for w in self.buckets_]

    def snapshot(self):
        """A copy to roll back to: parameters, curves and solver state."""
        snap = copy.copy(self)
        snap.buckets_ = [w.copy() for w in self.buckets_]
        snap.intercepts_ = [b.copy() for b in self.intercepts_]
        snap.loss_curve_ = list(self.loss_curve_)
        if self.validation_scores_ is not None:
            snap.validation_scores_ = list(self.validation_scores_)
        snap._optimizer = self._optimizer.copy(snap.params())
        return snap

    @staticmethod
    def loop_vectors(n_moments, early_stopping):
        """``(held, passing)``: vectors of the stored weights' size the epoch
        loop holds throughout with a solver keeping ``n_moments`` of them
        (the state's weights, the estimator's from before the call, kept
        until the commit, a snapshot with its solver state, and with early
        stopping a copy of the best epoch's weights), and those it adds for a
        moment at an epoch's boundary (a new snapshot, or a new best, taken
        while the old one is alive)."""
        held = 1 + 1 + (1 + n_moments) + (1 if early_stopping else 0)
        return held, 1 + n_moments

    def commit(self, estimator):
        """Make this state the estimator's fitted attributes."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "targets":
                for key, target_value in value.items():
                    setattr(estimator, key, target_value)
            elif f.name != "loss_" or value is not None:
                setattr(estimator, f.name, value)
        estimator.buckets_ = self.stored_buckets()
        if self.quantize_ is None:
            estimator.__dict__.pop("_latent_buckets", None)
        else:
            estimator._latent_buckets = self.buckets_
        if estimator._optimizer is not None:
            estimator._optimizer.params = self.params()


# --------------------------------------------------------------------------
# before any work
# --------------------------------------------------------------------------
def fit_stochastic(estimator, state, layers, train, validation, incremental):
    """Train ``state`` for ``max_iter`` epochs (one for ``partial_fit``) and
    commit the result to ``estimator``.

    ``train`` is ``(X, Y, sample_weight)``, ``validation`` the early-stopping
    set or None (see :func:`split`). ``n_iter_`` counts the epochs of this
    call, as scikit-learn's, and a ``fit`` that reaches ``max_iter`` warns
    whether or not it was warm-started.

    Divergence and KeyboardInterrupt end the loop: a diverged call keeps the
    last complete epoch if this call completed one (and raises), an
    interrupted one keeps what it has (and warns). With early stopping the
    parameters of the best epoch, of this call or an earlier one, are kept.
    """
    early_stopping = validation is not None
    X, Y, sample_weight = train
    trainer = _make_trainer(estimator, state, layers, X, Y)
    # after an earlier early-stopped call the model holds its best epoch
    best = (_copy_params(state) if early_stopping and state.validation_scores_
            else None)
    state.n_iter_ = 0
    state.n_clipped_steps_ = 0
    first_step = state._step
    if incremental and state._optimizer.state_lost:
        _warn_fresh_solver_state(estimator)
    committed, error = state, None
    try:
        for _ in range(1 if incremental else estimator.max_iter):
            tic = time.perf_counter()
            committed = state.snapshot()
            _run_epoch(estimator, state, trainer, X, Y, sample_weight)
            score = None
            if early_stopping:
                score = _validation_score(estimator, state, layers, *validation)
                if score > state.best_validation_score_:
                    best = _copy_params(state)
            _update_no_improvement_count(estimator, state, score)
            if incremental and estimator.verbose:
                _print_chunk(estimator, state, X.shape[0],
                             time.perf_counter() - tic)
            elif estimator.verbose:
                _print_epoch(state, early_stopping, time.perf_counter() - tic)
            state._optimizer.iteration_ends(state.t_)
            if _should_stop(estimator, state, early_stopping) or incremental:
                break
            if state.n_iter_ == estimator.max_iter:
                warn(f"Stochastic Optimizer: Maximum iterations ({estimator.max_iter}) "
                     "reached and the optimization hasn't converged yet.",
                     ConvergenceWarning)
        committed = state
        _warn_clipped(estimator, state, state._step - first_step)
    except KeyboardInterrupt:
        warn("Training interrupted by user.")
        committed = state
    except DivergenceError as exc:
        error = exc
    if best is not None:  # early stopping keeps the best epoch's parameters
        for kept_array, saved in zip(committed.params(), best):
            kept_array[...] = saved
    kept = committed.n_iter_ > 0
    if error is None or kept:
        committed.commit(estimator)
        if not incremental:  # fit starts from rest; only partial_fit resumes
            estimator._optimizer.drop_state()
    if error is not None:
        raise DivergenceError(_divergence_message(estimator, error, state, kept))


def split(estimator, state, X, Y, y, sample_weight, early_stopping):
    """``(training set, validation set)``, each ``(X, Y or y, sample_weight)``
    (unit weights where none are given); the validation set is None without
    early stopping. The split depends only on the fit's seed, so it is the
    same in every ``warm_start`` call of a model."""
    if sample_weight is None:
        sample_weight = np.ones(X.shape[0], dtype=X.dtype)
    if not early_stopping:
        return (X, Y, sample_weight), None
    seed = _rng(state._seed, 0, 1).integers(2**31)
    train, val = split_indices(estimator, y, X.shape[0], seed)
    return ((X[train], Y[train], sample_weight[train]),
            (X[val], y[val], sample_weight[val]))


def split_indices(estimator, y, n_samples, random_state):
    """The rows of the early-stopping training and validation sets, as
    ``train_test_split`` draws them (stratified as ``_split_stratify`` says).

    Its errors (a class too small to stratify, a validation set of fewer
    than 2 rows) do not depend on ``random_state``: ``_memory.check_trainable``
    calls it first, so that they come before any work.
    """
    fraction = estimator.validation_fraction
    n_val = int(np.ceil(fraction * n_samples))
    if n_val > 0:  # train_test_split refuses test_size=0 in its own words
        train, val = train_test_split(
            np.arange(n_samples), random_state=random_state, test_size=fraction,
            stratify=estimator._split_stratify(y))
    if n_val < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            f"or the size of your dataset: validation_fraction={fraction} of "
            f"{n_samples} samples holds out {n_val}, and early stopping needs "
            "at least 2. Or set early_stopping=False."
        )
    return train, val


#: the rows of a batch with ``batch_size='auto'`` (at most ``n_samples``), as
#: scikit-learn's MLP
AUTO_BATCH_SIZE = 200


def batch_rows(batch_size, n_samples):
    """The rows of a training batch for the parameter ``batch_size`` (an int
    >= 1 or ``'auto'``) on ``n_samples`` rows."""
    if batch_size == "auto":
        return min(AUTO_BATCH_SIZE, n_samples)
    return int(np.clip(batch_size, 1, n_samples))


def _batch_size(estimator, n_samples):
    if estimator.batch_size != "auto" and estimator.batch_size > n_samples:
        warn("Got `batch_size` less than 1 or larger than sample size. It is "
             "going to be clipped")
    return batch_rows(estimator.batch_size, n_samples)


def _make_trainer(estimator, state, layers, X, Y):
    return Trainer(
        layers, state.buckets_, state.intercepts_,
        activation=state.activation_,
        loss=estimator._make_loss(state.out_activation_),
        alpha=estimator.alpha,
        dropout=estimator.dropout,
        input_dropout=estimator.input_dropout,
        dropout_seed=state._seed,
        batch_size=_batch_size(estimator, X.shape[0]),
        n_outputs=Y.shape[1],
        dtype=X.dtype,
        sparse_input=sp.issparse(X),
        grad_scales=_grad_scales(layers, X.dtype) if estimator.rescale_grad else None,
        quantize=state.quantize_,
    )


def _run_epoch(estimator, state, trainer, X, Y, sample_weight):
    """One pass over the training set; records the epoch's loss."""
    n_samples, batch_size = X.shape[0], trainer.z[0].shape[0]
    grads = trainer.weight_grads + trainer.bias_grads
    if estimator.shuffle:
        order = _rng(state._seed, state.epochs).permutation(n_samples)
    else:
        order = np.arange(n_samples)
    accumulated = 0.0
    with phase("epoch"):
        for start in range(0, n_samples, batch_size):
            Xb, Yb, swb = trainer.take(X, Y, sample_weight,
                                       order[start:start + batch_size])
            batch_loss = trainer.step(Xb, Yb, swb, state._step)
            if not np.isfinite(batch_loss):
                raise DivergenceError("loss", batch_loss)
            with phase("optimizer"):
                if estimator.max_grad_norm is not None:
                    state.n_clipped_steps_ += _clip_grad_norm(
                        grads, estimator.max_grad_norm)
                state._optimizer.update(grads)
            state._step += 1
            accumulated += batch_loss * float(swb.sum(dtype=np.float64))
    if not all(np.isfinite(p).all() for p in state.params()):
        raise DivergenceError("parameters", np.nan)
    state.n_iter_ += 1
    state.t_ += n_samples
    loss = accumulated / float(sample_weight.sum(dtype=np.float64))
    state.loss_ = float(loss)
    state.loss_curve_.append(float(loss))


def _validation_score(estimator, state, layers, X_val, y_val, sw_val):
    raw = forward(layers, state.stored_buckets(), state.intercepts_, X_val,
                  state.activation_)
    score = float(estimator._validation_score(raw, y_val, sw_val, state.targets))
    state.validation_scores_.append(score)
    return score


def _update_no_improvement_count(estimator, state, score):
    """Count the epochs without ``tol`` progress in the validation score (with
    early stopping, ``score`` is not None) or in the training loss."""
    if score is not None:
        improved = score >= state.best_validation_score_ + estimator.tol
        state.best_validation_score_ = max(state.best_validation_score_, score)
    else:
        improved = state.loss_ <= state.best_loss_ - estimator.tol
        state.best_loss_ = float(min(state.best_loss_, state.loss_))
    state._no_improvement_count = 0 if improved else state._no_improvement_count + 1


def _should_stop(estimator, state, early_stopping):
    """After ``n_iter_no_change`` epochs without progress, ask the solver
    (the adaptive schedule lowers its rate instead of stopping)."""
    if state._no_improvement_count <= estimator.n_iter_no_change:
        return False
    what = "Validation score" if early_stopping else "Training loss"
    msg = (f"{what} did not improve more than tol={estimator.tol:f} for "
           f"{estimator.n_iter_no_change} consecutive epochs.")
    if state._optimizer.trigger_stopping(msg, estimator.verbose):
        return True
    state._no_improvement_count = 0
    return False


def _warn_fresh_solver_state(estimator):
    what = ("Adam's moments and step count" if estimator.solver == "adam"
            else "the momentum velocities")
    warn(f"This {type(estimator).__name__} has no solver state ({what}): it "
         "was dropped when the model was copied or saved "
         "(by without_solver_state(), or by an sk_hashednets whose saved "
         "models kept none). partial_fit starts it afresh, so training does "
         "not continue exactly as the original model would.")


def _warn_clipped(estimator, state, n_steps):
    n_clipped = state.n_clipped_steps_
    if not n_clipped:
        return
    advice = (  # a rare large batch gradient is no sign of bad scaling
        "The input features are probably not standardized (put a "
        f"StandardScaler before {type(estimator).__name__}), or "
        f"learning_rate_init={estimator.learning_rate_init} is too large."
        if n_clipped > 0.01 * n_steps else
        "Clipping that rare changes little; if it recurs, lower "
        f"learning_rate_init (currently {estimator.learning_rate_init}).")
    warn(f"The gradient norm exceeded max_grad_norm={estimator.max_grad_norm:g} "
         f"and was clipped in {n_clipped} of {n_steps} steps. {advice}")


def _divergence_message(estimator, exc, state, kept):
    what, value = exc.args
    outcome = (
        f"Training stopped; the model keeps the result of its "
        f"{state.epochs} completed epoch(s)." if kept
        else "The model is left as it was before this call."
    )
    return (
        f"Training diverged in epoch {state.epochs + 1}: the {what} became "
        f"non-finite ({value}). {outcome} "
        f"Lower learning_rate_init (currently {estimator.learning_rate_init}) or "
        "scale the input features (e.g. with StandardScaler)."
    )


def _print_chunk(estimator, state, n_samples, seconds):
    """partial_fit's progress on a stream: one line every ``verbose`` calls."""
    chunk = len(state.loss_curve_)  # calls so far, this one included
    if chunk % int(estimator.verbose) == 0:
        print(f"Chunk {chunk}: {state.t_} rows seen, loss = {state.loss_:.8f}, "
              f"{n_samples / seconds:.0f} rows/s", flush=True)


def _print_epoch(state, early_stopping, seconds):
    line = f"Iteration {state.n_iter_}, loss = {state.loss_:.8f}"
    if early_stopping:
        line += f", validation score = {state.validation_scores_[-1]:.6f}"
    print(f"{line}, time = {seconds:.2f}s", flush=True)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _copy_params(state):
    return [p.copy() for p in state.params()]


def _rng(seed, *counters):
    """Random generator for one use (an epoch's shuffle, a split) of a fit's seed.

    Deriving generators from (seed, counters) instead of carrying one along
    keeps the model's state to a single integer, and makes an epoch's order
    independent of what ran before it.
    """
    return np.random.default_rng([seed, *counters])


def _clip_grad_norm(grads, max_norm):
    """Scale the gradients in place so that their global L2 norm is at most max_norm.

    Returns 1 when it clipped, 0 otherwise.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.sqrt(sum(float(np.dot(g, g)) for g in grads))
    if not np.isfinite(norm):
        raise DivergenceError("gradient", norm)
    if norm <= max_norm:
        return 0
    for g in grads:
        g *= g.dtype.type(max_norm / norm)
    return 1


def _grad_scales(layers, dtype):
    """``rescale_grad``: the inverse of each stored weight's load, per layer
    (None where every stored weight is one virtual weight)."""
    scales = []
    for layer in layers:
        loads = layer.loads()
        scales.append(None if loads is None
                      else (1.0 / np.maximum(loads, 1)).astype(dtype))
    return scales
