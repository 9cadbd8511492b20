"""XGBoost, imported the way every program of the container needs it. Import `xgboost` from here.

OpenMP's wait policy is PASSIVE unless the environment says otherwise: with the default, every XGBoost thread
spins at each barrier, and on a host with other work (a shared instance, a busy laptop, several trials at
once) training ran 3-16 times slower. libgomp reads the variable once, when XGBoost's library is loaded, so
it must be set before the import below. The image sets it too.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import xgboost

__all__ = ["xgboost"]
