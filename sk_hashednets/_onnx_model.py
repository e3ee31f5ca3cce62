"""A described model as ONNX nodes: scaler, hashed layers, output head.

:func:`write_network` writes the whole inference graph of a
:class:`~._description.ModelDescription` through a small *emitter* (``op``
for a node, ``init`` for a stored tensor), so the same code builds the file of
:func:`~sk_hashednets.export_onnx` (:class:`GraphEmitter`, where each layer's
``V`` is one call of a model-local function) and the nodes of the skl2onnx
converter (:class:`ContainerEmitter`, where the calls are expanded inline,
since a converter adds nodes to skl2onnx's graph, not functions).

Outputs follow skl2onnx's convention: a classifier's ``label`` (int64 for
integer classes, string for string classes; one int64 0/1 column per label
for a multilabel model) then ``probabilities`` (the columns of
``predict_proba``); a regressor's ``variable`` (``n_samples x n_outputs``).
This module imports ``onnx``; only the ONNX export imports it.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from . import _onnx_layers
from ._onnx_layers import DOMAIN
from ._version import __version__

_ELEM = {np.dtype(np.float32): TensorProto.FLOAT,
         np.dtype(np.float64): TensorProto.DOUBLE}

#: Hidden activations, by the fitted ``activation_``.
ACTIVATIONS = {"identity": None, "relu": "Relu", "tanh": "Tanh",
               "logistic": "Sigmoid"}


# --------------------------------------------------------------------------
# emitters
# --------------------------------------------------------------------------
class GraphEmitter:
    """Collects the nodes and initializers of one ONNX graph."""

    def __init__(self):
        self.nodes, self.initializers = [], []
        self._count = 0
        self._stored = {}

    def _name(self, hint):
        self._count += 1
        return f"{hint}{self._count}"

    def op(self, op_type, *inputs, domain="", out=None, **attrs):
        out = out or self._name("t")
        self.nodes.append(helper.make_node(op_type, list(inputs), [out],
                                           domain=domain or None, **attrs))
        return out

    def init(self, array, hint):
        """A stored tensor; equal small ones (sizes, seeds) are stored once."""
        array = np.asarray(array)
        key = None
        if array.size <= 4:
            key = (array.dtype.str, array.shape, array.tobytes())
        if key is not None and key in self._stored:
            return self._stored[key]
        name = self._name(hint)
        if array.dtype.kind in "OU":
            tensor = helper.make_tensor(name, TensorProto.STRING, array.shape,
                                        [str(v).encode() for v in array.ravel()])
        else:
            tensor = numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        if key is not None:
            self._stored[key] = name
        return name


class ContainerEmitter:
    """Adds nodes to a skl2onnx ``ModelComponentContainer``, expanding the
    calls of this package's ONNX functions into their bodies."""

    def __init__(self, scope, container, opset):
        self.scope, self.container = scope, container
        self.functions = {f.name: f for f in _onnx_layers.functions(
            ("hashing", "hashing_blocks"), opset)}

    def _name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def op(self, op_type, *inputs, domain="", out=None, **attrs):
        if domain == DOMAIN:
            return self._inline(self.functions[op_type], list(inputs), out)
        out = out or self._name("hn")
        self.container.add_node(op_type, list(inputs), [out],
                                name=self.scope.get_unique_operator_name(op_type),
                                **attrs)
        return out

    def _inline(self, function, inputs, out):
        names = dict(zip(function.input, inputs))
        for node in function.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            last = node.output[0] in function.output
            names[node.output[0]] = self.op(
                node.op_type, *(names[i] for i in node.input), domain=node.domain,
                out=out if last else None, **attrs)
        return names[function.output[0]]

    def init(self, array, hint):
        array = np.asarray(array)
        name = self._name(hint)
        if array.dtype.kind in "OU":
            self.container.add_initializer(name, TensorProto.STRING,
                                           list(array.shape),
                                           [str(v) for v in array.ravel()])
        else:
            tensor = numpy_helper.from_array(array, name)
            self.container.add_initializer(name, tensor.data_type,
                                           list(array.shape), tensor)
        return name


