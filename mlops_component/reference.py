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
from mlops_component.stack_config import NAMESPACE

# The Terraform module's inputs, which keep their names here (seeds/002).
SEED_INPUTS = frozenset(
    {
        "aws_credentials_file", "environment", "job_name", "name_prefix", "resource_tags",
        "batch_transform_instance_count", "batch_transform_instance_type", "built_in_model_image",
        "byo_model_image_name", "byo_model_image_source_path", "byo_model_image_tag", "endpoint_instance_count",
        "endpoint_instance_type", "endpoint_name", "endpoint_or_batch_transform", "feature_store_override",
        "glue_job_name", "glue_job_spark_flag", "inference_comparison_operator", "inference_metric_threshold",
        "max_number_training_jobs", "max_parallel_training_jobs", "parameter_ranges", "score_local_path",
        "script_path", "static_hyperparameters", "train_local_path", "training_job_instance_count",
        "training_job_instance_type", "training_job_storage_in_gb", "tuning_metric", "tuning_objective", "whl_path",
    }
)  # fmt: skip


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


def _table(model: type[BaseModel], *, top_level: bool) -> list[str]:
    header = "| Key | Type | Default | Description |"
    rows = [header, "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if top_level:
            keys = f"`{NAMESPACE}:{to_camel(name)}`<br>`{NAMESPACE}:{name}`"
            keys += " (seed)" if name in SEED_INPUTS else ""
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
