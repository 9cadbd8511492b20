"""Names and S3 layout shared by the component, the runtime code's configuration and `mlops local-run`.

Pure functions of plain values, so the local run creates exactly the names a deployment would.
"""

from __future__ import annotations

from typing import Literal

Store = Literal["feature_store", "source_repository", "extracts", "models", "metadata", "output"]

# The seed's six file stores, in its order, with the short word each bucket name carries.
STORES: dict[Store, str] = {
    "feature_store": "features",
    "source_repository": "source",
    "extracts": "extracts",
    "models": "models",
    "metadata": "metadata",
    "output": "output",
}

# Stores whose contents cannot be regenerated keep old versions: raw data and trained models.
VERSIONED_STORES: frozenset[Store] = frozenset({"feature_store", "models"})


def bucket_name(name_prefix: str, store: Store, account_id: str, region: str) -> str:
    """A store's bucket name. Account and region make it globally unique without random suffixes."""
    return f"{name_prefix}-{STORES[store]}-{account_id}-{region}"


def resource_name(name_prefix: str, part: str) -> str:
    """The physical name of a named resource (Glue job, state machine, function, role)."""
    return f"{name_prefix}-{part}"


# Parts of the physical names the component gives its named resources. `mlops render` derives the same names
# from these, so what it shows is what `pulumi up` deploys.
TRAINING_STATE_MACHINE = "training"
FAILURE_TOPIC = "failures"
SAGEMAKER_ROLE = "sagemaker-execution"
TRAINING_WORKFLOW_ROLE = "training-workflow"
PREDICTIONS_CRAWLER = "predictions-crawler"
PROCESSING_STATE_MACHINE = "processing"
PROCESSING_ROLE = "processing-jobs"
# The model registry (issue 16): one model package group per stack, the workflow that deploys one approved
# package, and the role EventBridge Scheduler assumes to start scheduled runs.
MODEL_PACKAGE_GROUP = "models"
DEPLOYMENT_STATE_MACHINE = "deployment"
DEPLOYMENT_WORKFLOW_ROLE = "deployment-workflow"
SCHEDULER_ROLE = "scheduler"


def function_name(name_prefix: str, module: str) -> str:
    """The Lambda function running handler module `module` of `functions/`."""
    return resource_name(name_prefix, module.replace("_", "-"))