# --------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------
def label_values(classes):
    """``classes_`` as the tensor of a ``label`` output, as skl2onnx types it:
    int64 for numbers (integers, booleans, integral floats), else strings."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f" and np.all(np.isfinite(classes)) and np.all(
            classes == np.round(classes)):
        return classes.astype(np.int64)
    if classes.dtype.kind == "U" or all(isinstance(c, str) for c in classes):
        return classes.astype(str)
    kinds = sorted({type(c).__name__ for c in classes.tolist()})
    raise ValueError(
        "An ONNX label is an int64 or a string tensor; this model's classes_ "
        f"hold {', '.join(kinds)} values that are not all integers or all "
        "strings. Refit it on such labels to export it."
    )


def write_network(desc, em, x, dtype, outputs):
    """Write the inference graph of ``desc`` from the input ``x`` (a tensor
    of ``dtype``); ``outputs`` are the names to give the outputs (``label``,
    ``probabilities`` or ``variable``)."""
    dtype = np.dtype(dtype)
    a = _scale_input(desc, em, x, dtype)
    for idx, layer in enumerate(desc.layers):
        w = em.init(layer.buckets.astype(dtype), f"w{idx}_")
        sizes = [em.init(np.int64(n), "n") for n in (layer.n_in, layer.n_out)]
        seeds = [em.init(np.uint32(s), "s") for s in (layer.seed_h, layer.seed_xi)]
        name = _onnx_layers.FUNCTION_NAMES[layer.method]
        V = em.op(name, w, *sizes, *seeds, domain=DOMAIN)
        z = em.op("Add", em.op("MatMul", a, V),
                  em.init(layer.bias.astype(dtype), f"b{idx}_"))
        act = ACTIVATIONS[desc.activation]
        a = em.op(act, z) if act and idx < len(desc.layers) - 1 else z
    HEAD_WRITERS[desc.head.name](desc, em, a, dtype, outputs)


def _scale_input(desc, em, x, dtype):
    """The folded StandardScaler, computed in float64 as scikit-learn does."""
    if desc.x_mean is None and desc.x_scale is None:
        return x
    a = x if dtype == np.float64 else em.op("Cast", x, to=TensorProto.DOUBLE)
    if desc.x_mean is not None:
        a = em.op("Sub", a, em.init(desc.x_mean, "mean"))
    if desc.x_scale is not None:
        a = em.op("Div", a, em.init(desc.x_scale, "scale"))
    return a if dtype == np.float64 else em.op("Cast", a, to=_ELEM[dtype])


def _softmax(desc, em, z, dtype, outputs):
    label, proba = outputs
    index = em.op("ArgMax", z, axis=1, keepdims=0)
    em.op("Gather", em.init(label_values(desc.classes), "classes"), index,
          axis=0, out=label)
    em.op("Softmax", z, axis=1, out=proba)


def _logistic(desc, em, z, dtype, outputs):
    label, proba = outputs
    # labels from z > 0, as predict does (the probability above 0.5)
    positive = em.op("Greater", z, em.init(np.zeros((), dtype), "zero"))
    p = em.op("Sigmoid", z)
    if desc.y_type == "binary":
        index = em.op("Cast", em.op("Squeeze", positive,
                                    em.init(np.array([1], np.int64), "axis")),
                      to=TensorProto.INT64)
        em.op("Gather", em.init(label_values(desc.classes), "classes"), index,
              axis=0, out=label)
        # predict_proba's [1 - p, p], 1 - p in the model's precision
        em.op("Concat", em.op("Sub", em.init(np.ones((), dtype), "one"), p), p,
              axis=1, out=proba)
    else:
        em.op("Cast", positive, to=TensorProto.INT64, out=label)
        em.op("Identity", p, out=proba)


def _regression(link):
    def head(desc, em, z, dtype, outputs):
        (variable,) = outputs
        y = em.op(link, z) if link else z
        # target scaling undone in float64, as predict does
        if dtype != np.float64:
            y = em.op("Cast", y, to=TensorProto.DOUBLE)
        y = em.op("Add", em.op("Mul", y, em.init(desc.y_scale, "yscale")),
                  em.init(desc.y_mean, "ymean"))
        em.op("Cast", y, to=_ELEM[dtype], out=variable)
    return head


#: How each output head of :data:`~._network.HEADS` is written, by name; an
#: export refuses a head this table lacks.
HEAD_WRITERS = {"softmax": _softmax, "logistic": _logistic,
          "identity": _regression(None), "exp": _regression("Exp")}


def output_names(desc):
    return ("label", "probabilities") if desc.is_classifier else ("variable",)


def _outputs_info(desc, dtype):
    elem = _ELEM[np.dtype(dtype)]
    if not desc.is_classifier:
        return [helper.make_tensor_value_info("variable", elem, [None, desc.n_outputs])]
    if desc.y_type == "multilabel-indicator":
        label = helper.make_tensor_value_info("label", TensorProto.INT64,
                                              [None, desc.n_outputs])
    else:
        values = label_values(desc.classes)
        kind = TensorProto.STRING if values.dtype.kind == "U" else TensorProto.INT64
        label = helper.make_tensor_value_info("label", kind, [None])
    return [label, helper.make_tensor_value_info("probabilities", elem,
                                                 [None, desc.n_outputs])]


def build_model(desc, dtype, opset):
    """The ``ModelProto`` of ``export_onnx``."""
    em = GraphEmitter()
    write_network(desc, em, "X", dtype, output_names(desc))
    methods = {layer.method for layer in desc.layers}
    x = helper.make_tensor_value_info("X", _ELEM[np.dtype(dtype)],
                                      [None, desc.n_features])
    shape = "-".join(str(u) for u in desc.units)
    graph = helper.make_graph(em.nodes, desc.kind, [x], _outputs_info(desc, dtype),
                              initializer=em.initializers)
    model = helper.make_model(
        graph, opset_imports=_onnx_layers.opsets(opset),
        functions=_onnx_layers.functions(methods, opset),
        producer_name="sk-hashednets", producer_version=__version__,
        doc_string=f"{desc.kind} {shape}, method={desc.layers[0].method!r}")
    # the oldest IR version of the opset, so that older runtimes load the
    # file (onnx.helper writes its own, newest one)
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import)[:1])
    return model
