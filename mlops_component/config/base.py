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

# --- AWS API limits -------------------------------------------------------------------------------------------
# AWS APIs type counts as 32-bit integers; fields whose API sets no lower maximum are held to this one.
API_INTEGER_MAX = 2**31 - 1
# ResourceLimits.MaxRuntimeInSeconds: the longest a hyperparameter tuning job may run.
TUNING_MAX_RUNTIME_SECONDS = 15_768_000
# Head-room for SageMaker to provision instances and pull the image before a job's own clock starts.
JOB_START_OVERHEAD_SECONDS = 900
# A Standard Step Functions execution runs for at most a year; every timeout the workflows derive stays below.
STATE_MACHINE_MAX_SECONDS = 365 * 24 * 3600
BATCH_TRANSFORM_MAX_MINUTES = 30 * 24 * 60
ENDPOINT_WAIT_MAX_MINUTES = 24 * 60
# Tags: AWS's per-resource limit, and the keys the pipeline adds itself (`MlOpsConfig.tags`, and the
# workflow's `mlops:created-by` and the deployment's `mlops:model-package` on what they create at run time).
MAX_TAGS_PER_RESOURCE = 50
PIPELINE_TAG_KEYS = ("mlops:name-prefix", "mlops:created-by", "mlops:model-package")
MAX_USER_TAGS = MAX_TAGS_PER_RESOURCE - len(PIPELINE_TAG_KEYS)
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


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


def _tag_text_problem(text: str, what: str, longest: int) -> str | None:
    if not text:
        return f"{what} is empty"
    if len(text) > longest:
        return f"{what} {text[:20]!r}... is {len(text)} characters (at most {longest})"
    # AWS's tag pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters, separators, numbers and these marks.
    bad = sorted(
        {c for c in text if not (c.isalpha() or c.isnumeric() or c.isspace() or c in _TAG_PUNCTUATION)}
    )
    if bad:
        return f"{what} {text!r} holds characters AWS tags do not allow: {''.join(bad)!r}"
    return None


def tag_problems(tags: dict[str, str]) -> list[str]:
    """Why AWS would refuse these user tags on the pipeline's resources, one line each."""
    problems = []
    if len(tags) > MAX_USER_TAGS:
        problems.append(
            f"{len(tags)} tags: at most {MAX_USER_TAGS}, because the pipeline adds {len(PIPELINE_TAG_KEYS)} "
            f"of its own and AWS allows {MAX_TAGS_PER_RESOURCE} per resource"
        )
    for key, value in tags.items():
        problems += [
            p
            for p in (_tag_text_problem(key, "key", 128), _tag_text_problem(value, f"value of {key!r}", 256))
            if p
        ]
        if key.lower().startswith("aws:"):
            problems.append(f"key {key!r}: the aws: prefix is reserved for AWS")
        if key in PIPELINE_TAG_KEYS:
            problems.append(f"key {key!r} is one the pipeline sets itself")
    return problems


def existing_path(value: str, info: ValidationInfo, *, want_dir: bool) -> str:
    """Resolve a local path the deployment reads, or fail naming it."""
    base = Path((info.context or {}).get("base_dir", "."))
    path = resolve_local_path(value, base)
    if path is None or path.is_dir() != want_dir:
        kind = "folder" if want_dir else "file"
        raise ValueError(f"{kind} {value!r} does not exist (looked in {base.resolve()})")
    return str(path)


def _local_file(value: str, info: ValidationInfo) -> str:
    return existing_path(value, info, want_dir=False)


def _local_folder(value: str, info: ValidationInfo) -> str:
    return existing_path(value, info, want_dir=True)


# A local file or folder a deployment reads, for the components' args: when args are validated (the component
# package does), a path that does not exist is reported, and a relative one is resolved as the config's are.
LocalFile = Annotated[str, AfterValidator(_local_file)]
LocalFolder = Annotated[str, AfterValidator(_local_folder)]
