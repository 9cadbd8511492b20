"""SageMaker's hyperparameters (a JSON object of strings) as a typed, validated model.

The names, types, bounds and defaults come from `contract.json` next to this module, which the stack config's
validation reads too, so a tuning range or static value the config accepts is one this program accepts.
SageMaker adds keys of its own (`_tuning_objective_metric`, `sagemaker_*`); those are accepted and ignored.
Anything else that is unknown, or a value that does not parse or is out of range, stops the job with a
message naming the key.

pydantic is the definition of what is accepted and the author of every message, but it is imported only when
needed: importing it and building the model is a quarter of a training trial's start-up, and SageMaker's
values are nearly always plain (`"5"`, `"0.3"`). `_plain_values` accepts those, and only values pydantic
accepts to the same number (a test compares the two on generated input); anything else goes to pydantic.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from pathlib import Path
from typing import Any

from xgb_model.jobs import JobError

CONTRACT_PATH = Path(__file__).with_name("contract.json")
# Keys SageMaker itself injects into hyperparameters.json (tuning jobs, the Python SDK).
_PLATFORM_KEY_PREFIXES = ("_", "sagemaker_")
# The contract's JSON Schema bound keywords, as pydantic's constraint names.
_BOUNDS = {"minimum": "ge", "exclusiveMinimum": "gt", "maximum": "le", "exclusiveMaximum": "lt"}
_TYPES: dict[str, type] = {"integer": int, "number": float}
# The plain forms `_plain_values` reads itself: a whole number without sign or leading zero, and a decimal.
_PLAIN = {
    "integer": re.compile(r"0|[1-9][0-9]{0,15}"),
    "number": re.compile(r"-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,16})?"),
}
_WITHIN = {
    "ge": lambda value, bound: value >= bound,
    "gt": lambda value, bound: value > bound,
    "le": lambda value, bound: value <= bound,
    "lt": lambda value, bound: value < bound,
}


@functools.cache
def load_contract() -> dict[str, Any]:
    """The image's contract: `hyperparameters` (name -> type, bounds, default) and `metrics` (name -> direction)."""
    contract: dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    return contract


class HyperparameterError(JobError):
    """The hyperparameters cannot be used; the message names each bad key."""


class _Settings:
    """Settings of one training job. Names follow XGBoost's own (and SageMaker's built-in XGBoost)."""

    def __post_init__(self) -> None:
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}  # type: ignore[arg-type]
        if _plain_values(values) is None:  # not plainly valid: pydantic decides (and names what is wrong)
            _validate(values)

    def model_dump(self, *, by_alias: bool = False) -> dict[str, Any]:
        """Every hyperparameter by its attribute name, or by the contract's name (`lambda`) with `by_alias`."""
        specs = load_contract()["hyperparameters"].items()
        return {
            (name if by_alias else spec.get("attribute", name)): getattr(self, spec.get("attribute", name))
            for name, spec in specs
        }

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


Hyperparameters = dataclasses.make_dataclass(
    "Hyperparameters",
    [
        (spec.get("attribute", name), _TYPES[spec["type"]], dataclasses.field(default=spec["default"]))
        for name, spec in load_contract()["hyperparameters"].items()
    ],
    bases=(_Settings,),
    frozen=True,
    kw_only=True,
)
Hyperparameters.__module__ = __name__


def parse_hyperparameters(raw: dict[str, Any]) -> Any:
    """Validate SageMaker's hyperparameters, ignoring the keys SageMaker adds itself."""
    ours = {key: value for key, value in raw.items() if not key.startswith(_PLATFORM_KEY_PREFIXES)}
    values = _plain_values(ours)
    return Hyperparameters(**(values if values is not None else _validate(ours)))


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


def _plain_values(raw: dict[str, Any]) -> dict[str, Any] | None:
    """{attribute: value} when every key is known and every value is in a plain form and within its bounds
    (then pydantic would accept them and read the same numbers); else None."""
    specs = load_contract()["hyperparameters"]
    names = {name: spec.get("attribute", name) for name, spec in specs.items()}
    names.update({attribute: attribute for attribute in names.values()})
    by_attribute = {spec.get("attribute", name): spec for name, spec in specs.items()}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        attribute = names.get(key)
        if attribute is None or attribute in values:  # unknown, or given under both its names
            return None
        value = _plain_number(by_attribute[attribute]["type"], value)
        if value is None or not all(
            _WITHIN[check](value, spec_bound)
            for keyword, spec_bound in by_attribute[attribute].items()
            if (check := _BOUNDS.get(keyword)) is not None
        ):
            return None
        values[attribute] = value
    return values


def _plain_number(kind: str, value: Any) -> int | float | None:
    if isinstance(value, str):
        if not _PLAIN[kind].fullmatch(value):
            return None
        return int(value) if kind == "integer" else float(value)
    if type(value) is int and abs(value) < 2**53:
        return value if kind == "integer" else float(value)
    if type(value) is float and kind == "number" and math.isfinite(value):
        return value
    return None


def _validate(raw: dict[str, Any]) -> dict[str, Any]:
    """{attribute: value} as pydantic reads `raw`; HyperparameterError naming every problem otherwise."""
    from pydantic import ValidationError

    try:
        return dict(_model().model_validate(raw))
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors()]
        raise HyperparameterError("invalid hyperparameters: " + "; ".join(problems)) from None


@functools.cache
def _model() -> Any:
    """The pydantic model of the contract's hyperparameters (names, types, bounds, defaults)."""
    from pydantic import BaseModel, ConfigDict, Field, create_model

    class Model(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_by_name=True)

    def field(name: str, spec: dict[str, Any]) -> tuple[type, Any]:
        bounds = {_BOUNDS[key]: value for key, value in spec.items() if key in _BOUNDS}
        alias = (
            name if spec.get("attribute") else None
        )  # `lambda` is a Python keyword: the attribute is reg_lambda
        return _TYPES[spec["type"]], Field(
            default=spec["default"], alias=alias, description=spec["description"], **bounds
        )

    specs = load_contract()["hyperparameters"]
    return create_model(
        "Hyperparameters",
        __base__=Model,
        **{spec.get("attribute", name): field(name, spec) for name, spec in specs.items()},
    )


def _describe(detail: Any) -> str:
    key = ".".join(str(part) for part in detail["loc"]) or "(root)"
    if detail["type"] == "extra_forbidden":
        known = ", ".join(sorted(load_contract()["hyperparameters"]))
        return f"unknown hyperparameter {key!r} (known: {known})"
    return f"{key}={detail['input']!r}: {detail['msg']}"
