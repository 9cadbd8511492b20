"""The training workflow's definition: ETL, tuning, the gate, then batch inference or an endpoint.

`training_definition` is a pure function of the config and plain resource names/ARNs. The component feeds it
resolved Outputs; tests and `mlops render` call it directly.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from mlops_component import layout
from mlops_component.builders.state_machines import gate
from mlops_component.builders.state_machines.states import (
    NOTIFY_FAILURE,
    RUN_SUCCEEDED,
    State,
    Timings,
    catch_all,
    fail_with,
    failure_states,
    lambda_task,
    task,
    when_present,
)
from mlops_component.config import MlOpsConfig
from mlops_component.config.base import JOB_START_OVERHEAD_SECONDS

# Metrics the bring-your-own training program prints; each becomes a MetricDefinition so the run metadata
# records all of them, not only the objective.
REPORTED_METRICS = ("accuracy", "roc_auc", "precision", "recall", "f1")
# SageMaker's largest Batch Transform payload; records are small CSV lines, so more per request is faster.
MAX_PAYLOAD_MB = 6
# Lambda tasks time out after the functions' own timeouts (at most 15 minutes) so the function reports first.
LAMBDA_TASK_TIMEOUT_SECONDS = 960

# State names, also used by the execution tests' mocked responses.
CHECK_INPUT = "Check Input"
TRANSFORM_DATA = "Transform Data"
NAME_RUN = "Name Run"
TUNE = "Tune Hyperparameters"
RECORD_METADATA = "Record Run Metadata"
GATE = "Check Objective Metric"
EXPLAIN_GATE_FAILURE = "Objective Below Threshold"
EXPLAIN_NO_OBJECTIVE = "Objective Missing"
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
INVALID_INPUT = "Invalid Input"

# S3DataSource.S3DataDistributionType values of the tuning job's channels.
FULLY_REPLICATED = "FullyReplicated"
SHARDED_BY_S3_KEY = "ShardedByS3Key"
# Required in DescribeEndpoint's response (API reference), so a Choice may compare it without IsPresent.
ENDPOINT_STATUS = "$.endpoint_status.EndpointStatus"


@dataclass(frozen=True)
class TrainingResources:
    """Names and ARNs of what the workflow drives, resolved from the component's Outputs."""

    glue_job_name: str
    etl_timeout_seconds: int
    extracts_bucket: str
    models_bucket: str
    output_bucket: str
    image_uri: str
    sagemaker_role_arn: str
    topic_arn: str
    run_metadata_function_arn: str
    # Batch mode only:
    rename_output_function_arn: str | None = None
    prediction_crawler_name: str | None = None
    # Endpoint mode only:
    endpoint_function_arn: str | None = None


def run_name(job_name: str) -> str:
    """A unique run name, `<job_name>-<12 hex digits>`: what the Name Run state computes, for local runs.

    The state's intrinsic, `States.Format('<job_name>-{}', States.ArrayGetItem(States.StringSplit(States.UUID(),
    '-'), 4))`, takes the last group of a random UUID; so does this. The result names the tuning job, model,
    endpoint config and transform job, so it must fit SageMaker's 32 characters for tuning jobs, which the
    config's 18-character limit on `job_name` guarantees. Change both together.
    """
    return f"{job_name}-{str(uuid.uuid4()).split('-')[4]}"


def metric_regex(metric: str) -> str:
    """The MetricDefinitions regex for a metric the training program prints as `<metric>: <value>`."""
    return f"{re.escape(metric)}: ([0-9\\.]+)"


def metric_definitions(config: MlOpsConfig) -> list[dict[str, str]]:
    """What SageMaker reads from the training logs: every reported metric, the objective included."""
    names = dict.fromkeys([*REPORTED_METRICS, config.tuning_metric])
    return [{"Name": name, "Regex": metric_regex(name)} for name in names]


def sagemaker_tags(config: MlOpsConfig) -> list[dict[str, str]]:
    """Tags for what the workflow creates at run time, which Pulumi does not track; they find it for clean-up."""
    tags = {**config.tags, "mlops:created-by": "training-workflow"}
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tuning_timeout_seconds(config: MlOpsConfig) -> int:
    """Longest a tuning job can take: its training jobs run in waves of `max_parallel_training_jobs`."""
    waves = math.ceil(config.max_number_training_jobs / config.max_parallel_training_jobs)
    return waves * (config.training_job_max_runtime_seconds + JOB_START_OVERHEAD_SECONDS)


def endpoint_max_polls(config: MlOpsConfig, timings: Timings) -> int:
    """How many status checks fit in the endpoint wait budget."""
    return max(1, math.ceil(config.endpoint_wait_timeout_minutes * 60 / timings.poll_interval_seconds))


