"""One description of a fitted model, for every export.

:func:`describe` reads a fitted estimator (or a ``Pipeline`` of a
``StandardScaler`` and one) once, checks what every export needs, and returns
plain arrays and names: the layers with their hash seeds and buckets, the
hidden activation, the output head from :data:`~._network.HEADS`, the folded
scaler and the regressor's target scaling. ``export_c`` and ``export_onnx``
render that description; neither reads the estimator itself, so a head or a
method described here once reaches both.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._base import BaseHashedMLP
from ._layers import METHODS
from ._network import HEADS

#: The methods whose layers an export can rebuild from buckets and seeds.
HASHED_METHODS = ("hashing", "hashing_blocks")


@dataclass(frozen=True)
class LayerDescription:
    """One hashed layer: ``V[i, j]`` rebuilt from ``buckets`` and the seeds.

    ``block`` is the run length of ``method="hashing_blocks"`` (None for plain
    hashing); the README's hash recipe says how the seeds give each index.
    """

    method: str
    n_in: int
    n_out: int
    buckets: np.ndarray
    bias: np.ndarray
    seed_h: int
    seed_xi: int
    block: int | None

    @property
    def n_buckets(self):
        return len(self.buckets)


@dataclass(frozen=True)
class ModelDescription:
    """What an export needs of a fitted model, in export-neutral terms.

    ``n_outputs`` counts the columns of ``predict_proba`` (two for a binary
    classifier, whose network has one output unit) or of ``predict``.
    ``x_mean`` / ``x_scale`` (float64, either may be None) are a folded
    ``StandardScaler``: the network sees ``(x - x_mean) / x_scale``. A
    regressor predicts ``head.link(z) * y_scale + y_mean``.
    """

    kind: str
    layers: tuple
    activation: str
    head: object
    is_classifier: bool
    y_type: str | None
    classes: np.ndarray | None
    n_features: int
    n_outputs: int
    n_stored: int
    x_mean: np.ndarray | None
    x_scale: np.ndarray | None
    y_mean: np.ndarray | None
    y_scale: np.ndarray | None
    dtype: np.dtype

    @property
    def units(self):
        return [self.n_features] + [layer.n_out for layer in self.layers]


def split_pipeline(model, export):
    """Return ``(StandardScaler or None, estimator)`` of ``model``, or raise."""
    scaler = None
    estimator = model
    if isinstance(model, Pipeline):
        steps = [(n, s) for n, s in model.steps if s not in (None, "passthrough")]
        if not steps:
            raise ValueError("The Pipeline has no estimator to export.")
        *before, (_, estimator) = steps
        if len(before) > 1 or (before and not isinstance(before[0][1], StandardScaler)):
            listed = ", ".join(f"{n!r} ({type(s).__name__})" for n, s in before)
            raise ValueError(
                f"{export} can fold only a single StandardScaler placed before the "
                f"model into the exported model; this Pipeline has {listed}. Export "
                "the final estimator and apply the other preprocessing yourself "
                "before calling the exported model."
            )
        if before:
            scaler = before[0][1]
    if not isinstance(estimator, BaseHashedMLP):
        raise TypeError(
            f"{export} expects a fitted HashedMLPClassifier or HashedMLPRegressor, "
            f"or a Pipeline ending with one; got {type(estimator).__name__}."
        )
    return scaler, estimator


def describe(model, export="export_c", *, methods=HASHED_METHODS, dtype=np.float32):
    """Describe a fitted model for ``export`` (named in every error).

    ``methods`` are the methods ``export`` can write; ``dtype`` the precision
    it computes in, in which every parameter must be finite.
    """
    scaler, est = split_pipeline(model, export)
    # the method the model was fitted with (``method`` may have been changed
    # since), else the parameter of an unfitted model
    method = getattr(est, "_method", None) or getattr(est, "method", "hashing")
    if method not in methods:
        allowed = " or ".join(repr(m) for m in methods)
        raise ValueError(
            f"{export} exports hashed layers only (method={allowed}); this model "
            f"uses method={method!r}."
        )
    check_is_fitted(est, "buckets_")
    if scaler is not None:
        check_is_fitted(scaler)
        if scaler.n_features_in_ != est.n_features_in_:
            raise ValueError(
                f"The StandardScaler has {scaler.n_features_in_} features but the "
                f"model expects {est.n_features_in_}."
            )
    head = HEADS[est.out_activation_]
    classifier = is_classifier(est)
    y_type = getattr(est, "_y_type", None) if classifier else None
    classes = getattr(est, "classes_", None) if classifier else None
    if y_type == "binary" and len(classes) == 1:
        raise ValueError(
            f"The model was fitted on a single class ({classes.tolist()[0]!r}) and "
            "always predicts it; there is no network to export."
        )

    layers = []
    units = [int(est.n_features_in_)] + [len(b) for b in est.intercepts_]
    for idx, (w, b, seeds) in enumerate(zip(est.buckets_, est.intercepts_,
                                            np.asarray(est.hash_seeds_, np.uint32))):
        with np.errstate(over="ignore"):  # overflow is reported below
            finite = np.isfinite(w.astype(dtype)).all() and np.isfinite(
                b.astype(dtype)).all()
        if not finite:
            raise ValueError(
                f"Layer {idx} of the model has buckets or biases that are not "
                f"finite in {np.dtype(dtype).name}; refit it before exporting."
            )
        layers.append(LayerDescription(
            method=method, n_in=units[idx], n_out=units[idx + 1],
            buckets=np.asarray(w), bias=np.asarray(b),
            seed_h=int(seeds[0]), seed_xi=int(seeds[1]),
            block=METHODS[method].block_length(),
        ))

    x_mean = x_scale = None
    if scaler is not None:  # as StandardScaler.transform: (x - mean) / scale
        if scaler.with_mean:
            x_mean = np.asarray(scaler.mean_, dtype=np.float64)
        if scaler.with_std:
            x_scale = np.asarray(scaler.scale_, dtype=np.float64)
    y_mean = y_scale = None
    if not classifier:
        y_mean = np.asarray(est.target_mean_, dtype=np.float64)
        y_scale = np.asarray(est.target_scale_, dtype=np.float64)
    return ModelDescription(
        kind=type(est).__name__, layers=tuple(layers), activation=est.activation_,
        head=head, is_classifier=classifier, y_type=y_type, classes=classes,
        n_features=units[0], n_outputs=2 if y_type == "binary" else units[-1],
        n_stored=int(est.n_stored_params_), x_mean=x_mean, x_scale=x_scale,
        y_mean=y_mean, y_scale=y_scale, dtype=est.buckets_[0].dtype,
    )
