"""The configuration reference, generated from `MlOpsConfig` itself so the docs say what the code does."""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from mlops_component.config import MlOpsConfig
from mlops_component.config.stack_file import NAMESPACE

# The Terraform module's 33 inputs and their defaults (seeds/002). Every one is a field here, under the same name.
REQUIRED = object()  # the module had no default
SEED_RANGES = object()  # the module's six default tuning ranges, which are kept
SEED_DEFAULTS: dict[str, Any] = {
    "aws_credentials_file": REQUIRED,
    "environment": REQUIRED,
    "job_name": REQUIRED,
    "name_prefix": REQUIRED,
    "resource_tags": REQUIRED,
    "batch_transform_instance_count": 1,
    "batch_transform_instance_type": "ml.m4.xlarge",
    "built_in_model_image": None,
    "byo_model_image_name": "byo-xgboost",
    "byo_model_image_source_path": "source/containers/ml-ops-byo-xgboost",
    "byo_model_image_tag": "latest",
    "endpoint_instance_count": 1,
    "endpoint_instance_type": "ml.m4.xlarge",
    "endpoint_name": "training-endpoint",
    "endpoint_or_batch_transform": "Batch Transform",
    "feature_store_override": None,
    "glue_job_name": "data-transformation",
    "glue_job_spark_flag": False,
    "inference_comparison_operator": "NumericGreaterThan",
    "inference_metric_threshold": 0.7,
    "max_number_training_jobs": 3,
    "max_parallel_training_jobs": 1,
    "parameter_ranges": SEED_RANGES,
    "score_local_path": "source/data/score.csv",
    "script_path": "source/scripts/transform.py",
    "static_hyperparameters": {"kfold_splits": "5"},
    "train_local_path": "source/data/train.csv",
    "training_job_instance_count": 1,
    "training_job_instance_type": "ml.m4.xlarge",
    "training_job_storage_in_gb": 30,
    "tuning_metric": "accuracy",
    "tuning_objective": "Maximize",
    "whl_path": "source/scripts/python/pandasmodule-0.1-py3-none-any.whl",
}
SEED_INPUTS = frozenset(SEED_DEFAULTS)


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{json.dumps(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args if a is not type(None)) + (
            " or null" if type(None) in args else ""
        )
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (list, tuple, set, frozenset):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {type_name(args[0])} to {type_name(args[1])}" if args else "map"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def default_text(info: FieldInfo) -> str:
    """The default as it would be written in stack config."""
    if info.is_required():
        return "**required**"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_defaults=False)
    text = json.dumps(value)
    return f"`{text}`" if len(text) <= 60 else "see below"


def _nested_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for info in annotation.model_fields.values():
                    visit(info.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    for info in model.model_fields.values():
        visit(info.annotation)
    return found


def _stack_keys(name: str, separator: str = " or ") -> str:
    """Both spellings of a top-level key (once when they are the same)."""
    spellings = dict.fromkeys([to_camel(name), name])
    return separator.join(f"`{NAMESPACE}:{key}`" for key in spellings)


def _table(model: type[BaseModel], *, top_level: bool) -> list[str]:
    header = "| Key | Type | Default | Description |"
    rows = [header, "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if top_level:
            keys = _stack_keys(name, "<br>") + (" (seed)" if name in SEED_INPUTS else "")
        else:
            keys = f"`{alias}`" + (f"<br>`{name}`" if alias != name else "")
        description = (info.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {keys} | {type_name(info.annotation)} | {default_text(info)} | {description} |")
    return rows


def config_reference() -> str:
    """Markdown tables for every stack-config key, nested blocks included."""
    lines = [
        "Every key can be written in camelCase or snake_case. Keys marked (seed) are the Terraform module's inputs,",
        "with its names.",
        "",
        *_table(MlOpsConfig, top_level=True),
    ]
    for nested in _nested_models(MlOpsConfig):
        lines += [
            "",
            f"#### {nested.__name__}",
            "",
            (nested.__doc__ or "").strip(),
            "",
            *_table(nested, top_level=False),
        ]
    defaults = MlOpsConfig.model_fields["parameter_ranges"].get_default(call_default_factory=True)
    lines += [
        "",
        "Default `parameterRanges` (the seed's):",
        "",
        "```yaml",
        *_yaml_lines(defaults.model_dump(by_alias=True)),
        "```",
    ]
    return "\n".join(lines) + "\n"


def _yaml_lines(ranges: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = []
    for kind, items in ranges.items():
        if not items:
            continue
        lines.append(f"{kind}:")
        lines += [
            "  - {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in item.items()) + "}" for item in items
        ]
    return lines


def migration_table() -> str:
    """Each Terraform input, its stack key, and its default there and here."""
    rows = ["| Terraform variable | Stack key | Terraform default | Default here |", "|---|---|---|---|"]
    for name, seed_default in SEED_DEFAULTS.items():
        if seed_default is SEED_RANGES:
            theirs = ours = "the six ranges below"
        else:
            theirs = "required" if seed_default is REQUIRED else f"`{json.dumps(seed_default)}`"
            ours = default_text(MlOpsConfig.model_fields[name])
        rows.append(f"| `{name}` | {_stack_keys(name)} | {theirs} | {ours} |")
    return "\n".join(rows) + "\n"
