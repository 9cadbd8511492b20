"""The training workflow's definition: ETL, tuning, the gate, registration, then deployment or approval.

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
from mlops_component.builders.state_machines.deployment_workflow import (
    LAMBDA_TASK_TIMEOUT_SECONDS,
    deployment_timeout_seconds,
)
from mlops_component.builders.state_machines.states import (
    NOTIFY_FAILURE,
    RUN_SUCCEEDED,
    State,
    Timings,
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

# Metrics the bring-your-own training program prints; each becomes a MetricDefinition so the run metadata
# records all of them, not only the objective.
REPORTED_METRICS = ("accuracy", "roc_auc", "precision", "recall", "f1")

# State names, also used by the execution tests' mocked responses.
CHECK_INPUT = "Check Input"
TRANSFORM_DATA = "Transform Data"
NAME_RUN = "Name Run"
TUNE = "Tune Hyperparameters"
RECORD_METADATA = "Record Run Metadata"
GATE = "Check Objective Metric"
EXPLAIN_GATE_FAILURE = "Objective Below Threshold"
EXPLAIN_NO_OBJECTIVE = "Objective Missing"
RECORD_NOT_REGISTERED = "Record Why Not Registered"
REGISTER_MODEL = "Register Model"
DEPLOY_MODEL = "Deploy Model"
PENDING_APPROVAL = "Pending Manual Approval"
INVALID_INPUT = "Invalid Input"

# S3DataSource.S3DataDistributionType values of the tuning job's channels.
FULLY_REPLICATED = "FullyReplicated"
SHARDED_BY_S3_KEY = "ShardedByS3Key"


@dataclass(frozen=True)
class TrainingResources:
    """Names and ARNs of what the workflow drives, resolved from the component's Outputs."""

    glue_job_name: str
    etl_timeout_seconds: int
    extracts_bucket: str
    models_bucket: str
    metadata_bucket: str
    image_uri: str
    sagemaker_role_arn: str
    topic_arn: str
    run_metadata_function_arn: str
    register_model_function_arn: str
    # Automatic approval only: the workflow that deploys the registered package.
    deployment_state_machine_arn: str | None = None


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
    return resource_tags(dict(config.tags), "training-workflow")


def tuning_timeout_seconds(config: MlOpsConfig) -> int:
    """Longest a tuning job can take: its training jobs run in waves of `max_parallel_training_jobs`."""
    waves = math.ceil(config.max_number_training_jobs / config.max_parallel_training_jobs)
    return waves * (config.training_job_max_runtime_seconds + JOB_START_OVERHEAD_SECONDS)


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
        **_gate_states(config, resources, timings),
        **_registration_states(config, resources, timings),
        **failure_states(resources.topic_arn, f"{config.name_prefix} training workflow", timings),
    }
    return {
        "Comment": f"MLOps training workflow for {config.job_name} ({config.endpoint_or_batch_transform})",
        "StartAt": CHECK_INPUT,
        "TimeoutSeconds": _total_timeout(config, resources),
        "States": states,
    }


def _name_run(config: MlOpsConfig) -> State:
    # `run_name` is the same rule for local runs.
    return unique_name(config.job_name, "$.run", TUNE)


