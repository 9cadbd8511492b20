"""The scoring application, built once per gunicorn worker (model loaded here). See xgb_model/app.py."""

import gc

from xgb_model.app import create_app

app = create_app()
# What exists now (modules, the model) lives as long as the worker: keep the cyclic GC from rescanning it.
gc.freeze()