def training_definition(
    config: MlOpsConfig, resources: TrainingResources, timings: Timings | None = None
) -> dict[str, Any]:
    """The Amazon States Language definition of the training workflow for `config`'s inference mode."""
    timings = timings or Timings()
    states: dict[str, State] = {
        CHECK_INPUT: _check_input(config),
        INVALID_INPUT: fail_with(
            "InvalidInput",
            'Expected input {"train": {"bucket": ..., "key": ...}'
            + (', "score": {"bucket": ..., "key": ...}}' if config.is_batch else "}")
            + "; the S3 trigger sends this shape.",
        ),
        TRANSFORM_DATA: _transform_data(config, resources, timings),
        NAME_RUN: _name_run(config),
        TUNE: _tune(config, resources, timings),
        RECORD_METADATA: lambda_task(
            resources.run_metadata_function_arn,
            {"TuningJobName.$": "$.tuning.name"},
            next_state=GATE,
            timings=timings,
            timeout_seconds=LAMBDA_TASK_TIMEOUT_SECONDS,
            result_path="$.metadata",
        ),
        **_gate_states(config),
        CREATE_MODEL: task(
            "arn:aws:states:::sagemaker:createModel",
            {
                "ModelName.$": "$.run.name",
                "ExecutionRoleArn": resources.sagemaker_role_arn,
                "PrimaryContainer": {
                    "Image": resources.image_uri,
                    "ModelDataUrl.$": "$.metadata.result.model_data_url",
                },
                # Scoring needs no network: the model and data come from S3 through SageMaker itself.
                "EnableNetworkIsolation": True,
                "Tags": sagemaker_tags(config),
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
        RUN_SUCCEEDED: {"Type": "Succeed"},
        **failure_states(resources.topic_arn, f"{config.name_prefix} training workflow", timings),
    }
    return {
        "Comment": f"MLOps training workflow for {config.job_name} ({config.endpoint_or_batch_transform})",
        "StartAt": CHECK_INPUT,
        "TimeoutSeconds": _total_timeout(config, resources),
        "States": states,
    }


def _name_run(config: MlOpsConfig) -> State:
    return {
        "Type": "Pass",
        # 18-character job name + "-" + 12 random hex digits: unique per run, within SageMaker's 32
        # characters for tuning jobs, with no function to call. `run_name` is the same rule for local runs.
        "Parameters": {
            "name.$": f"States.Format('{config.job_name}-{{}}', "
            "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4))"
        },
        "ResultPath": "$.run",
        "Next": TUNE,
    }


def _gate_states(config: MlOpsConfig) -> dict[str, State]:
    """The gate and its two ways of stopping a model: below the threshold, or no objective to compare."""
    operator, threshold = config.inference_comparison_operator, config.inference_metric_threshold
    return {
        GATE: {
            "Type": "Choice",
            "Choices": [
                gate.choice_rule(operator, threshold, CREATE_MODEL),
                gate.missing_rule(EXPLAIN_NO_OBJECTIVE),
            ],
            "Default": EXPLAIN_GATE_FAILURE,
        },
        EXPLAIN_GATE_FAILURE: fail_with(
            "ObjectiveBelowThreshold",
            f"Objective metric {{}} = {{}} did not pass {operator} {threshold}; no model was deployed",
            gate.OBJECTIVE_NAME_PATH,
            gate.OBJECTIVE_VALUE_PATH,
        ),
        EXPLAIN_NO_OBJECTIVE: fail_with(
            "ObjectiveMissing",
            f"Tuning job {{}} reported no {config.tuning_metric} value for its best training job; "
            "no model was deployed",
            "$.tuning.name",
        ),
    }


def _check_input(config: MlOpsConfig) -> State:
    # The input is whatever the caller sent: each path is tested for presence before its type, so a missing
    # one leads to InvalidInput and its notification rather than an uncatchable States.Runtime error.
    required = ["$.train.bucket", "$.train.key"] + (
        ["$.score.bucket", "$.score.key"] if config.is_batch else []
    )
    complete = [rule for path in required for rule in when_present(path, {"IsString": True})]
    return {
        "Type": "Choice",
        "Choices": [{"And": complete, "Next": TRANSFORM_DATA}],
        "Default": INVALID_INPUT,
    }


def _transform_data(config: MlOpsConfig, resources: TrainingResources, timings: Timings) -> State:
    arguments: dict[str, str] = {
        "--source_bucket.$": "$.train.bucket",
        "--train_key.$": "$.train.key",
        "--destination_bucket": resources.extracts_bucket,
        "--inference_type": "batch" if config.is_batch else "endpoint",
        "--output_layout": "byo" if config.uses_own_image else "builtin",
        "--validation": "true" if config.use_validation_channel else "false",
    }
    if config.is_batch:
        arguments["--score_key.$"] = "$.score.key"
        # Batch Transform gives each instance whole files: one score part per instance.
        arguments["--score_parts"] = str(config.batch_transform_instance_count)
    else:
        arguments["--score_key"] = ""
    if config.training_job_instance_count > 1:
        # One train part per training instance: ShardedByS3Key then hands each instance exactly one (see _tune).
        arguments["--train_parts"] = str(config.training_job_instance_count)
    return task(
        "arn:aws:states:::glue:startJobRun.sync",
        {"JobName": resources.glue_job_name, "Arguments": arguments},
        next_state=NAME_RUN,
        timings=timings,
        timeout_seconds=resources.etl_timeout_seconds,
        result_path="$.etl",
        result_selector={"job_run_id.$": "$.Id"},
    )


def _tune(config: MlOpsConfig, resources: TrainingResources, timings: Timings) -> State:
    algorithm: dict[str, Any] = {"TrainingImage": resources.image_uri, "TrainingInputMode": "File"}
    if config.uses_own_image:
        # Built-in algorithms define their own metrics; SageMaker rejects definitions for them.
        algorithm["MetricDefinitions"] = metric_definitions(config)
    # Several instances train one model on their own shares of the rows (container/xgb_model/distributed.py):
    # ShardedByS3Key hands each its own train parts, which the ETL wrote one per instance, because SageMaker
    # gives an instance no data at all when a sharded channel has fewer objects than instances. Every
    # instance reads the whole validation set and keeps its share of its rows, so it stays replicated.
    sharded = config.training_job_instance_count > 1
    channels = [
        _channel(
            "train",
            f"s3://{resources.extracts_bucket}/{layout.TRAIN_CHANNEL_PREFIX}",
            SHARDED_BY_S3_KEY if sharded else FULLY_REPLICATED,
        )
    ]
    if config.use_validation_channel:
        channels.append(
            _channel(
                "validation",
                f"s3://{resources.extracts_bucket}/{layout.VALIDATION_CHANNEL_PREFIX}",
                FULLY_REPLICATED,
            )
        )
    output: dict[str, Any] = {"S3OutputPath": f"s3://{resources.models_bucket}/{layout.MODELS_PREFIX}"}
    instances: dict[str, Any] = {
        "InstanceType": config.training_job_instance_type,
        "InstanceCount": config.training_job_instance_count,
        "VolumeSizeInGB": config.training_job_storage_in_gb,
    }
    if config.kms_key_arn:
        output["KmsKeyId"] = config.kms_key_arn
        instances["VolumeKmsKeyId"] = config.kms_key_arn
    ranges = {kind: items for kind, items in config.parameter_ranges.to_sagemaker().items() if items}
    return task(
        "arn:aws:states:::sagemaker:createHyperParameterTuningJob.sync",
        {
            "HyperParameterTuningJobName.$": "$.run.name",
            "HyperParameterTuningJobConfig": {
                "Strategy": config.tuning_strategy,
                "HyperParameterTuningJobObjective": {
                    "Type": config.tuning_objective,
                    "MetricName": config.tuning_metric,
                },
                "ResourceLimits": {
                    "MaxNumberOfTrainingJobs": config.max_number_training_jobs,
                    "MaxParallelTrainingJobs": config.max_parallel_training_jobs,
                },
                "ParameterRanges": ranges,
                "TrainingJobEarlyStoppingType": "Off",
            },
            "TrainingJobDefinition": {
                "AlgorithmSpecification": algorithm,
                "RoleArn": resources.sagemaker_role_arn,
                "StaticHyperParameters": config.static_hyperparameters,
                "InputDataConfig": channels,
                "OutputDataConfig": output,
                "ResourceConfig": instances,
                "StoppingCondition": {"MaxRuntimeInSeconds": config.training_job_max_runtime_seconds},
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": config.training_job_instance_count > 1,
            },
            "Tags": sagemaker_tags(config),
        },
        next_state=RECORD_METADATA,
        timings=timings,
        timeout_seconds=tuning_timeout_seconds(config),
        result_path="$.tuning",
        result_selector={"name.$": "$.HyperParameterTuningJobName", "best.$": "$.BestTrainingJob"},
    )


def _channel(name: str, s3_uri: str, distribution: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": s3_uri,
                "S3DataDistributionType": distribution,
            }
        },
    }


