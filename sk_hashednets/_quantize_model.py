"""``sk_hashednets.quantize``: a fitted model whose buckets hold exactly the
values an export stores at low precision, to score before flashing."""

import copy

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._base import BaseHashedMLP
from ._description import HASHED_METHODS
from ._quantize import check_precision, rounded


def quantize(model, buckets):
    """A copy of a fitted model with its buckets as ``export_c`` stores them.

    Each layer's buckets are rounded with the rule the C export uses (one
    scale per layer, ``scale = max|w| / L`` and ``q = rint(w / scale)`` in
    ``[-L, L]``, L = 127 for ``"int8"`` and 7 for ``"int4"``; see the export
    guide for the bytes), so the copy's ``buckets_`` are ``scale * q``: its
    ``predict_proba`` / ``predict`` is what the board computes (to float
    rounding) and its ``score`` the board's accuracy. ``model`` is left
    untouched.

    A model trained with ``quantize=buckets`` already holds these values; its
    copy is returned unchanged. Otherwise the copy keeps the model's buckets
    as the float buckets a ``warm_start`` or ``partial_fit`` call continues
    from (fine-tuning for the precision when ``quantize=buckets`` is set).

    Parameters
    ----------
    model : HashedMLPClassifier, HashedMLPRegressor or Pipeline
        A fitted estimator of this package with ``method="hashing"`` or
        ``"hashing_blocks"``, or a fitted ``Pipeline`` ending with one (the
        other steps are copied as they are).
    buckets : {"int8", "int4"}
        The precision of the buckets.

    Returns
    -------
    model : estimator or Pipeline
        The fitted copy; its ``quantize_`` is ``buckets`` and its
        ``n_stored_bytes_`` the bytes the export stores.

    Raises
    ------
    ValueError
        For another ``buckets``, or a model whose method has no export.
    TypeError
        If ``model`` is not an estimator of this package or a Pipeline
        ending with one.
    NotFittedError
        If the model is not fitted.
    """
    check_precision(buckets, "buckets")
    estimator = _final(model)
    if not isinstance(estimator, BaseHashedMLP):
        raise TypeError(
            "quantize expects a fitted HashedMLPClassifier or HashedMLPRegressor, "
            f"or a Pipeline ending with one; got {type(estimator).__name__}."
        )
    method = getattr(estimator, "_method", None) or estimator.method
    if method not in HASHED_METHODS:
        allowed = " or ".join(repr(m) for m in HASHED_METHODS)
        raise ValueError(
            f"quantize rounds the buckets an export stores, which exists for "
            f"method={allowed}; this model uses method={method!r}. Train it "
            "with quantize='int8' or 'int4' instead."
        )
    check_is_fitted(estimator, "buckets_")
    copied = copy.deepcopy(model)
    estimator = _final(copied)
    if getattr(estimator, "quantize_", None) == buckets:
        return copied
    stored = estimator.buckets_
    estimator._latent_buckets = stored
    estimator.buckets_ = [rounded(w, buckets) for w in stored]
    estimator.quantize_ = buckets
    if getattr(estimator, "_optimizer", None) is not None:
        estimator._optimizer.params = stored + estimator.intercepts_
    return copied


def _final(model):
    if isinstance(model, Pipeline):
        steps = [s for _, s in model.steps if s not in (None, "passthrough")]
        return steps[-1] if steps else None
    return model
