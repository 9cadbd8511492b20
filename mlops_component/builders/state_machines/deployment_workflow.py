"""The deployment workflow's definition: deploy exactly one approved model package.

Execution input (what every starter sends: the training workflow, the trigger, schedules, `mlops rollback`):

    {"modelPackageArn": "arn:...:model-package/<group>/<version>" | null,
     "score": {"bucket": ..., "key": ..., ...} | null,        # batch mode needs it; endpoint mode ignores it
     "cause": "training" | "approval" | "score-landed" | "schedule" | "rollback"}

A null (or absent) `modelPackageArn` deploys the latest `Approved` package of the stack's group; with none the
execution ends in `No Approved Model`, notifies the failure topic and deploys nothing. A package that is not
`Approved` is refused. Batch mode then prepares the score file with the ETL job (scoring only; skipped when the
training workflow's run has just prepared it, `cause: "training"`), runs a batch transform with a model created
from the package, renames and catalogs the output; endpoint mode creates an endpoint config and creates or
updates the endpoint. Every deployment writes `deployments/<execution name>.json` to the metadata store and tags
the model, transform job and endpoint config it creates with `mlops:model-package`.

`deployment_definition` is a pure function of the config and plain names/ARNs, like `training_definition`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mlops_component import layout
from mlops_component.builders.state_machines.states import (
    NOTIFY_FAILURE,
    RUN_SUCCEEDED,
    State,
    Timings,
    catch_all,
    fail_with,
    failure_states,
    lambda_task,
    resource_tags,
    task,
    unique_name,
    when_present,
)
from mlops_component.config import MlOpsConfig
from mlops_component.config.base import JOB_START_OVERHEAD_SECONDS

# SageMaker's largest Batch Transform payload; records are small CSV lines, so more per request is faster.
MAX_PAYLOAD_MB = 6
# Lambda tasks time out after the functions' own timeouts (at most 15 minutes) so the function reports first.
LAMBDA_TASK_TIMEOUT_SECONDS = 960
CREATED_BY = "deployment-workflow"
PACKAGE_TAG = "mlops:model-package"
CAUSES = ("training", "approval", "score-landed", "schedule", "rollback")

# State names, also used by the execution tests' mocked responses and by `mlops local-run`.
CHECK_INPUT = "Check Input"
INVALID_INPUT = "Invalid Input"
FIND_APPROVED = "Find Latest Approved Model"
ANY_APPROVED = "Any Approved Model?"
USE_LATEST = "Use Latest Approved Model"
NO_APPROVED_MODEL = "No Approved Model"
NAME_DEPLOYMENT = "Name Deployment"
DESCRIBE_PACKAGE = "Describe Model Package"
IS_APPROVED = "Model Package Approved?"
NOT_APPROVED = "Model Package Not Approved"
SCORE_READY = "Score Extract Ready?"
PREPARE_SCORE = "Prepare Score Data"
CREATE_MODEL = "Create Model"
BATCH_TRANSFORM = "Batch Transform"
RENAME_OUTPUT = "Rename Output"
CATALOG_PREDICTIONS = "Catalog Predictions"
CREATE_ENDPOINT_CONFIG = "Create Endpoint Config"
DEPLOY_ENDPOINT = "Create Or Update Endpoint"
START_POLLING = "Start Polling Endpoint"
WAIT_FOR_ENDPOINT = "Wait For Endpoint"
DESCRIBE_ENDPOINT = "Describe Endpoint"
ENDPOINT_READY = "Endpoint In Service?"
COUNT_POLL = "Count Endpoint Poll"
EXPLAIN_ENDPOINT_FAILURE = "Endpoint Failed"
EXPLAIN_ENDPOINT_FAILURE_NO_REASON = "Endpoint Failed Without Reason"
EXPLAIN_ENDPOINT_TIMEOUT = "Endpoint Timed Out"
EXPLAIN_ENDPOINT_ROLLBACK = "Endpoint Update Rolled Back"
SUMMARIZE = "Summarize Deployment"
RECORD_DEPLOYMENT = "Record Deployment"
# Where the state keeps what it works on.
NAME = "$.deployment.name"
PACKAGE_ARN = "$.package.ModelPackageArn"
# Required in DescribeEndpoint's response (API reference), so a Choice may compare it without IsPresent.
ENDPOINT_STATUS = "$.endpoint_status.EndpointStatus"


@dataclass(frozen=True)
class DeploymentResources:
    """Names and ARNs of what the deployment workflow drives, resolved from the component's Outputs."""

    model_package_group: str
    extracts_bucket: str
    output_bucket: str
    metadata_bucket: str
    sagemaker_role_arn: str
    topic_arn: str
    # Batch mode only:
    glue_job_name: str | None = None
    etl_timeout_seconds: int = 0
    rename_output_function_arn: str | None = None
    prediction_crawler_name: str | None = None
    # Endpoint mode only:
    endpoint_function_arn: str | None = None


