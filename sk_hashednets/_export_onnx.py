"""Export a fitted model to ONNX, and a converter for skl2onnx.

The file stores what the model stores (buckets, biases, seeds) and computes
every virtual matrix in the graph with the documented hash recipe, so it
grows with the buckets, not with the virtual network. onnxruntime folds each
``V`` into a constant when it creates a session: calls then run as fast as a
dense graph, and session creation pays the hashing once (in time and in
memory, see :func:`creation_bytes`).

Importing this module imports neither ``onnx`` nor ``skl2onnx``: the functions
below import them when called.
"""

import os
import uuid
from functools import cache
from pathlib import Path

import numpy as np

from ._description import describe
from ._errors import warn

#: The oldest opset with the uint32 bitwise operators the hash needs.
MIN_OPSET = 18

#: Above this estimated peak of onnxruntime's session creation (bytes), the
#: export warns (see :func:`creation_bytes`).
CREATION_WARNING_BYTES = 2**30

_DTYPES = {"float32": np.float32, "float64": np.float64}
_INSTALL = "pip install 'sk-hashednets[onnx]'"


def export_onnx(model, path, *, dtype="float32", target_opset=18):
    """Write a fitted model as an ONNX file that computes its hashes in the graph.

    The file holds the buckets, biases and hash seeds, and builds each layer's
    virtual matrix ``V`` with the documented hash recipe, written once as
    model-local ONNX functions (uint32 ``Mul``, ``Add``, ``BitShift``,
    ``BitwiseXor``, ``BitwiseOr``): no index and no ``V`` is stored, so the
    file's size grows with the stored parameters. onnxruntime folds every
    ``V`` into a constant when it creates a session; see the user guide's
    page "ONNX export" for what that costs in time and memory.

    The graph takes one input ``X`` of shape ``(n_samples, n_features)`` in
    ``dtype``. Its outputs follow skl2onnx's convention, without ZipMap:

    * a classifier: ``label`` (what ``predict`` returns: int64 for integer
      classes, string for string classes, an int64 0/1 column per label for a
      multilabel model), then ``probabilities`` (``predict_proba``);
    * a regressor: ``variable``, ``(n_samples, n_outputs)`` (``predict``).

    Parameters
    ----------
    model : HashedMLPClassifier, HashedMLPRegressor or Pipeline
        A fitted estimator of this package (``method="hashing"`` or
        ``"hashing_blocks"``), or a fitted ``Pipeline`` of a
        ``StandardScaler`` followed by one: the scaler is folded into the
        graph, which then takes raw features.
    path : str or path-like
        Where to write the model; must end with ``.onnx``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the graph: of its input, its outputs, the stored buckets
        and the computation. The folded scaler and a regressor's target
        scaling run in float64 either way, as in scikit-learn.
    target_opset : int, default=18
        Version of the ONNX operator set, 18 or newer.

    Returns
    -------
    path : pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If ``model`` is not an estimator of this package (or a Pipeline
        ending with one).
    ValueError
        For a bad ``path``, ``dtype`` or ``target_opset``; a Pipeline step
        other than one StandardScaler; a method without an ONNX form;
        parameters that are not finite in ``dtype``; labels that are not all
        integers or all strings.
    NotFittedError
        If the model or its scaler is not fitted.
    ImportError
        If the ``onnx`` package is not installed.

    Warns
    -----
    UserWarning
        If creating an onnxruntime session on the file is estimated to need
        more than ``CREATION_WARNING_BYTES`` (1 GiB) at its peak.
    """
    dtype = _check_dtype(dtype)
    opset = _check_opset(target_opset)
    target = Path(path)
    if target.suffix != ".onnx":
        raise ValueError(f"path must name an ONNX file ending with '.onnx', got "
                         f"{str(path)!r}.")
    _onnx_model = _import_onnx_model(opset)
    desc = _describe(model, "export_onnx", dtype)
    estimate = creation_bytes(desc, dtype)
    if estimate > CREATION_WARNING_BYTES:
        warn(
            f"Creating an onnxruntime session on this model will need about "
            f"{estimate / 2**30:.1f} GiB at its peak: onnxruntime computes every "
            "virtual matrix when it creates the session and keeps each step of "
            "the hash until it has folded them all. See the user guide's page "
            "'ONNX export'."
        )
    data = _serialize(_onnx_model.build_model(desc, dtype, opset))
    _write(target, data)
    return target


