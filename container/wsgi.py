"""gunicorn's entry point, `wsgi:app`, as in SageMaker's bring-your-own-container layout."""

from predictor import app

__all__ = ["app"]