def _batch_states(config: MlOpsConfig, resources: TrainingResources, timings: Timings) -> dict[str, State]:
    assert resources.rename_output_function_arn and resources.prediction_crawler_name, "batch mode needs both"
    output: dict[str, Any] = {
        "S3OutputPath.$": f"States.Format('s3://{resources.output_bucket}/{layout.PREDICTIONS_PREFIX}run={{}}', $.run.name)",
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
        next_state=RUN_SUCCEEDED,
        timings=timings,
        timeout_seconds=60,
    )
    # A crawl already in progress will pick up the new partition too, so that is success, not failure.
    crawl["Catch"] = [
        {"ErrorEquals": ["Glue.CrawlerRunningException"], "ResultPath": None, "Next": RUN_SUCCEEDED},
        *catch_all(),
    ]
    return {
        BATCH_TRANSFORM: task(
            "arn:aws:states:::sagemaker:createTransformJob.sync",
            {
                "TransformJobName.$": "$.run.name",
                "ModelName.$": "$.run.name",
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
                "Tags": sagemaker_tags(config),
            },
            next_state=RENAME_OUTPUT,
            timings=timings,
            timeout_seconds=config.batch_transform_timeout_minutes * 60 + JOB_START_OVERHEAD_SECONDS,
        ),
        RENAME_OUTPUT: lambda_task(
            resources.rename_output_function_arn,
            {
                "bucket": resources.output_bucket,
                "prefix.$": f"States.Format('{layout.PREDICTIONS_PREFIX}run={{}}/', $.run.name)",
            },
            next_state=CATALOG_PREDICTIONS,
            timings=timings,
            timeout_seconds=LAMBDA_TASK_TIMEOUT_SECONDS,
            result_path="$.predictions",
        ),
        CATALOG_PREDICTIONS: crawl,
    }


