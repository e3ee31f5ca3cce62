"""
Regression with a hashed network
================================

:class:`~sk_hashednets.HashedMLPRegressor` on scikit-learn's diabetes data: a
64-unit hidden layer stored at compression 1/8, with dropout (the data set is
small: 331 training rows). The regressor standardizes its targets internally,
so raw targets train well. A ridge regression on the same split is the
yardstick. The plot shows predictions against the measured targets of the
test set, and the loss curve.

Reproduce the figure with ``python examples/plot_regression.py``.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_hashednets import HashedMLPRegressor

# the short run stops at max_iter on purpose
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
reg = HashedMLPRegressor(hidden_layer_sizes=(64,), compression=1 / 8,
                         dropout=0.25, max_iter=100, random_state=0)
model = make_pipeline(StandardScaler(), reg).fit(X_train, y_train)
print(f"{reg.n_stored_params_:,} stored of {reg.n_virtual_params_:,} parameters, "
      f"test R^2 {model.score(X_test, y_test):.3f}")
ridge = make_pipeline(StandardScaler(), Ridge()).fit(X_train, y_train)
print(f"ridge regression: test R^2 {ridge.score(X_test, y_test):.3f}")

# %%
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 4))
ax0.plot(y_test, model.predict(X_test), ".")
ax0.plot([y.min(), y.max()], [y.min(), y.max()], "k:", lw=1)
ax0.set_xlabel("measured disease progression")
ax0.set_ylabel("predicted")
ax0.set_title(f"test set, R^2 = {model.score(X_test, y_test):.3f}")
ax1.plot(reg.loss_curve_)
ax1.set_xlabel("epoch")
ax1.set_ylabel("training loss (standardized targets)")
fig.tight_layout()
plt.show()
