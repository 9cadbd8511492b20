"""SageMaker's built-in XGBoost algorithm (`built_in_model_image`): the hyperparameters it accepts and the
metrics a tuning job may optimize on it.

Sources: AWS's "XGBoost hyperparameters" and "Tune an XGBoost model" pages of the SageMaker developer guide,
and the algorithm's own validation (aws/sagemaker-xgboost-container,
`algorithm_mode/hyperparameter_validation.py` and `algorithm_mode/metrics.py`). The algorithm rejects any
hyperparameter it does not know, needs `num_round`, and defines its tuning metrics itself (SageMaker takes no
MetricDefinitions for it): the `validation:*` metrics, computed on the `validation` channel. It also logs
`train-*` values, but those are not objective metrics a tuning job accepts.
"""

from __future__ import annotations

from typing import Any

from mlops_component.config.image_contract import ImageContract, parse_hyperparameters


def _number(**bounds: float) -> dict[str, Any]:
    return {"type": "number", **bounds}


def _integer(**bounds: float) -> dict[str, Any]:
    return {"type": "integer", **bounds}


def _one_of(*values: str) -> dict[str, Any]:
    return {"type": "string", "values": list(values)}


_ANY_STRING: dict[str, Any] = {"type": "string"}  # lists and constraints the algorithm parses itself
_UNIT = {"minimum": 0.0, "maximum": 1.0}
_FRACTION = {"exclusiveMinimum": 0.0, "maximum": 1.0}

HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "num_round": _integer(minimum=1),
    "num_class": _integer(minimum=2),
    "alpha": _number(minimum=0),
    "base_score": _number(minimum=0),
    "booster": _one_of("gbtree", "gblinear", "dart"),
    "colsample_bylevel": _number(**_FRACTION),
    "colsample_bynode": _number(**_FRACTION),
    "colsample_bytree": _number(**_FRACTION),
    "csv_weights": _integer(minimum=0, maximum=1),
    "deterministic_histogram": _one_of("true", "false"),
    "early_stopping_rounds": _integer(minimum=1),
    "eta": _number(**_UNIT),
    "eval_metric": _ANY_STRING,
    "gamma": _number(minimum=0),
    "grow_policy": _one_of("depthwise", "lossguide"),
    "interaction_constraints": _ANY_STRING,
    "lambda": _number(minimum=0),
    "lambda_bias": _number(**_UNIT),
    "max_bin": _integer(minimum=0),
    "max_delta_step": _number(minimum=0),
    "max_depth": _integer(minimum=0),
    "max_leaves": _integer(minimum=0),
    "min_child_weight": _number(minimum=0),
    "monotone_constraints": _ANY_STRING,
    "normalize_type": _one_of("tree", "forest"),
    "nthread": _integer(minimum=1),
    "num_parallel_tree": _integer(minimum=1),
    "objective": _one_of(
        "binary:logistic",
        "binary:logitraw",
        "binary:hinge",
        "count:poisson",
        "multi:softmax",
        "multi:softprob",
        "rank:pairwise",
        "rank:ndcg",
        "rank:map",
        "reg:linear",
        "reg:squarederror",
        "reg:logistic",
        "reg:gamma",
        "reg:pseudohubererror",
        "reg:squaredlogerror",
        "reg:tweedie",
        "survival:aft",
        "survival:cox",
    ),
    "one_drop": _integer(minimum=0, maximum=1),
    "process_type": _one_of("default", "update"),
    "rate_drop": _number(**_UNIT),
    "refresh_leaf": _integer(minimum=0, maximum=1),
    "sample_type": _one_of("uniform", "weighted"),
    "sampling_method": _one_of("uniform", "gradient_based"),
    "scale_pos_weight": _number(exclusiveMinimum=0),
    "seed": _integer(exclusiveMinimum=-(2**31), exclusiveMaximum=2**31 - 1),
    "single_precision_histogram": _one_of("true", "false"),
    "sketch_eps": _number(exclusiveMinimum=0, exclusiveMaximum=1),
    "skip_drop": _number(**_UNIT),
    "subsample": _number(**_FRACTION),
    "tree_method": _one_of("auto", "exact", "approx", "hist", "gpu_hist"),
    "tweedie_variance_power": _number(exclusiveMinimum=1, exclusiveMaximum=2),
    "updater": _ANY_STRING,
    "verbosity": _integer(minimum=0, maximum=3),
    # The algorithm's own cross-validation.
    "_kfold": _integer(minimum=2),
    "_num_cv_round": _integer(minimum=1),
}

# "Tune an XGBoost model": the metrics a tuning job may optimize, and the direction each is optimized in.
TUNING_METRICS: dict[str, str] = {
    "validation:accuracy": "Maximize",
    "validation:auc": "Maximize",
    "validation:error": "Minimize",
    "validation:f1": "Maximize",
    "validation:logloss": "Minimize",
    "validation:mae": "Minimize",
    "validation:map": "Maximize",
    "validation:merror": "Minimize",
    "validation:mlogloss": "Minimize",
    "validation:mse": "Minimize",
    "validation:ndcg": "Maximize",
    "validation:rmse": "Minimize",
}

# Other names the algorithm accepts for the same settings (XGBoost's scikit-learn spellings).
for _alias, _name in {
    "learning_rate": "eta",
    "min_split_loss": "gamma",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}.items():
    HYPERPARAMETERS[_alias] = HYPERPARAMETERS[_name]

CONTRACT = ImageContract(
    image="the built-in XGBoost algorithm",
    hyperparameters=parse_hyperparameters(HYPERPARAMETERS),
    metrics=TUNING_METRICS,
    required=frozenset({"num_round"}),
    validation_metric_prefix="validation:",
    reference="see AWS's 'XGBoost hyperparameters' page or mlops_component/config/builtin_xgboost.py",
)