def endpoint_max_polls(config: MlOpsConfig, timings: Timings) -> int:
    """How many status checks fit in the endpoint wait budget."""
    return max(1, math.ceil(config.endpoint_wait_timeout_minutes * 60 / timings.poll_interval_seconds))


def deployment_timeout_seconds(config: MlOpsConfig, etl_timeout_seconds: int) -> int:
    """An upper bound for one deployment, so a stuck execution ends rather than running (and billing) forever."""
    if config.is_batch:
        inference = (
            etl_timeout_seconds + config.batch_transform_timeout_minutes * 60 + JOB_START_OVERHEAD_SECONDS
        )
    else:
        inference = config.endpoint_wait_timeout_minutes * 60 * 2
    return inference + 3 * LAMBDA_TASK_TIMEOUT_SECONDS + 600


def deployment_definition(
    config: MlOpsConfig, resources: DeploymentResources, timings: Timings | None = None
) -> dict[str, Any]:
    """The Amazon States Language definition of the deployment workflow for `config`'s inference mode."""
    timings = timings or Timings()
    states: dict[str, State] = {
        CHECK_INPUT: _check_input(config),
        INVALID_INPUT: fail_with(
            "InvalidInput",
            'Expected input {"modelPackageArn": "arn:..." or null'
            + (', "score": {"bucket": ..., "key": ...}' if config.is_batch else "")
            + ', "cause": "training" or "approval" or "score-landed" or "schedule" or "rollback"}',
        ),
        **_package_lookup(config, resources, timings),
        NAME_DEPLOYMENT: unique_name(config.job_name, "$.deployment", DESCRIBE_PACKAGE),
        **_approval_check(config, timings),
        CREATE_MODEL: task(
            "arn:aws:states:::sagemaker:createModel",
            {
                "ModelName.$": NAME,
                "ExecutionRoleArn": resources.sagemaker_role_arn,
                # The package names the image (by digest) and the model artifact it was registered with.
                "PrimaryContainer": {"ModelPackageName.$": PACKAGE_ARN},
                # Scoring needs no network: the model and data come from S3 through SageMaker itself.
                "EnableNetworkIsolation": True,
                "Tags": deployment_tags(config),
            },
            next_state=BATCH_TRANSFORM if config.is_batch else CREATE_ENDPOINT_CONFIG,
            timings=timings,
            timeout_seconds=300,
        ),
        **(
            _batch_states(config, resources, timings)
            if config.is_batch
            else _endpoint_states(config, resources, timings)
        ),
        SUMMARIZE: _summarize(config),
        RECORD_DEPLOYMENT: task(
            "arn:aws:states:::aws-sdk:s3:putObject",
            {
                "Bucket": resources.metadata_bucket,
                "Key.$": f"States.Format('{layout.DEPLOYMENTS_PREFIX}{{}}.json', $$.Execution.Name)",
                "Body.$": "States.JsonToString($.record)",
                "ContentType": "application/json",
            },
            next_state=RUN_SUCCEEDED,
            timings=timings,
            timeout_seconds=60,
        ),
        RUN_SUCCEEDED: {"Type": "Succeed"},
        **failure_states(resources.topic_arn, f"{config.name_prefix} deployment workflow", timings),
    }
    return {
        "Comment": f"MLOps deployment workflow for {config.job_name} ({config.endpoint_or_batch_transform})",
        "StartAt": CHECK_INPUT,
        "TimeoutSeconds": deployment_timeout_seconds(config, resources.etl_timeout_seconds),
        "States": states,
    }


