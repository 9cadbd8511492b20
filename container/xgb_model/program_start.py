"""Imported first by the container's programs (`train`, `batch-predict`, each serving worker), for a fast start.

It imports XGBoost without its scikit-learn wrappers: `xgboost.compat` imports scikit-learn (and through it
scipy's statistics) whenever it is installed, over a second of every process start, and `xgboost.sklearn`
(with `xgboost.plotting`, which imports it) imports scipy's special functions, 40 ms more, for classes these
programs never use. XGBoost's package imports those two modules in a `try` that ignores an ImportError, so
hiding them leaves `Booster`, `DMatrix`, `train` and the rest as they are. They are hidden only while XGBoost
is imported, so later code can still import scikit-learn; XGBoost's own `XGBClassifier` and friends are
then unavailable in that process, which is why only the programs, never the library modules, import this.
"""

from __future__ import annotations

import sys

_HIDDEN = ("sklearn", "xgboost.sklearn")

if "xgboost" not in sys.modules and not any(name in sys.modules for name in _HIDDEN):
    for name in _HIDDEN:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import <name>` raise ImportError
    try:
        from xgb_model import xgboost_runtime  # noqa: F401
    finally:
        for name in _HIDDEN:
            del sys.modules[name]
