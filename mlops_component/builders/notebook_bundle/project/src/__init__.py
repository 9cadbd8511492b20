"""This project's code. `src.pipeline` drives the deployed MLOps pipeline; add your own modules next to it."""
