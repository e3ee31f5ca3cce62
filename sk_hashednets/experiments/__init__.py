"""The paper's comparisons, every method at its best.

``python -m sk_hashednets.experiments`` runs them. The subpackage sits on top
of the estimators and nothing of the package imports it: :mod:`.plan` holds
what runs (methods, settings, the recipe, the runs and their keys),
:mod:`.runs` trains and stores them, :mod:`.results` reads them back,
:mod:`.claims` says what they show, :mod:`.report` writes RESULTS.md, and
:mod:`.cli` is the command line.

Experiments (each resumable: finished runs are read back from their JSON file
instead of being trained again, and several processes may share one file):

* ``sweep``: every method tries the same settings (momentum SGD at four
  learning rates, Adam at three, and for both hashing methods each of them
  with and without ``rescale_grad``) on a 784-1000-10 network at compression
  1/8 and 1/64; each method's best setting is the one with the lowest mean
  validation error, chosen on the validation split only. Hashing, block
  hashing and the equal-storage network also try the paper's own recipe
  (:data:`PAPER_RATES`, see :func:`setting_params`), chosen apart;
* ``table1``: test error of a 784-1000-10 network and a 784-1000-1000-1000-10
  network (each seed) at compression 1/8 and 1/64, every method and hashing
  distilled from a teacher (the dense network of the same architecture) at
  its best setting;
* ``paper``: the paper's recipe at its best rate for hashing, block hashing
  and the equal-storage network, 784-1000-10 at 1/8 and 1/64, each seed;
* ``distillation``: hashing distilled from the dense 784-1000-10 teacher at
  every temperature of :data:`TEMPERATURES` and weight of
  :data:`DISTILLATION_WEIGHTS`, at 1/8 and 1/64, each seed;
* ``compression``: test error against compression, 1 down to 1/64, one hidden
  layer of 1000 units (1/8 and 1/64 come from ``table1``'s first seed);
* ``expansion``: the storage of a dense 784-50-10 network spread over hashed
  networks whose hidden layer is 1, 2, 4, ..., 32 times wider;
* ``report``: rewrite RESULTS.md and the figures from the stored runs.

Every run uses the authors' recipe: dropout 0.25 on the inputs and the hidden
units, batch 50, inputs scaled to [0, 1], and the epoch with the best accuracy
on a 20% validation split of the training data (early stopping after
``--patience`` epochs without improvement). The paper's full recipe also
decays the momentum-SGD rate as ``lr / (1 + 1e-4 t)`` over the steps ``t``,
with classical momentum 0.9, for up to :data:`PAPER_EPOCHS` epochs with
patience :data:`PAPER_PATIENCE`.
"""

from .cli import main
from .plan import (
    METHODS,
    NAMES,
    best_settings,
    expansion_buckets,
    recipe,
    setting_params,
    settings_of,
)
from .runs import fit_and_score

__all__ = ["METHODS", "NAMES", "best_settings", "expansion_buckets",
           "fit_and_score", "main", "recipe", "setting_params", "settings_of"]
