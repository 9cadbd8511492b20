"""XGBoost, imported the way every program of the container needs it. Import `xgboost` from here.

- OpenMP's wait policy is PASSIVE unless the environment says otherwise: with the default, every XGBoost
  thread spins at each barrier, and on a host with other work (a shared instance, a busy laptop, several
  trials at once) training ran 3-16 times slower. libgomp reads the variable once, when XGBoost's library
  is loaded, so it must be set before the import below. The image sets it too.
- XGBoost's scikit-learn wrappers are left out: `xgboost.compat` imports scikit-learn (and through it scipy's
  statistics) whenever it is installed, about a second of every process start, for classes this program
  never uses. It is hidden only while XGBoost is imported, so other code in the process can still import it.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_hide = "xgboost" not in sys.modules and "sklearn" not in sys.modules
if _hide:
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` raise ImportError
try:
    import xgboost
finally:
    if _hide:
        del sys.modules["sklearn"]

__all__ = ["xgboost"]
