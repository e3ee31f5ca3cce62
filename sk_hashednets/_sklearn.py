"""``to_sklearn``: a fitted hashed model as the fitted scikit-learn MLP that
computes the same function.

Every layer of a fitted model, whatever its ``method``, multiplies by a dense
virtual matrix V (``coefs_``). A scikit-learn ``MLPClassifier`` or
``MLPRegressor`` holding those matrices as its ``coefs_``, the same biases,
hidden activation and output activation computes what the hashed model does,
with scikit-learn's own ``predict`` and for every tool that reads scikit-learn's
MLPs. The cost is memory: V is dense, ``n_in * n_out`` numbers of the model's
dtype per layer, which is what the hashing saved.

This module reads the fitted model's attributes only; it imports none of the
estimators' modules.
"""

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

#: The output heads scikit-learn's MLPs have, by ``out_activation_``: the
#: class that has it and, for a regressor, the ``loss`` that selects it.
SKLEARN_HEADS = {
    "softmax": (MLPClassifier, None),
    "logistic": (MLPClassifier, None),
    "identity": (MLPRegressor, "squared_error"),
    "exp": (MLPRegressor, "poisson"),
}

#: Fitted attributes the hashed models share with scikit-learn's, copied as
#: they are (the training history: it describes how this network was fitted).
_SHARED = ("n_features_in_", "feature_names_in_", "n_iter_", "t_", "loss_",
           "loss_curve_", "best_loss_", "validation_scores_",
           "best_validation_score_", "_no_improvement_count")


def to_sklearn(model):
    """The fitted ``MLPClassifier`` / ``MLPRegressor`` equivalent to ``model``."""
    check_is_fitted(model, "buckets_")
    name, head = type(model).__name__, model.out_activation_
    if head not in SKLEARN_HEADS:
        raise ValueError(
            f"This {name} has out_activation_={head!r}, which scikit-learn's "
            "MLPs lack (theirs: " + ", ".join(map(repr, SKLEARN_HEADS)) + "); "
            "it has no scikit-learn equivalent."
        )
    cls, loss = SKLEARN_HEADS[head]
    params = _shared_params(model, cls)
    if loss in _loss_options():
        params["loss"] = loss
    elif loss not in (None, "squared_error"):  # before 1.7: squared error only
        raise ValueError(
            f"This {name} has out_activation_={head!r}, which MLPRegressor has "
            f"with loss={loss!r} from scikit-learn 1.7 on; this scikit-learn's "
            "MLPRegressor lacks it."
        )
    coefs = model.coefs_
    intercepts = [b.copy() for b in model.intercepts_]
    mlp = cls(**params)
    if cls is MLPClassifier:
        mlp.classes_, mlp._label_binarizer = _classes(model)
    else:
        _fold_target_scaling(model, coefs, intercepts)
    mlp.coefs_, mlp.intercepts_ = coefs, intercepts
    mlp.n_layers_ = len(coefs) + 1
    mlp.n_outputs_ = intercepts[-1].size
    mlp.out_activation_ = head
    for attr in _SHARED:
        if hasattr(model, attr):
            value = getattr(model, attr)
            setattr(mlp, attr, list(value) if isinstance(value, list) else value)
    return mlp


def _loss_options():
    """The ``loss`` values this scikit-learn's MLPRegressor accepts."""
    constraints = MLPRegressor._parameter_constraints.get("loss", [])
    return {option for c in constraints for option in getattr(c, "options", ())}


def _shared_params(model, cls):
    """The hyperparameters ``cls`` shares with ``model`` and accepts as they
    are (say ``alpha``, ``solver``); the others keep scikit-learn's defaults.
    They matter only if the MLP is trained further."""
    ours = model.get_params(deep=False)
    params = {}
    for key in cls().get_params(deep=False):
        if key not in ours:
            continue
        try:
            validate_parameter_constraints(
                {key: cls._parameter_constraints[key]}, {key: ours[key]},
                caller_name=cls.__name__)
        except InvalidParameterError:
            continue
        params[key] = ours[key]
    # the network as fitted (``method="shrunk"`` narrows the hidden layers)
    params["hidden_layer_sizes"] = tuple(b.size for b in model.intercepts_[:-1])
    params["activation"] = model.activation_
    return params


def _classes(model):
    """``classes_`` and the fitted ``LabelBinarizer`` MLPClassifier keeps."""
    classes, y_type = model.classes_, model._y_type
    if y_type == "binary" and len(classes) == 1:
        raise ValueError(
            f"This HashedMLPClassifier was fitted on a single class "
            f"({classes.tolist()[0]!r}), which it predicts with probability 1; "
            "MLPClassifier has no equivalent (its probabilities for a single "
            "class depend on its weights)."
        )
    binarizer = LabelBinarizer()
    if y_type == "multilabel-indicator":
        binarizer.fit(np.eye(len(classes), dtype=int))
    else:
        binarizer.fit(classes)
    return binarizer.classes_, binarizer


def _fold_target_scaling(model, coefs, intercepts):
    """Fold the regressor's target scaling (``predict`` returns ``out * scale
    + mean``) into the output layer, in place."""
    mean, scale = model.target_mean_, model.target_scale_
    if model.out_activation_ == "exp":  # trained on the counts as they are
        if np.any(mean != 0) or np.any(scale != 1):
            raise ValueError(
                "This HashedMLPRegressor scales the exp output "
                f"(target_mean_={mean}, target_scale_={scale}); MLPRegressor "
                "has no equivalent."
            )
        return
    dtype = coefs[-1].dtype
    coefs[-1] = (coefs[-1] * scale).astype(dtype)
    intercepts[-1] = (intercepts[-1] * scale + mean).astype(dtype)