def _approval_check(config: MlOpsConfig, timings: Timings) -> dict[str, State]:
    """Describe the package and go on only when it is Approved: a named package may be pending or rejected."""
    after_approval = SCORE_READY if config.is_batch else CREATE_MODEL
    return {
        DESCRIBE_PACKAGE: task(
            "arn:aws:states:::aws-sdk:sagemaker:describeModelPackage",
            {"ModelPackageName.$": "$.modelPackageArn"},
            next_state=IS_APPROVED,
            timings=timings,
            timeout_seconds=60,
            # The whole response: ModelApprovalStatus is optional in it, so the Choice tests its presence.
            result_path="$.package",
        ),
        IS_APPROVED: {
            "Type": "Choice",
            "Choices": [
                {
                    "And": when_present("$.package.ModelApprovalStatus", {"StringEquals": "Approved"}),
                    "Next": after_approval,
                }
            ],
            "Default": NOT_APPROVED,
        },
        NOT_APPROVED: fail_with(
            "ModelPackageNotApproved",
            "Model package {} is not Approved; only approved packages are deployed, so nothing was deployed",
            PACKAGE_ARN,
        ),
    }


def deployment_tags(config: MlOpsConfig) -> list[dict[str, str]]:
    """The workflow's tags plus the package deployed, on everything a deployment creates."""
    return [*resource_tags(dict(config.tags), CREATED_BY), {"Key": PACKAGE_TAG, "Value.$": PACKAGE_ARN}]


def _check_input(config: MlOpsConfig) -> State:
    # Every path is tested for presence before its type: a missing one leads to InvalidInput and its
    # notification rather than an uncatchable States.Runtime error.
    arn = "$.modelPackageArn"
    complete = [
        {"Or": [{"Variable": "$.cause", "StringEquals": cause} for cause in CAUSES]},
    ]
    required = [rule for path in ["$.cause"] for rule in when_present(path, {"IsString": True})]
    if config.is_batch:
        required += [
            rule
            for path in ["$.score.bucket", "$.score.key"]
            for rule in when_present(path, {"IsString": True})
        ]
    valid = required + complete
    no_arn = {"Or": [{"Variable": arn, "IsPresent": False}, {"And": when_present(arn, {"IsNull": True})}]}
    return {
        "Type": "Choice",
        "Choices": [
            {"And": [*valid, *when_present(arn, {"IsString": True})], "Next": NAME_DEPLOYMENT},
            {"And": [*valid, no_arn], "Next": FIND_APPROVED},
        ],
        "Default": INVALID_INPUT,
    }


def _package_lookup(
    config: MlOpsConfig, resources: DeploymentResources, timings: Timings
) -> dict[str, State]:
    """No package named: the latest Approved package of the group, or `No Approved Model`."""
    return {
        FIND_APPROVED: task(
            "arn:aws:states:::aws-sdk:sagemaker:listModelPackages",
            {
                "ModelPackageGroupName": resources.model_package_group,
                "ModelApprovalStatus": "Approved",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
            next_state=ANY_APPROVED,
            timings=timings,
            timeout_seconds=60,
            result_path="$.approved",
            # ModelPackageSummaryList is required in the response; its length is what the Choice compares, so
            # the empty list never meets a path that is not there. `[*]` is an indefinite path: [] when empty.
            result_selector={
                "count.$": "States.ArrayLength($.ModelPackageSummaryList)",
                "arns.$": "$.ModelPackageSummaryList[*].ModelPackageArn",
            },
        ),
        ANY_APPROVED: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.approved.count", "NumericGreaterThan": 0, "Next": USE_LATEST}],
            "Default": NO_APPROVED_MODEL,
        },
        USE_LATEST: {
            "Type": "Pass",
            "InputPath": "$.approved.arns[0]",
            "ResultPath": "$.modelPackageArn",
            "Next": NAME_DEPLOYMENT,
        },
        NO_APPROVED_MODEL: fail_with(
            "NoApprovedModel",
            f"Model package group {resources.model_package_group} has no Approved package; nothing was "
            "deployed. Approve a package (or run training in automatic mode) and deploy again",
        ),
    }


