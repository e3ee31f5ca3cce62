"""Weight parametrizations by method: the registry (:data:`METHODS`) and how
layers are built. Each method is a module of its own behind the interface of
:class:`._layer_base.WeightParametrization`:

* ``"hashing"``, ``"hashing_blocks"``: :mod:`._layer_hashing`;
* ``"low_rank"``: :mod:`._layer_low_rank`;
* ``"random_edges"``: :mod:`._layer_random_edges`;
* ``"shrunk"``: :mod:`._layer_shrunk`.
"""

from ._layer_base import MAX_VIRTUAL, WeightParametrization
from ._layer_hashing import BlockHashedWeights, HashedWeights
from ._layer_low_rank import LowRankWeights
from ._layer_random_edges import RandomEdgeWeights
from ._layer_shrunk import DenseWeights

__all__ = ["MAX_VIRTUAL", "METHODS", "BlockHashedWeights", "DenseWeights",
           "HashedWeights", "LowRankWeights", "RandomEdgeWeights",
           "WeightParametrization", "make_layer", "make_layer_once"]


#: method name -> parametrization of each layer
METHODS = {
    "hashing": HashedWeights,
    "hashing_blocks": BlockHashedWeights,
    "low_rank": LowRankWeights,
    "random_edges": RandomEdgeWeights,
    "shrunk": DenseWeights,
}


#: layers an estimator keeps built (refits with new seeds forget the oldest)
KEPT_LAYERS = 16


def make_layer_once(memo, method, n_in, n_out, n_stored, seeds, cache=False):
    """:func:`make_layer`, building once each layer that is costly to build
    (``keep_built``: random edges, whose mask costs passes over every virtual
    weight); it is kept in the dict ``memo`` (keyed by method, shape, stored
    weights and seeds). Other layers are cheap to build, and low-rank ones
    keep per-call buffers, so they are built on each call.
    """
    if not METHODS[method].keep_built:
        return make_layer(method, n_in, n_out, n_stored, seeds, cache=cache)
    key = (method, n_in, n_out, n_stored, *(int(s) for s in seeds))
    if key not in memo:
        if len(memo) >= KEPT_LAYERS:
            del memo[next(iter(memo))]
        memo[key] = make_layer(method, n_in, n_out, n_stored, seeds)
    return memo[key]


def make_layer(method, n_in, n_out, n_stored, seeds, cache=False):
    """Build the parametrization of one layer."""
    return METHODS[method](n_in, n_out, n_stored, seeds, cache=cache)