def register_skl2onnx():
    """Teach ``skl2onnx.to_onnx`` to convert this package's estimators.

    After this call, ``skl2onnx.to_onnx(model, X[:1], target_opset=18)``
    converts a fitted :class:`~sk_hashednets.HashedMLPClassifier` or
    :class:`~sk_hashednets.HashedMLPRegressor`, alone or as a step of a
    ``Pipeline`` of any transformers skl2onnx knows. The estimator's nodes
    are those of :func:`export_onnx` with the hash functions expanded inline;
    the classifier's outputs are skl2onnx's ``label`` and ``probabilities``
    (with ZipMap unless ``options={"zipmap": False}``). Converting needs
    ``target_opset`` 18 or newer. Calling this again changes nothing.

    Raises
    ------
    ImportError
        If ``skl2onnx`` (or ``onnx``) is not installed.
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:
        raise ImportError(
            f"register_skl2onnx needs the skl2onnx package: {_INSTALL}"
        ) from exc
    from ._classifier import HashedMLPClassifier
    from ._regressor import HashedMLPRegressor

    update_registered_converter(
        HashedMLPClassifier, "SkHashedNetsHashedMLPClassifier", _skl2onnx_shapes,
        _skl2onnx_convert,
        options={"zipmap": [True, False, "columns"], "nocl": [False]})
    update_registered_converter(
        HashedMLPRegressor, "SkHashedNetsHashedMLPRegressor", _skl2onnx_shapes,
        _skl2onnx_convert)


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------
def _check_dtype(dtype):
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return resolved


def _check_opset(target_opset):
    integer = isinstance(target_opset, (int, np.integer)) and not isinstance(
        target_opset, bool)
    if not integer or target_opset < MIN_OPSET:
        raise ValueError(
            f"target_opset must be an int of at least {MIN_OPSET}: the hash needs "
            "the uint32 bitwise operators (BitwiseXor, BitwiseOr) of opset "
            f"{MIN_OPSET}; got {target_opset!r}."
        )
    return int(target_opset)


def _import_onnx_model(opset):
    try:
        import onnx.defs

        from . import _onnx_model
    except ImportError as exc:
        raise ImportError(f"export_onnx needs the onnx package: {_INSTALL}") from exc
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise ValueError(
            f"target_opset must be at most {newest}, the newest opset of the "
            f"installed onnx package; got {opset}."
        )
    return _onnx_model


def _describe(model, export, dtype):
    from ._onnx_model import HEAD_WRITERS

    desc = describe(model, export, dtype=dtype)
    if desc.head.name not in HEAD_WRITERS:
        raise ValueError(
            f"{export} cannot write the output head {desc.head.name!r}; it writes "
            f"{', '.join(map(repr, HEAD_WRITERS))}."
        )
    if desc.is_classifier and desc.y_type != "multilabel-indicator":
        from ._onnx_model import label_values

        label_values(desc.classes)  # raises for labels ONNX cannot hold
    return desc


def _serialize(model):
    try:
        return model.SerializeToString()
    except ValueError as exc:  # protobuf's 2 GiB limit
        raise ValueError(
            "The model is too large for one ONNX file (protobuf's 2 GiB limit); "
            "export it with fewer buckets."
        ) from exc


def _write(target, data):
    """Write ``data`` to a new file beside ``target``, then rename it: a
    failed write leaves what was at ``target``. (``open`` gives the file the
    permissions of any file the user creates, where ``mkstemp`` would not.)"""
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------
# memory at session creation
# --------------------------------------------------------------------------
def creation_bytes(desc, dtype):
    """Estimated peak bytes onnxruntime adds while it creates a session.

    onnxruntime folds a constant subgraph one node at a time and keeps every
    folded tensor until the whole pass ends, so the peak is the sum of the
    ``n_in x n_out`` intermediates of every layer's ``V``, counted by
    :func:`bytes_per_weight`.
    """
    itemsize = np.dtype(dtype).itemsize
    return sum(layer.n_in * layer.n_out * bytes_per_weight(layer.method, itemsize)
               for layer in desc.layers)


@cache
def bytes_per_weight(method, itemsize):
    """Bytes of the ``n_in x n_out`` tensors that computing one layer's ``V``
    creates (``V`` included), per virtual weight: counted by running the
    function on a small layer with ONNX's reference evaluator."""
    from ._onnx_layers import intermediate_sizes

    n_in, n_out = 7, 131  # a shape no other tensor of the function has
    sizes = intermediate_sizes(method, n_in, n_out, np.dtype(f"f{itemsize}"))
    full = sum(nbytes for count, nbytes in sizes if count == n_in * n_out)
    return full // (n_in * n_out)


# --------------------------------------------------------------------------
# skl2onnx
# --------------------------------------------------------------------------
def _graph_dtype(operator):
    from skl2onnx.common.data_types import DoubleTensorType

    return np.dtype(np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType)
                    else np.float32)


def _skl2onnx_shapes(operator):
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    dtype = _graph_dtype(operator)
    desc = _describe(operator.raw_operator, "register_skl2onnx", dtype)
    n = operator.inputs[0].get_first_dimension()
    tensor = DoubleTensorType if dtype == np.float64 else FloatTensorType
    if not desc.is_classifier:
        operator.outputs[0].type = tensor([n, desc.n_outputs])
        return
    if desc.y_type == "multilabel-indicator":
        operator.outputs[0].type = Int64TensorType([n, desc.n_outputs])
    else:
        from ._onnx_model import label_values

        string = label_values(desc.classes).dtype.kind == "U"
        label = StringTensorType if string else Int64TensorType
        operator.outputs[0].type = label([n])
    operator.outputs[1].type = tensor([n, desc.n_outputs])


def _skl2onnx_convert(scope, operator, container):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    from ._onnx_model import ContainerEmitter, write_network

    opset = container.target_opset
    if opset is None or opset < MIN_OPSET:
        raise ValueError(
            f"Converting a {type(operator.raw_operator).__name__} needs target_opset "
            f"{MIN_OPSET} or newer (the hash's uint32 bitwise operators); got "
            f"{opset}."
        )
    dtype = _graph_dtype(operator)
    desc = _describe(operator.raw_operator, "register_skl2onnx", dtype)
    em = ContainerEmitter(scope, container, opset)
    x = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, (FloatTensorType, DoubleTensorType)):
        x = em.op("Cast", x, to=1)  # integer or boolean features: float32
    write_network(desc, em, x, dtype, [o.full_name for o in operator.outputs])