def _summarize(config: MlOpsConfig) -> State:
    """The deployment record: which package, why, and what it made."""
    record: dict[str, Any] = {
        "execution.$": "$$.Execution.Name",
        "execution_arn.$": "$$.Execution.Id",
        "cause.$": "$.cause",
        "model_package_arn.$": PACKAGE_ARN,
        "model_name.$": NAME,
        "inference": "batch" if config.is_batch else "endpoint",
    }
    if config.is_batch:
        record["score.$"] = "$.score"
        record["predictions_prefix.$"] = f"States.Format('{layout.PREDICTIONS_PREFIX}run={{}}/', {NAME})"
    else:
        record["endpoint_name"] = config.endpoint_name
        record["endpoint_config_name.$"] = NAME
    return {"Type": "Pass", "Parameters": record, "ResultPath": "$.record", "Next": RECORD_DEPLOYMENT}


def _batch_states(config: MlOpsConfig, resources: DeploymentResources, timings: Timings) -> dict[str, State]:
    assert resources.rename_output_function_arn and resources.prediction_crawler_name, "batch mode needs both"
    output: dict[str, Any] = {
        "S3OutputPath.$": f"States.Format('s3://{resources.output_bucket}/{layout.PREDICTIONS_PREFIX}run={{}}', {NAME})",
        "Accept": "text/csv",
        "AssembleWith": "Line",
    }
    instances: dict[str, Any] = {
        "InstanceType": config.batch_transform_instance_type,
        "InstanceCount": config.batch_transform_instance_count,
    }
    if config.kms_key_arn:
        output["KmsKeyId"] = config.kms_key_arn
        instances["VolumeKmsKeyId"] = config.kms_key_arn
    crawl = task(
        "arn:aws:states:::aws-sdk:glue:startCrawler",
        {"Name": resources.prediction_crawler_name},
        next_state=SUMMARIZE,
        timings=timings,
        timeout_seconds=60,
    )
    # A crawl already in progress will pick up the new partition too, so that is success, not failure.
    crawl["Catch"] = [
        {"ErrorEquals": ["Glue.CrawlerRunningException"], "ResultPath": None, "Next": SUMMARIZE},
        *catch_all(),
    ]
    return {
        **_score_preparation(config, resources, timings),
        BATCH_TRANSFORM: task(
            "arn:aws:states:::sagemaker:createTransformJob.sync",
            {
                "TransformJobName.$": NAME,
                "ModelName.$": NAME,
                "BatchStrategy": "MultiRecord",
                "MaxPayloadInMB": MAX_PAYLOAD_MB,
                "TransformInput": {
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            # Every object under the prefix: the one score file, or its parts.
                            "S3Uri": f"s3://{resources.extracts_bucket}/{layout.SCORE_EXTRACT_PREFIX}",
                        }
                    },
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                },
                "TransformOutput": output,
                "TransformResources": instances,
                # Score rows are "<id>,<features...>": the model sees features only, and each output line is
                # "<id>,<probability>", so predictions keep their ids.
                "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
                "Tags": deployment_tags(config),
            },
            next_state=RENAME_OUTPUT,
            timings=timings,
            timeout_seconds=config.batch_transform_timeout_minutes * 60 + JOB_START_OVERHEAD_SECONDS,
        ),
        RENAME_OUTPUT: lambda_task(
            resources.rename_output_function_arn,
            {
                "bucket": resources.output_bucket,
                "prefix.$": f"States.Format('{layout.PREDICTIONS_PREFIX}run={{}}/', {NAME})",
            },
            next_state=CATALOG_PREDICTIONS,
            timings=timings,
            timeout_seconds=LAMBDA_TASK_TIMEOUT_SECONDS,
            result_path="$.predictions",
        ),
        CATALOG_PREDICTIONS: crawl,
    }