def _endpoint_states(config: MlOpsConfig, resources: TrainingResources, timings: Timings) -> dict[str, State]:
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "ModelName.$": "$.run.name",
        "InitialInstanceCount": config.endpoint_instance_count,
        "InstanceType": config.endpoint_instance_type,
        "InitialVariantWeight": 1,
    }
    endpoint_config: dict[str, Any] = {
        "EndpointConfigName.$": "$.run.name",
        "ProductionVariants": [variant],
        "Tags": sagemaker_tags(config),
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


def _deploy_endpoint(config: MlOpsConfig, resources: TrainingResources, timings: Timings) -> State:
    assert resources.endpoint_function_arn, "endpoint mode needs the endpoint function"
    deploy = lambda_task(
        resources.endpoint_function_arn,
        {"EndpointName": config.endpoint_name, "EndpointConfigName.$": "$.run.name"},
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
                {"And": [in_service, {"Variable": reason, "IsPresent": False}], "Next": RUN_SUCCEEDED},
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
    delete = "Only DeleteEndpoint works on a failed endpoint; delete it and start a run to create it again"
    return {
        EXPLAIN_ENDPOINT_FAILURE: fail_with(
            "EndpointFailed", f"{failed}: {{}}. {delete}", "$.run.name", "$.endpoint_status.FailureReason"
        ),
        EXPLAIN_ENDPOINT_FAILURE_NO_REASON: fail_with(
            "EndpointFailed", f"{failed} and SageMaker gave no reason. {delete}", "$.run.name"
        ),
        EXPLAIN_ENDPOINT_ROLLBACK: fail_with(
            "EndpointUpdateRolledBack",
            f"Endpoint {config.endpoint_name} kept its previous model; the update to endpoint config {{}} failed: {{}}",
            "$.run.name",
            "$.endpoint_status.FailureReason",
        ),
        EXPLAIN_ENDPOINT_TIMEOUT: fail_with(
            "EndpointTimeout",
            f"Endpoint {config.endpoint_name} was not InService after {config.endpoint_wait_timeout_minutes} "
            "minutes (last status {})",
            ENDPOINT_STATUS,
        ),
    }


def _total_timeout(config: MlOpsConfig, resources: TrainingResources) -> int:
    """An upper bound for a whole run, so a stuck execution ends rather than running (and billing) forever."""
    inference = (
        config.batch_transform_timeout_minutes * 60 + JOB_START_OVERHEAD_SECONDS
        if config.is_batch
        else config.endpoint_wait_timeout_minutes * 60 * 2
    )
    return (
        resources.etl_timeout_seconds
        + tuning_timeout_seconds(config)
        + inference
        + 4 * LAMBDA_TASK_TIMEOUT_SECONDS
    )


__all__ = ["NOTIFY_FAILURE", "TrainingResources", "metric_regex", "run_name", "training_definition"]
