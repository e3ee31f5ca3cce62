"""HashedNets for scikit-learn: neural networks compressed with the hashing trick.

Chen, Wilson, Tyree, Weinberger and Chen, "Compressing Neural Networks with the
Hashing Trick", ICML 2015.
"""

from ._classifier import HashedMLPClassifier
from ._export import export_c
from ._export_onnx import export_onnx, register_skl2onnx
from ._quantize_model import quantize
from ._regressor import HashedMLPRegressor
from ._version import __version__

__all__ = ["HashedMLPClassifier", "HashedMLPRegressor", "export_c", "export_onnx",
           "quantize", "register_skl2onnx", "__version__"]