def _registration_states(
    config: MlOpsConfig, resources: TrainingResources, timings: Timings
) -> dict[str, State]:
    """Register the model that passed the gate; then deploy it (automatic) or stop for approval (manual)."""
    automatic = config.model_approval_mode == "automatic"
    states: dict[str, State] = {
        REGISTER_MODEL: lambda_task(
            resources.register_model_function_arn,
            {"RunName.$": "$.run.name", "Run.$": "$.metadata.result"},
            next_state=DEPLOY_MODEL if automatic else PENDING_APPROVAL,
            timings=timings,
            timeout_seconds=LAMBDA_TASK_TIMEOUT_SECONDS,
            result_path="$.registration",
        )
    }
    if not automatic:
        # The registration result says which package awaits approval; approving it starts the deployment.
        states[PENDING_APPROVAL] = {"Type": "Succeed"}
        return states
    assert resources.deployment_state_machine_arn, "automatic approval needs the deployment workflow"
    states[DEPLOY_MODEL] = task(
        "arn:aws:states:::states:startExecution.sync:2",
        {
            "StateMachineArn": resources.deployment_state_machine_arn,
            # Named after the run: a retry after a lost response starts nothing new (same name and input), and
            # the deployment record is deployments/<run>.json.
            "Name.$": "$.run.name",
            "Input": {
                "modelPackageArn.$": "$.registration.result.model_package_arn",
                **({"score.$": "$.score"} if config.is_batch else {"score": None}),
                "cause": "training",
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
            },
        },
        next_state=RUN_SUCCEEDED,
        timings=timings,
        timeout_seconds=deployment_timeout_seconds(config, resources.etl_timeout_seconds),
        result_path="$.deployment",
        # .sync:2 returns the child's Output as JSON rather than as a string.
        result_selector={"execution_arn.$": "$.ExecutionArn", "status.$": "$.Status", "output.$": "$.Output"},
    )
    states[RUN_SUCCEEDED] = {"Type": "Succeed"}
    return states


def _gate_states(config: MlOpsConfig, resources: TrainingResources, timings: Timings) -> dict[str, State]:
    """The gate and its two ways of stopping a model: below the threshold, or no objective to compare. Either
    way the model is not registered, and `runs/<run>.not-registered.json` beside the run record says why."""
    operator, threshold = config.inference_comparison_operator, config.inference_metric_threshold
    return {
        GATE: {
            "Type": "Choice",
            "Choices": [
                gate.choice_rule(operator, threshold, REGISTER_MODEL),
                gate.missing_rule(EXPLAIN_NO_OBJECTIVE),
            ],
            "Default": EXPLAIN_GATE_FAILURE,
        },
        EXPLAIN_GATE_FAILURE: fail_with(
            "ObjectiveBelowThreshold",
            f"Objective metric {{}} = {{}} did not pass {operator} {threshold}; the model was not registered",
            gate.OBJECTIVE_NAME_PATH,
            gate.OBJECTIVE_VALUE_PATH,
            next_state=RECORD_NOT_REGISTERED,
        ),
        EXPLAIN_NO_OBJECTIVE: fail_with(
            "ObjectiveMissing",
            f"Tuning job {{}} reported no {config.tuning_metric} value for its best training job; "
            "the model was not registered",
            "$.tuning.name",
            next_state=RECORD_NOT_REGISTERED,
        ),
        RECORD_NOT_REGISTERED: _record_not_registered(resources, timings),
    }


def _record_not_registered(resources: TrainingResources, timings: Timings) -> State:
    """Write the gate's Error and Cause next to the run record, then notify as any failure does."""
    # layout's `{}` is States.Format's placeholder too.
    record = task(
        "arn:aws:states:::aws-sdk:s3:putObject",
        {
            "Bucket": resources.metadata_bucket,
            "Key.$": f"States.Format('{layout.NOT_REGISTERED_KEY}', $.run.name)",
            "Body.$": "States.JsonToString($.error)",
            "ContentType": "application/json",
        },
        next_state=NOTIFY_FAILURE,
        timings=timings,
        timeout_seconds=60,
    )
    # A record that cannot be written must not replace the gate's own error: notify and fail with it anyway.
    record["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_error", "Next": NOTIFY_FAILURE}
    ]
    return record


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


def _total_timeout(config: MlOpsConfig, resources: TrainingResources) -> int:
    """An upper bound for a whole run, so a stuck execution ends rather than running (and billing) forever."""
    deployment = (
        deployment_timeout_seconds(config, resources.etl_timeout_seconds)
        if config.model_approval_mode == "automatic"
        else 0
    )
    return (
        resources.etl_timeout_seconds
        + tuning_timeout_seconds(config)
        + deployment
        + 4 * LAMBDA_TASK_TIMEOUT_SECONDS
    )


__all__ = ["NOTIFY_FAILURE", "TrainingResources", "metric_regex", "run_name", "training_definition"]
