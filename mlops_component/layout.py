"""The S3 layout: every prefix and key the pipeline reads or writes, in one place (docs/data-contract.md).

The bottom layer of the package: plain constants that the config, the builders, the components and the tools all
share, so nothing defines a prefix twice.
"""

from __future__ import annotations

# Feature store: where raw data lands; the trigger watches exactly these prefixes.
TRAIN_PREFIX = "data/train/"
SCORE_PREFIX = "data/score/"
# Feature store: scratch space for the dev environment; no trigger watches it and no crawler catalogs it.
SANDBOX_PREFIX = "sandbox/"

# Source repository: the Glue job's code, its extra wheels and the notebook's bundle.
ETL_CODE_PREFIX = "etl/"
WHEEL_PREFIX = f"{ETL_CODE_PREFIX}python/"
BUNDLE_PREFIX = "devenv/"

# Extracts store: what the ETL writes and the training and scoring jobs read.
TRAIN_CHANNEL_PREFIX = "train/"
# The validation holdout, written when the workflow has a validation channel (`use_validation_channel`).
VALIDATION_CHANNEL_PREFIX = "validation/"
VALIDATION_KEY = f"{VALIDATION_CHANNEL_PREFIX}validation.csv"
# Batch Transform reads every object under the score prefix: one file on one instance, else one part per
# instance (`score/part-00000.csv`, ...), since it hands each instance whole files.
SCORE_EXTRACT_PREFIX = "score/"
SCORE_EXTRACT_KEY = f"{SCORE_EXTRACT_PREFIX}score.csv"
SCORE_PART_KEY = f"{SCORE_EXTRACT_PREFIX}part-{{:05d}}.csv"
SCHEMA_PREFIX = "schema/"
SCHEMA_KEY = f"{SCHEMA_PREFIX}columns.json"
# The ETL's scratch space: each run stages its set here and backs up the one it replaces (etl/transform.py).
ETL_STAGING_PREFIX = "etl-runs/"
EXTRACT_PREFIXES = [
    TRAIN_CHANNEL_PREFIX,
    VALIDATION_CHANNEL_PREFIX,
    SCORE_EXTRACT_PREFIX,
    SCHEMA_PREFIX,
    ETL_STAGING_PREFIX,
]

# Models store: the tuning job's training outputs.
MODELS_PREFIX = "tuning/"
# Metadata store: one record per run, and for a run whose model the gate stopped, why it was not registered.
METADATA_PREFIX = "runs/"
NOT_REGISTERED_KEY = f"{METADATA_PREFIX}{{}}.not-registered.json"
# Metadata store: each registered model's quality report (`<prefix><run>/model-quality.json`), which its model
# package references as ModelMetrics.ModelQuality.Statistics.
MODEL_QUALITY_PREFIX = "model-quality/"
MODEL_QUALITY_FILE = "model-quality.json"
# Metadata store: one record per deployment (`<prefix><execution name>.json`): which package it deployed, and why.
DEPLOYMENTS_PREFIX = "deployments/"
# Output store: batch predictions (crawled into a table) and Athena's query results.
PREDICTIONS_PREFIX = "predictions/"
ATHENA_RESULTS_PREFIX = "athena-results/"
