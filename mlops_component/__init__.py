"""Pulumi components that deploy an automated MLOps pipeline on AWS.

The whole pipeline from one config:

    from mlops_component import MlOpsConfig, MlOpsPipeline

or one part of it from its own arguments, e.g. the ETL over buckets that already exist:

    from mlops_component import Etl, EtlArgs
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlops_component.config import MlOpsConfig

if TYPE_CHECKING:
    from mlops_component.components.data_stores import (
        BucketRef,
        DataStores,
        DataStoresArgs,
        LandedData,
        LandedDataArgs,
    )
    from mlops_component.components.dev_environment import (
        DevEnvironment,
        DevEnvironmentArgs,
        ExistingGitRepository,
        NotebookNetwork,
    )
    from mlops_component.components.etl import Etl, EtlArgs
    from mlops_component.components.landing_trigger import DataLandingTrigger, DataLandingTriggerArgs
    from mlops_component.components.model_image import ModelImage, ModelImageArgs
    from mlops_component.components.pipeline import MlOpsPipeline
    from mlops_component.components.processing_pipeline import (
        ExistingImage,
        ProcessingPipeline,
        ProcessingPipelineArgs,
        ProcessingPlan,
    )
    from mlops_component.components.training_workflow import TrainingWorkflow, TrainingWorkflowArgs

# Where each component and its args live. They pull in pulumi_aws, which takes seconds to import; the CLI and
# the config don't need it, so they are imported on first use.
_LAZY = {
    "MlOpsPipeline": "pipeline",
    "BucketRef": "data_stores",
    "DataStores": "data_stores",
    "DataStoresArgs": "data_stores",
    "LandedData": "data_stores",
    "LandedDataArgs": "data_stores",
    "Etl": "etl",
    "EtlArgs": "etl",
    "ModelImage": "model_image",
    "ModelImageArgs": "model_image",
    "TrainingWorkflow": "training_workflow",
    "TrainingWorkflowArgs": "training_workflow",
    "DataLandingTrigger": "landing_trigger",
    "DataLandingTriggerArgs": "landing_trigger",
    "ProcessingPipeline": "processing_pipeline",
    "ProcessingPipelineArgs": "processing_pipeline",
    "ProcessingPlan": "processing_pipeline",
    "ExistingImage": "processing_pipeline",
    "DevEnvironment": "dev_environment",
    "DevEnvironmentArgs": "dev_environment",
    "ExistingGitRepository": "dev_environment",
    "NotebookNetwork": "dev_environment",
}

__all__ = [
    "BucketRef",
    "DataLandingTrigger",
    "DataLandingTriggerArgs",
    "DataStores",
    "DataStoresArgs",
    "DevEnvironment",
    "DevEnvironmentArgs",
    "Etl",
    "EtlArgs",
    "ExistingGitRepository",
    "ExistingImage",
    "LandedData",
    "LandedDataArgs",
    "MlOpsConfig",
    "MlOpsPipeline",
    "ModelImage",
    "ModelImageArgs",
    "NotebookNetwork",
    "ProcessingPipeline",
    "ProcessingPipelineArgs",
    "ProcessingPlan",
    "TrainingWorkflow",
    "TrainingWorkflowArgs",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_component' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mlops_component.components.{module}"), name)
