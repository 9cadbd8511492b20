"""The pipeline's configuration: one pydantic model (`MlOpsConfig`), validated once, before any resource exists.

`model` holds the top-level model; `ranges`, `dev_environment` and `processing` its nested blocks; `base` what
they share. Every public name is importable from `mlops_component.config`.
"""

from mlops_component.config.base import (
    BATCH_TRANSFORM,
    CONTENT_TAG_PREFIX,
    ENDPOINT,
    NAME_PREFIX_MAX,
    ComparisonOperator,
    InferenceMode,
    ScalingType,
)
from mlops_component.config.dev_environment import IDLE_CHECK_INTERVAL_MINUTES, DevEnvironmentSettings
from mlops_component.config.model import Environment, MlOpsConfig
from mlops_component.config.processing_pipeline import (
    PROCESSING_MAX_RUNTIME_SECONDS,
    PROCESSING_MAX_VOLUME_GB,
    ProcessingJobSettings,
    ProcessingSettings,
)
from mlops_component.config.ranges import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    IntegerParameterRange,
    ParameterRanges,
)

__all__ = [
    "BATCH_TRANSFORM",
    "CONTENT_TAG_PREFIX",
    "ENDPOINT",
    "IDLE_CHECK_INTERVAL_MINUTES",
    "NAME_PREFIX_MAX",
    "PROCESSING_MAX_RUNTIME_SECONDS",
    "PROCESSING_MAX_VOLUME_GB",
    "CategoricalParameterRange",
    "ComparisonOperator",
    "ContinuousParameterRange",
    "DevEnvironmentSettings",
    "Environment",
    "InferenceMode",
    "IntegerParameterRange",
    "MlOpsConfig",
    "ParameterRanges",
    "ProcessingJobSettings",
    "ProcessingSettings",
    "ScalingType",
]
