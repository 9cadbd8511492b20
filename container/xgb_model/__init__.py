"""The bring-your-own-model XGBoost program that runs inside the SageMaker container.

The SageMaker contract files next to this package (`train`, `serve`, `batch-predict`, `wsgi.py`,
`predictor.py`) only call into it:

- `program_start`: imported first by each program, for a fast start (XGBoost without its scikit-learn parts);
- `xgboost_runtime`: XGBoost with OpenMP's passive wait policy;
- `paths`: where SageMaker puts inputs and expects outputs, under one overridable root;
- `jobs`: the failure-file convention shared by every program;
- `hyperparameters`: SageMaker's all-string hyperparameters as a typed model;
- `data`: reading the labelled channels (`train`, optional `validation`);
- `metrics`: binary-classification metrics that are always finite;
- `training`: cross-validation, the final model, and the `train` program;
- `distributed`: training one model across the hosts of a multi-instance training job (XGBoost's collective);
- `model`: the saved model on disk, loaded once and used for prediction and explanations;
- `payload`: decoding request bodies (CSV, JSON) and encoding responses;
- `app`: the Flask application behind `/ping` and `/invocations`;
- `server`: the `serve` program (nginx in front of gunicorn);
- `gunicorn_worker`: the serving workers' class (gunicorn's gthread, stopping at once on SIGTERM);
- `allocator`: keeps a worker's large request buffers in its heap (glibc's malloc thresholds);
- `batch`: the `batch-predict` program (a folder of CSV files in, predictions out).
"""