def _score_preparation(
    config: MlOpsConfig, resources: DeploymentResources, timings: Timings
) -> dict[str, State]:
    """The score file through the ETL job (scoring only, with the schema the model was trained on), unless the
    training run that started this deployment has just written its extract."""
    assert resources.glue_job_name, "batch mode needs the ETL job"
    arguments = {
        "--source_bucket.$": "$.score.bucket",
        "--train_key": "",
        "--score_key.$": "$.score.key",
        "--destination_bucket": resources.extracts_bucket,
        "--inference_type": "batch",
        "--output_layout": "byo" if config.uses_own_image else "builtin",
        "--validation": "false",
        # Batch Transform gives each instance whole files: one score part per instance.
        "--score_parts": str(config.batch_transform_instance_count),
    }
    return {
        SCORE_READY: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.cause", "StringEquals": "training", "Next": CREATE_MODEL}],
            "Default": PREPARE_SCORE,
        },
        PREPARE_SCORE: task(
            "arn:aws:states:::glue:startJobRun.sync",
            {"JobName": resources.glue_job_name, "Arguments": arguments},
            next_state=CREATE_MODEL,
            timings=timings,
            timeout_seconds=resources.etl_timeout_seconds,
            result_path="$.etl",
            result_selector={"job_run_id.$": "$.Id"},
        ),
    }


def _endpoint_states(
    config: MlOpsConfig, resources: DeploymentResources, timings: Timings
) -> dict[str, State]:
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "ModelName.$": NAME,
        "InitialInstanceCount": config.endpoint_instance_count,
        "InstanceType": config.endpoint_instance_type,
        "InitialVariantWeight": 1,
    }
    endpoint_config: dict[str, Any] = {
        "EndpointConfigName.$": NAME,
        "ProductionVariants": [variant],
        "Tags": deployment_tags(config),
    }
    if config.kms_key_arn:
        endpoint_config["KmsKeyId"] = config.kms_key_arn
    return {
        CREATE_ENDPOINT_CONFIG: task(
            "arn:aws:states:::sagemaker:createEndpointConfig",
            endpoint_config,
            next_state=DEPLOY_ENDPOINT,
            timings=timings,
            timeout_seconds=300,
        ),
        DEPLOY_ENDPOINT: _deploy_endpoint(config, resources, timings),
        **_endpoint_polling(config, timings),
        **_endpoint_failures(config),
    }


def _deploy_endpoint(config: MlOpsConfig, resources: DeploymentResources, timings: Timings) -> State:
    assert resources.endpoint_function_arn, "endpoint mode needs the endpoint function"
    deploy = lambda_task(
        resources.endpoint_function_arn,
        {"EndpointName": config.endpoint_name, "EndpointConfigName.$": NAME},
        next_state=START_POLLING,
        timings=timings,
        timeout_seconds=LAMBDA_TASK_TIMEOUT_SECONDS,
        result_path="$.endpoint",
    )
    deploy["Retry"] += [
        # An endpoint mid-update cannot be updated again: wait for it, as long as the endpoint budget allows.
        {
            "ErrorEquals": ["EndpointBusy"],
            "IntervalSeconds": timings.poll_interval_seconds,
            "MaxAttempts": endpoint_max_polls(config, timings),
            "BackoffRate": 1.0,
        },
        # SageMaker reads a just-created endpoint config with eventual consistency.
        {
            "ErrorEquals": ["EndpointConfigNotFound"],
            "IntervalSeconds": timings.retry_interval_seconds,
            "MaxAttempts": timings.retry_max_attempts,
            "BackoffRate": timings.retry_backoff_rate,
        },
    ]
    return deploy


