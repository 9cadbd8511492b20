"""The example stacks the policy tests check: every kind of stack this project generates, built under mocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_component.config import MlOpsConfig
from mlops_component.tools import check, policies
from tests.conftest import BUILT_IN_XGBOOST, SEED_EXAMPLE

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXAMPLE_STACKS: dict[str, dict[str, Any]] = {
    "batch": {},
    "endpoint": {"endpoint_or_batch_transform": "Create Model Endpoint Config", "enable_xray_tracing": True},
    "processing": {"enable_processing_pipeline": True},
    "dev-environment": {
        "enable_dev_environment": True,
        "dev_environment": {"enable_interactive_sessions": True, "idle_shutdown_minutes": 60},
    },
    "built-in-image": {
        **BUILT_IN_XGBOOST,
        "crawl_feature_store": True,
        "glue_job_spark_flag": True,
    },
    "kms-key": {"kms_key_arn": KMS_KEY},
}


def stack_resources(project_dir: Path, stack: str) -> list[policies.Resource]:
    """The resources an example stack registers, as the policies see them."""
    config = MlOpsConfig.model_validate(
        {**SEED_EXAMPLE, **EXAMPLE_STACKS[stack]}, context={"base_dir": project_dir}
    )
    return check.as_policy_resources(check.build(config))
