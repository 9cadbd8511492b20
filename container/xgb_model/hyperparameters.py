"""SageMaker's hyperparameters (a JSON object of strings) as a typed, validated model.

The names, types, bounds and defaults come from `contract.json` next to this module, which the stack config's
validation reads too, so a tuning range or static value the config accepts is one this program accepts.
SageMaker adds keys of its own (`_tuning_objective_metric`, `sagemaker_*`); those are accepted and ignored.
Anything else that is unknown, or a value that does not parse or is out of range, stops the job with a
message naming the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from xgb_model.jobs import JobError

CONTRACT_PATH = Path(__file__).with_name("contract.json")
# Keys SageMaker itself injects into hyperparameters.json (tuning jobs, the Python SDK).
_PLATFORM_KEY_PREFIXES = ("_", "sagemaker_")
# The contract's JSON Schema bound keywords, as pydantic's constraint names.
_BOUNDS = {"minimum": "ge", "exclusiveMinimum": "gt", "maximum": "le", "exclusiveMaximum": "lt"}
_TYPES: dict[str, type] = {"integer": int, "number": float}


def load_contract() -> dict[str, Any]:
    """The image's contract: `hyperparameters` (name -> type, bounds, default) and `metrics` (name -> direction)."""
    contract: dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    return contract


class HyperparameterError(JobError):
    """The hyperparameters cannot be used; the message names each bad key."""


class _Settings(BaseModel):
    """Settings of one training job. Names follow XGBoost's own (and SageMaker's built-in XGBoost)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_by_name=True)

    def booster_params(self, nthread: int) -> dict[str, Any]:
        """XGBoost's training parameters for a binary classifier with the `hist` method: every hyperparameter
        of the contract except those the training loop itself uses (`"booster": false`)."""
        tuned = {
            name: getattr(self, spec.get("attribute", name))
            for name, spec in load_contract()["hyperparameters"].items()
            if spec.get("booster", True)
        }
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            **tuned,
            "nthread": nthread,
        }


def _field(name: str, spec: dict[str, Any]) -> tuple[type, Any]:
    bounds = {_BOUNDS[key]: value for key, value in spec.items() if key in _BOUNDS}
    alias = (
        name if spec.get("attribute") else None
    )  # `lambda` is a Python keyword: the attribute is reg_lambda
    field = Field(default=spec["default"], alias=alias, description=spec["description"], **bounds)
    return _TYPES[spec["type"]], field


Hyperparameters = create_model(
    "Hyperparameters",
    __base__=_Settings,
    **{
        spec.get("attribute", name): _field(name, spec)
        for name, spec in load_contract()["hyperparameters"].items()
    },
)


def parse_hyperparameters(raw: dict[str, Any]) -> Any:
    """Validate SageMaker's hyperparameters, ignoring the keys SageMaker adds itself."""
    ours = {key: value for key, value in raw.items() if not key.startswith(_PLATFORM_KEY_PREFIXES)}
    try:
        return Hyperparameters.model_validate(ours)
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors()]
        raise HyperparameterError("invalid hyperparameters: " + "; ".join(problems)) from None


def load_hyperparameters(path: Path) -> Any:
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
