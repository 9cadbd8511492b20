"""The config's shared pieces: the model settings every block uses, value types, and path checks."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
)
from pydantic.alias_generators import to_camel

from mlops_component.assets import resolve_local_path

InferenceMode = Literal["Batch Transform", "Create Model Endpoint Config"]
BATCH_TRANSFORM: InferenceMode = "Batch Transform"
ENDPOINT: InferenceMode = "Create Model Endpoint Config"
ComparisonOperator = Literal[
    "NumericEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
]
ScalingType = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]

# SageMaker resource names: alphanumerics separated by single hyphens (the API's own pattern).
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# A pip requirement without commas: a name, optional extras, an optional single version specifier.
PIP_REQUIREMENT = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._-]+\])?((==|~=|!=|>=|<=|>|<)[A-Za-z0-9.*+!_-]+)?"
)
# Longest name the component derives: "<prefix>-<store>-<account id>-<region>" must fit S3's 63 characters.
NAME_PREFIX_MAX = 24
# Image tags derived from the build context's content start with this; no other tag may.
CONTENT_TAG_PREFIX = "src-"


class ConfigModel(BaseModel):
    """Shared settings: typos fail loudly, and both snake_case and camelCase keys are accepted."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        # Pulumi hands structured config over as JSON, where "5" may arrive as the number 5.
        coerce_numbers_to_str=True,
        frozen=True,
        # Defaults get the same checks as given values (e.g. a default upload path must exist).
        validate_default=True,
    )


class PascalModel(ConfigModel):
    """SageMaker API shapes keep the API's PascalCase keys (as in the seed); snake_case also works."""

    model_config = ConfigDict(alias_generator=lambda name: to_camel(name)[0].upper() + to_camel(name)[1:])


def parse_number(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return number


_CURRENT_GENERATION = (
    "The seed's default `ml.m4.xlarge` is a previous-generation instance type; `ml.m5.xlarge` is its current "
    "equivalent at a lower price."
)


def _instance_type(value: str) -> str:
    if not _INSTANCE_TYPE.fullmatch(value):
        raise ValueError(f"{value!r} is not a SageMaker instance type (ml.<family>.<size>)")
    return value


def _kms_key_arn(value: str) -> str:
    if not _KMS_KEY_ARN.fullmatch(value):
        raise ValueError("must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
    return value


# Value types with their checks, for every field that holds one.
InstanceType = Annotated[str, AfterValidator(_instance_type)]
KmsKeyArn = Annotated[str, AfterValidator(_kms_key_arn)]


def instance_type_field(description: str) -> Any:
    return Field(default="ml.m5.xlarge", description=f"{description} {_CURRENT_GENERATION}")


def existing_path(value: str, info: ValidationInfo, *, want_dir: bool) -> str:
    """Resolve a local path the deployment reads, or fail naming it."""
    base = Path((info.context or {}).get("base_dir", "."))
    path = resolve_local_path(value, base)
    if path is None or path.is_dir() != want_dir:
        kind = "folder" if want_dir else "file"
        raise ValueError(f"{kind} {value!r} does not exist (looked in {base.resolve()})")
    return str(path)
