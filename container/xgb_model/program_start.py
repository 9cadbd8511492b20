"""Imported first by the container's programs (`train`, `batch-predict`, each serving worker), for a fast start.

It imports XGBoost without its scikit-learn wrappers: `xgboost.compat` imports scikit-learn (and through it
scipy's statistics) whenever it is installed, over a second of every process start, for classes these
programs never use. scikit-learn is hidden only while XGBoost is imported, so later code can still import
it; XGBoost's own `XGBClassifier` and friends are then unavailable in that process, which is why only the
programs, never the library modules, import this.
"""

from __future__ import annotations

import sys

if "xgboost" not in sys.modules and "sklearn" not in sys.modules:
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` raise ImportError
    try:
        from xgb_model import xgboost_runtime  # noqa: F401
    finally:
        del sys.modules["sklearn"]
