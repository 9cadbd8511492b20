"""The scoring application, built once per gunicorn worker (model loaded here). See xgb_model/app.py."""

import gc

import xgb_model.program_start  # noqa: F401  (first: a fast start, see its docstring)
from xgb_model.app import create_app

app = create_app()
# What exists now (modules, the model) lives as long as the worker: keep the cyclic GC from rescanning it.
gc.freeze()
