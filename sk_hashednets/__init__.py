"""HashedNets for scikit-learn: neural networks compressed with the hashing trick.

Chen, Wilson, Tyree, Weinberger and Chen, "Compressing Neural Networks with the
Hashing Trick", ICML 2015.
"""

__version__ = "0.1.0"

from ._classes import HashedMLPClassifier, HashedMLPRegressor  # noqa: E402
from ._export import export_c  # noqa: E402
from ._export_onnx import export_onnx, register_skl2onnx  # noqa: E402

# Saved models (pickle, joblib, skops) name a class by its module: the public
# one keeps them loadable whatever private module the class moves to.
HashedMLPClassifier.__module__ = HashedMLPRegressor.__module__ = __name__

__all__ = ["HashedMLPClassifier", "HashedMLPRegressor", "export_c", "export_onnx",
           "register_skl2onnx", "__version__"]
