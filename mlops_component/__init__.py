"""Pulumi components that deploy an automated MLOps pipeline on AWS.

from mlops_component import MlOpsConfig, MlOpsPipeline
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_component.config import MlOpsConfig

if TYPE_CHECKING:
    from mlops_component.components.pipeline import MlOpsPipeline

__all__ = ["MlOpsConfig", "MlOpsPipeline"]


def __getattr__(name: str) -> Any:
    # The component pulls in pulumi_aws, which takes seconds to import; the CLI and the config don't need it.
    if name == "MlOpsPipeline":
        from mlops_component.components.pipeline import MlOpsPipeline

        return MlOpsPipeline
    raise AttributeError(f"module 'mlops_component' has no attribute {name!r}")
