"""The scoring application, built once per gunicorn worker (model loaded here). See xgb_model/app.py."""

from xgb_model.app import create_app

app = create_app()
