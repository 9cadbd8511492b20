"""SageMaker's hyperparameters (a JSON object of strings) as a typed, validated model.

Every tunable of the default `parameter_ranges` is here, plus `kfold_splits` and the usual XGBoost settings.
SageMaker adds keys of its own (`_tuning_objective_metric`, `sagemaker_*`); those are accepted and ignored.
Anything else that is unknown, or a value that does not parse or is out of range, stops the job with a
message naming the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xgb_model.jobs import JobError

# Keys SageMaker itself injects into hyperparameters.json (tuning jobs, the Python SDK).
_PLATFORM_KEY_PREFIXES = ("_", "sagemaker_")


class HyperparameterError(JobError):
    """The hyperparameters cannot be used; the message names each bad key."""


class Hyperparameters(BaseModel):
    """Settings of one training job. Names follow XGBoost's own (and SageMaker's built-in XGBoost)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_by_name=True)

    num_round: int = Field(default=100, ge=1, le=10_000, description="Boosting rounds (trees).")
    # eta and max_depth are below XGBoost's defaults (0.3, 6), which overfit data of the example's size: on
    # generated data of its shape (1,470 rows, 16% positive) held-out log loss is 0.37 against 0.49.
    eta: float = Field(default=0.1, gt=0, le=1, description="Learning rate.")
    gamma: float = Field(default=0.0, ge=0, description="Minimum loss reduction to split a leaf.")
    min_child_weight: float = Field(default=1.0, ge=0, description="Minimum hessian sum in a child.")
    subsample: float = Field(default=1.0, gt=0, le=1, description="Row sampling ratio per tree.")
    colsample_bytree: float = Field(default=1.0, gt=0, le=1, description="Column sampling ratio per tree.")
    max_delta_step: float = Field(default=0.0, ge=0, description="Cap on each leaf's weight step (0: none).")
    scale_pos_weight: float = Field(default=1.0, gt=0, description="Weight of positive rows (imbalance).")
    max_depth: int = Field(default=4, ge=1, le=30, description="Maximum tree depth (tuned by default).")
    reg_lambda: float = Field(default=1.0, ge=0, alias="lambda", description="L2 regularisation.")
    alpha: float = Field(default=0.0, ge=0, description="L1 regularisation.")
    max_bin: int = Field(default=256, ge=2, le=4096, description="Histogram bins per feature (hist).")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed for sampling and fold shuffling.")
    kfold_splits: int = Field(default=5, ge=2, le=20, description="Folds of the stratified cross-validation.")

    def booster_params(self, nthread: int) -> dict[str, Any]:
        """XGBoost's training parameters for a binary classifier with the `hist` method."""
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "eta": self.eta,
            "gamma": self.gamma,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "max_delta_step": self.max_delta_step,
            "scale_pos_weight": self.scale_pos_weight,
            "max_depth": self.max_depth,
            "lambda": self.reg_lambda,
            "alpha": self.alpha,
            "max_bin": self.max_bin,
            "seed": self.seed,
            "nthread": nthread,
        }


def parse_hyperparameters(raw: dict[str, Any]) -> Hyperparameters:
    """Validate SageMaker's hyperparameters, ignoring the keys SageMaker adds itself."""
    ours = {key: value for key, value in raw.items() if not key.startswith(_PLATFORM_KEY_PREFIXES)}
    try:
        return Hyperparameters.model_validate(ours)
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors()]
        raise HyperparameterError("invalid hyperparameters: " + "; ".join(problems)) from None


def load_hyperparameters(path: Path) -> Hyperparameters:
    """Read `hyperparameters.json`; a missing file means every default."""
    if not path.exists():
        return Hyperparameters()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HyperparameterError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise HyperparameterError(f"{path} must hold a JSON object, not {type(raw).__name__}")
    return parse_hyperparameters(raw)


def _describe(detail: Any) -> str:
    key = ".".join(str(part) for part in detail["loc"]) or "(root)"
    if detail["type"] == "extra_forbidden":
        known = ", ".join(sorted(f.alias or name for name, f in Hyperparameters.model_fields.items()))
        return f"unknown hyperparameter {key!r} (known: {known})"
    return f"{key}={detail['input']!r}: {detail['msg']}"