def _endpoint_polling(config: MlOpsConfig, timings: Timings) -> dict[str, State]:
    """Describe the endpoint until it is InService, has failed, or the wait budget is spent."""
    reason = "$.endpoint_status.FailureReason"  # optional in DescribeEndpoint's response
    in_service = {"Variable": ENDPOINT_STATUS, "StringEquals": "InService"}
    failed = {"Variable": ENDPOINT_STATUS, "StringEquals": "Failed"}
    return {
        START_POLLING: {
            "Type": "Pass",
            "Result": {"count": 0},
            "ResultPath": "$.poll",
            "Next": WAIT_FOR_ENDPOINT,
        },
        WAIT_FOR_ENDPOINT: {
            "Type": "Wait",
            "Seconds": timings.poll_interval_seconds,
            "Next": DESCRIBE_ENDPOINT,
        },
        DESCRIBE_ENDPOINT: task(
            "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName": config.endpoint_name},
            next_state=ENDPOINT_READY,
            timings=timings,
            timeout_seconds=60,
            result_path="$.endpoint_status",
        ),
        ENDPOINT_READY: {
            "Type": "Choice",
            "Choices": [
                {"And": [in_service, {"Variable": reason, "IsPresent": False}], "Next": SUMMARIZE},
                # InService with a FailureReason: the update failed and SageMaker rolled back to the old model.
                {
                    "And": [in_service, {"Variable": reason, "IsPresent": True}],
                    "Next": EXPLAIN_ENDPOINT_ROLLBACK,
                },
                {"And": [failed, {"Variable": reason, "IsPresent": True}], "Next": EXPLAIN_ENDPOINT_FAILURE},
                {**failed, "Next": EXPLAIN_ENDPOINT_FAILURE_NO_REASON},
                {
                    "Variable": "$.poll.count",
                    "NumericGreaterThanEquals": endpoint_max_polls(config, timings),
                    "Next": EXPLAIN_ENDPOINT_TIMEOUT,
                },
            ],
            "Default": COUNT_POLL,
        },
        COUNT_POLL: {
            "Type": "Pass",
            "Parameters": {"count.$": "States.MathAdd($.poll.count, 1)"},
            "ResultPath": "$.poll",
            "Next": WAIT_FOR_ENDPOINT,
        },
    }


def _endpoint_failures(config: MlOpsConfig) -> dict[str, State]:
    failed = f"Endpoint {config.endpoint_name} failed with endpoint config {{}}"
    delete = "Only DeleteEndpoint works on a failed endpoint; delete it and deploy again to create it"
    return {
        EXPLAIN_ENDPOINT_FAILURE: fail_with(
            "EndpointFailed", f"{failed}: {{}}. {delete}", NAME, "$.endpoint_status.FailureReason"
        ),
        EXPLAIN_ENDPOINT_FAILURE_NO_REASON: fail_with(
            "EndpointFailed", f"{failed} and SageMaker gave no reason. {delete}", NAME
        ),
        EXPLAIN_ENDPOINT_ROLLBACK: fail_with(
            "EndpointUpdateRolledBack",
            f"Endpoint {config.endpoint_name} kept its previous model; the update to endpoint config {{}} failed: {{}}",
            NAME,
            "$.endpoint_status.FailureReason",
        ),
        EXPLAIN_ENDPOINT_TIMEOUT: fail_with(
            "EndpointTimeout",
            f"Endpoint {config.endpoint_name} was not InService after {config.endpoint_wait_timeout_minutes} "
            "minutes (last status {})",
            ENDPOINT_STATUS,
        ),
    }


__all__ = ["NOTIFY_FAILURE", "DeploymentResources", "deployment_definition"]
