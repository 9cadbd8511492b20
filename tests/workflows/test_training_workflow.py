"""The training workflow's definition: built, parsed by a real ASL parser, and its paths executed."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_component.builders.state_machines import training_workflow as wf
from mlops_component.builders.state_machines.states import CLASSIFY_FAILURE, Timings
from tests.workflows.asl import execute, graph_problems

ENDPOINT_MODE = "Create Model Endpoint Config"
FAST = Timings(retry_interval_seconds=1, poll_interval_seconds=1)
RESOURCES = wf.TrainingResources(
    glue_job_name="mlops-test-data-transformation",
    etl_timeout_seconds=3900,
    extracts_bucket="mlops-test-extracts-123456789012-us-east-1",
    models_bucket="mlops-test-models-123456789012-us-east-1",
    output_bucket="mlops-test-output-123456789012-us-east-1",
    image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/byo-xgboost@sha256:" + "a" * 64,
    sagemaker_role_arn="arn:aws:iam::123456789012:role/mlops-test-sagemaker",
    topic_arn="arn:aws:sns:us-east-1:123456789012:mlops-test-failures",
    run_metadata_function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-test-run-metadata",
    rename_output_function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-test-rename-output",
    prediction_crawler_name="mlops-test-predictions",
    endpoint_function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-test-endpoint",
)
LANDED = {
    "train": {"bucket": "feature-store", "key": "data/train/train.csv", "version_id": "v1", "etag": "e1"},
    "score": {"bucket": "feature-store", "key": "data/score/score.csv", "version_id": "v2", "etag": "e2"},
}


@pytest.fixture(params=["Batch Transform", ENDPOINT_MODE])
def definition(request, make_config) -> dict[str, Any]:
    return wf.training_definition(make_config(endpoint_or_batch_transform=request.param), RESOURCES)


# --- builder -----------------------------------------------------------------------------------------------


def test_every_target_exists_and_every_state_is_reachable(definition) -> None:
    assert graph_problems(definition) == []


def test_every_task_retries_catches_and_times_out(definition) -> None:
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    assert len(tasks) >= 6
    for name, state in tasks.items():
        assert state["TimeoutSeconds"] > 0, name
        assert state["Retry"] and state["Retry"][0]["BackoffRate"] >= 1, name
        assert any(c["ErrorEquals"] == ["States.ALL"] for c in state["Catch"]), name
    for name, state in tasks.items():
        if name != wf.NOTIFY_FAILURE:
            assert state["Catch"][-1]["Next"] == CLASSIFY_FAILURE, name
    assert definition["States"]["Run Failed"] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    assert definition["TimeoutSeconds"] > sum(
        s["TimeoutSeconds"] for s in tasks.values() if ".sync" in s["Resource"]
    )


def test_tuning_job_is_fully_specified(make_config) -> None:
    config = make_config(max_number_training_jobs=6, max_parallel_training_jobs=2)
    params = wf.training_definition(config, RESOURCES)["States"][wf.TUNE]["Parameters"]
    tuning = params["HyperParameterTuningJobConfig"]
    assert tuning["Strategy"] == "Bayesian"
    assert tuning["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "accuracy"}
    assert tuning["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2}
    assert [r["Name"] for r in tuning["ParameterRanges"]["IntegerParameterRanges"]] == ["max_depth"]
    assert "CategoricalParameterRanges" not in tuning["ParameterRanges"]  # empty lists are left out
    job = params["TrainingJobDefinition"]
    assert job["AlgorithmSpecification"]["TrainingImage"] == RESOURCES.image_uri
    assert {"Name": "accuracy", "Regex": "accuracy: ([0-9\\.]+)"} in job["AlgorithmSpecification"][
        "MetricDefinitions"
    ]
    assert job["StaticHyperParameters"] == {"kfold_splits": "5"}
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train"]
    assert (
        job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        == f"s3://{RESOURCES.extracts_bucket}/train/"
    )
    assert (
        job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "FullyReplicated"
    )
    assert (
        "--train_parts"
        not in wf.training_definition(config, RESOURCES)["States"][wf.TRANSFORM_DATA]["Parameters"][
            "Arguments"
        ]
    )
    assert job["ResourceConfig"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert job["OutputDataConfig"] == {"S3OutputPath": f"s3://{RESOURCES.models_bucket}/tuning/"}
    # Three waves of two jobs, each allowed its runtime plus start-up.
    assert wf.training_definition(config, RESOURCES)["States"][wf.TUNE]["TimeoutSeconds"] == 3 * (3600 + 900)


def test_metric_regex_reads_the_training_programs_lines() -> None:
    regex = re.compile(wf.metric_regex("accuracy"))
    assert regex.search("accuracy: 0.8731").group(1) == "0.8731"
    assert wf.metric_regex("validation:auc") == "validation:auc: ([0-9\\.]+)"


def test_built_in_image_validation_channel_and_kms(make_config) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    config = make_config(
        built_in_model_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        tuning_metric="validation:auc",
        use_validation_channel=True,
        static_hyperparameters={"num_round": "100"},
        kms_key_arn=key,
    )
    states = wf.training_definition(config, RESOURCES)["States"]
    job = states[wf.TUNE]["Parameters"]["TrainingJobDefinition"]
    assert "MetricDefinitions" not in job["AlgorithmSpecification"]
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train", "validation"]
    assert job["OutputDataConfig"]["KmsKeyId"] == key and job["ResourceConfig"]["VolumeKmsKeyId"] == key
    assert states[wf.TRANSFORM_DATA]["Parameters"]["Arguments"]["--output_layout"] == "builtin"
    # The ETL writes the holdout the validation channel reads (validation/, etl/transform.py).
    assert states[wf.TRANSFORM_DATA]["Parameters"]["Arguments"]["--validation"] == "true"
    assert job["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"].endswith("/validation/")
    assert states[wf.BATCH_TRANSFORM]["Parameters"]["TransformOutput"]["KmsKeyId"] == key


def test_gate_reads_the_best_training_jobs_objective_once_present(make_config) -> None:
    config = make_config(
        inference_comparison_operator="NumericLessThanEquals", inference_metric_threshold=0.25
    )
    gate = wf.training_definition(config, RESOURCES)["States"][wf.GATE]
    value = "$.tuning.best.FinalHyperParameterTuningJobObjectiveMetric.Value"
    assert gate["Choices"] == [
        {
            "And": [
                {"Variable": value, "IsPresent": True},
                {"Variable": value, "NumericLessThanEquals": 0.25},
            ],
            "Next": wf.CREATE_MODEL,
        },
        {"Variable": value, "IsPresent": False, "Next": wf.EXPLAIN_NO_OBJECTIVE},
    ]
    assert gate["Default"] == wf.EXPLAIN_GATE_FAILURE


def test_modes_differ_only_after_the_model(make_config) -> None:
    batch = wf.training_definition(make_config(), RESOURCES)["States"]
    endpoint = wf.training_definition(make_config(endpoint_or_batch_transform=ENDPOINT_MODE), RESOURCES)[
        "States"
    ]
    assert {wf.BATCH_TRANSFORM, wf.RENAME_OUTPUT, wf.CATALOG_PREDICTIONS} <= set(batch) - set(endpoint)
    assert {wf.CREATE_ENDPOINT_CONFIG, wf.DEPLOY_ENDPOINT, wf.DESCRIBE_ENDPOINT} <= set(endpoint) - set(batch)
    assert batch[wf.CREATE_MODEL]["Next"] == wf.BATCH_TRANSFORM
    assert endpoint[wf.CREATE_MODEL]["Next"] == wf.CREATE_ENDPOINT_CONFIG
    assert endpoint[wf.TRANSFORM_DATA]["Parameters"]["Arguments"]["--score_key"] == ""
    assert "--score_parts" not in endpoint[wf.TRANSFORM_DATA]["Parameters"]["Arguments"]
    assert batch[wf.TRANSFORM_DATA]["Parameters"]["Arguments"]["--score_key.$"] == "$.score.key"
    transform = batch[wf.BATCH_TRANSFORM]["Parameters"]
    assert transform["TransformInput"]["SplitType"] == "Line"
    assert transform["TransformInput"]["ContentType"] == "text/csv"
    assert transform["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "JoinSource": "Input",
        "OutputFilter": "$[0,-1]",
    }


def test_definitions_parse_with_a_real_asl_parser(definition) -> None:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="training", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/w"
        )["stateMachineArn"]
        assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == definition


# --- executed paths ----------------------------------------------------------------------------------------


def run(make_config, mode: str, case: str, execution_input: dict | None = None, **overrides: Any):
    config = make_config(endpoint_or_batch_transform=mode, **overrides)
    definition = wf.training_definition(config, RESOURCES, FAST)
    machine = "training-batch" if mode == "Batch Transform" else "training-endpoint"
    return execute(
        definition,
        LANDED if execution_input is None else execution_input,
        state_machine=machine,
        test_case=case,
    )


def test_gate_passes_then_the_batch_path_runs(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GatePasses")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.entered == [
        wf.CHECK_INPUT, wf.TRANSFORM_DATA, wf.NAME_RUN, wf.TUNE, wf.RECORD_METADATA, wf.GATE,
        wf.CREATE_MODEL, wf.BATCH_TRANSFORM, wf.RENAME_OUTPUT, wf.CATALOG_PREDICTIONS, "Run Succeeded",
    ]  # fmt: skip
    glue_args = outcome.task_inputs[wf.TRANSFORM_DATA][0]["Arguments"]
    assert (
        glue_args["--train_key"] == "data/train/train.csv"
        and glue_args["--score_key"] == "data/score/score.csv"
    )
    run_name = outcome.output["run"]["name"]
    assert re.fullmatch(r"employee-attrition-[0-9a-f]{12}", run_name) and len(run_name) <= 32
    assert outcome.task_inputs[wf.TUNE][0]["HyperParameterTuningJobName"] == run_name
    model = outcome.task_inputs[wf.CREATE_MODEL][0]
    assert model["ModelName"] == run_name
    assert model["PrimaryContainer"]["ModelDataUrl"].endswith("/output/model.tar.gz")
    transform = outcome.task_inputs[wf.BATCH_TRANSFORM][0]
    assert (
        transform["TransformOutput"]["S3OutputPath"]
        == f"s3://{RESOURCES.output_bucket}/predictions/run={run_name}"
    )
    assert outcome.task_inputs[wf.RENAME_OUTPUT][0]["Payload"]["prefix"] == f"predictions/run={run_name}/"


def test_three_transform_instances_score_three_parts_of_the_score_prefix(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GatePasses", batch_transform_instance_count=3)
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    # The ETL is told to write a part per instance, and the transform reads every object under score/.
    glue_args = outcome.task_inputs[wf.TRANSFORM_DATA][0]["Arguments"]
    assert (glue_args["--score_parts"], glue_args["--validation"]) == ("3", "false")
    transform = outcome.task_inputs[wf.BATCH_TRANSFORM][0]
    assert transform["TransformInput"]["DataSource"] == {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{RESOURCES.extracts_bucket}/score/"}
    }
    assert transform["TransformResources"]["InstanceCount"] == 3
    # The rename step gets the run's folder, not a file name: it renames every part it finds there.
    run_name = outcome.output["run"]["name"]
    assert outcome.task_inputs[wf.RENAME_OUTPUT][0]["Payload"] == {
        "bucket": RESOURCES.output_bucket,
        "prefix": f"predictions/run={run_name}/",
    }
    assert len(outcome.output["predictions"]["result"]["keys"]) == 3


def _leaves(document: Any, path: str = "") -> dict[str, Any]:
    """Every scalar of a JSON document by its path, lists by index."""
    if isinstance(document, dict):
        return {k: v for key, value in document.items() for k, v in _leaves(value, f"{path}/{key}").items()}
    if isinstance(document, list):
        return {k: v for n, value in enumerate(document) for k, v in _leaves(value, f"{path}/{n}").items()}
    return {path: document}


def test_two_training_instances_shard_the_train_channel_and_nothing_else_changes(make_config) -> None:
    """Instance count 2: the ETL writes two train parts and the train channel is ShardedByS3Key; the
    validation channel stays replicated. Count 1 keeps the single file and a replicated channel."""
    settings = {
        "built_in_model_image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "tuning_metric": "validation:auc",
        "use_validation_channel": True,
        "static_hyperparameters": {"num_round": "100"},
    }
    one = wf.training_definition(make_config(**settings), RESOURCES)
    two = wf.training_definition(make_config(training_job_instance_count=2, **settings), RESOURCES)
    job = f"/States/{wf.TUNE}/Parameters/TrainingJobDefinition"
    distribution = "DataSource/S3DataSource/S3DataDistributionType"
    before, after = _leaves(one), _leaves(two)
    changed = {path: (before.get(path), after.get(path)) for path in before.keys() | after.keys()}
    assert {path: values for path, values in changed.items() if values[0] != values[1]} == {
        f"/States/{wf.TRANSFORM_DATA}/Parameters/Arguments/--train_parts": (None, "2"),
        f"{job}/InputDataConfig/0/{distribution}": ("FullyReplicated", "ShardedByS3Key"),
        f"{job}/ResourceConfig/InstanceCount": (1, 2),
        f"{job}/EnableInterContainerTrafficEncryption": (False, True),
    }
    assert after[f"{job}/InputDataConfig/1/{distribution}"] == "FullyReplicated"  # validation: every row


def test_two_training_instances_run_on_the_train_parts(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GatePasses", training_job_instance_count=2)
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.task_inputs[wf.TRANSFORM_DATA][0]["Arguments"]["--train_parts"] == "2"
    tuning = outcome.task_inputs[wf.TUNE][0]["TrainingJobDefinition"]
    assert tuning["InputDataConfig"][0]["DataSource"]["S3DataSource"] == {
        "S3DataType": "S3Prefix",
        "S3Uri": f"s3://{RESOURCES.extracts_bucket}/train/",
        "S3DataDistributionType": "ShardedByS3Key",
    }
    assert tuning["ResourceConfig"]["InstanceCount"] == 2


def test_two_runs_get_different_names(make_config) -> None:
    first = run(make_config, "Batch Transform", "GatePasses").output["run"]["name"]
    second = run(make_config, "Batch Transform", "GatePasses").output["run"]["name"]
    assert first != second


def test_gate_fails_with_a_cause_naming_metric_value_and_threshold(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GateFails")
    assert outcome.status == "FAILED"
    assert outcome.error == "ObjectiveBelowThreshold"
    assert outcome.cause == (
        "Objective metric accuracy = 0.55 did not pass NumericGreaterThan 0.7; no model was deployed"
    )
    assert wf.CREATE_MODEL not in outcome.entered
    assert outcome.entered[-2:] == [wf.NOTIFY_FAILURE, "Run Failed"]
    assert "accuracy = 0.55" in outcome.task_inputs[wf.NOTIFY_FAILURE][0]["Message"]


def test_transient_errors_are_retried(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "TransientErrorsRetried")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert len(outcome.task_inputs[wf.TUNE]) == 2
    assert len(outcome.task_inputs[wf.RECORD_METADATA]) == 2
    assert wf.NOTIFY_FAILURE not in outcome.entered


def test_a_permanent_error_notifies_then_fails(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "TransformFails")
    assert outcome.status == "FAILED"
    assert outcome.error == "StepFailed"
    assert outcome.cause.startswith("States.TaskFailed: Transform job employee-attrition-")
    assert len(outcome.task_inputs[wf.BATCH_TRANSFORM]) == 1  # a failed job is not retried
    assert outcome.entered[-5:] == [
        wf.BATCH_TRANSFORM,
        CLASSIFY_FAILURE,
        "Name Step Failure",
        wf.NOTIFY_FAILURE,
        "Run Failed",
    ]
    notification = outcome.task_inputs[wf.NOTIFY_FAILURE][0]
    assert notification["TopicArn"] == RESOURCES.topic_arn
    assert "Error: StepFailed\nCause: States.TaskFailed: Transform job" in notification["Message"]


def test_a_crawler_already_running_is_not_an_error(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "CrawlerAlreadyRunning")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert wf.NOTIFY_FAILURE not in outcome.entered


def test_malformed_input_fails_clearly_before_any_task(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GatePasses", execution_input={"train": {"bucket": "b"}})
    assert outcome.status == "FAILED"
    assert outcome.error == "InvalidInput"
    assert '"train": {"bucket": ..., "key": ...}' in outcome.cause
    assert wf.TRANSFORM_DATA not in outcome.entered


def test_endpoint_absent_is_created_and_waited_on(make_config) -> None:
    outcome = run(make_config, ENDPOINT_MODE, "EndpointAbsent")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["endpoint"]["result"]["action"] == "create"
    run_name = outcome.output["run"]["name"]
    assert outcome.task_inputs[wf.DEPLOY_ENDPOINT][0]["Payload"] == {
        "EndpointName": "training-endpoint",
        "EndpointConfigName": run_name,
    }
    assert outcome.entered.count(wf.DESCRIBE_ENDPOINT) == 2  # Creating, then InService
    assert outcome.task_inputs[wf.CREATE_ENDPOINT_CONFIG][0]["ProductionVariants"][0]["ModelName"] == run_name


def test_endpoint_present_is_updated(make_config) -> None:
    outcome = run(make_config, ENDPOINT_MODE, "EndpointPresent")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["endpoint"]["result"]["action"] == "update"
    assert outcome.entered.count(wf.DESCRIBE_ENDPOINT) == 2  # Updating, then InService


def test_busy_endpoint_is_retried_until_it_settles(make_config) -> None:
    outcome = run(make_config, ENDPOINT_MODE, "EndpointBusy")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert len(outcome.task_inputs[wf.DEPLOY_ENDPOINT]) == 2


def test_failed_endpoint_notifies_then_fails(make_config) -> None:
    outcome = run(make_config, ENDPOINT_MODE, "EndpointFails")
    assert outcome.status == "FAILED"
    assert outcome.error == "EndpointFailed"
    assert outcome.cause.startswith(
        "Endpoint training-endpoint failed with endpoint config employee-attrition-"
    )
    assert outcome.entered[-2:] == [wf.NOTIFY_FAILURE, "Run Failed"]


def test_failed_update_that_rolled_back_fails_the_run_with_the_reason(make_config) -> None:
    outcome = run(make_config, ENDPOINT_MODE, "EndpointRolledBack")
    assert outcome.status == "FAILED"
    assert outcome.error == "EndpointUpdateRolledBack"
    assert (
        "kept its previous model" in outcome.cause and "did not pass the ping health check" in outcome.cause
    )


def test_endpoint_config_not_yet_visible_is_retried(make_config) -> None:
    outcome = run(make_config, ENDPOINT_MODE, "EndpointConfigEventuallyVisible")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert len(outcome.task_inputs[wf.DEPLOY_ENDPOINT]) == 2


@pytest.mark.parametrize(
    "execution_input",
    [
        {},
        {"train": LANDED["train"]},
        {"train": {"bucket": "b"}},
        {"train": "s3://b/k", "score": LANDED["score"]},
    ],
    ids=["empty", "no-score", "readme-example", "train-not-an-object"],
)
def test_input_missing_a_path_fails_as_invalid_input_with_a_notification(
    make_config, execution_input
) -> None:
    # On AWS a Choice comparison on a missing path ends the run in States.Runtime with no notification; the
    # interpreter (tests/workflows/asl.py) does the same, so Check Input must test IsPresent first.
    outcome = run(make_config, "Batch Transform", "GatePasses", execution_input=execution_input)
    assert (outcome.status, outcome.error) == ("FAILED", "InvalidInput"), outcome.cause
    assert outcome.entered[-2:] == [wf.NOTIFY_FAILURE, "Run Failed"]


LAMBDA_TRANSIENT = [
    "TransientAwsError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
SAGEMAKER_OPTIMIZED = ["SageMaker.AmazonSageMakerException"]
# The error names Step Functions reports, per Task: optimized integrations use the SDK v1 exception names,
# `aws-sdk:` tasks `<Service>.<ErrorName>` from the API reference (modeled errors and the common ones).
EXPECTED_RETRIES = {
    wf.TRANSFORM_DATA: [
        "Glue.AWSGlueException",
        "Glue.ConcurrentRunsExceededException",
        "Glue.InternalServiceException",
        "Glue.OperationTimeoutException",
    ],
    wf.TUNE: SAGEMAKER_OPTIMIZED,
    wf.RECORD_METADATA: LAMBDA_TRANSIENT,
    wf.CREATE_MODEL: SAGEMAKER_OPTIMIZED,
    wf.BATCH_TRANSFORM: SAGEMAKER_OPTIMIZED,
    wf.RENAME_OUTPUT: LAMBDA_TRANSIENT,
    wf.CATALOG_PREDICTIONS: [
        "Glue.OperationTimeoutException",
        "Glue.ThrottlingException",
        "Glue.InternalFailureException",
        "Glue.ServiceUnavailableException",
    ],
    wf.CREATE_ENDPOINT_CONFIG: SAGEMAKER_OPTIMIZED,
    wf.DEPLOY_ENDPOINT: LAMBDA_TRANSIENT,
    wf.DESCRIBE_ENDPOINT: [
        "SageMaker.ThrottlingException",
        "SageMaker.InternalFailureException",
        "SageMaker.ServiceUnavailableException",
    ],
    wf.NOTIFY_FAILURE: ["SNS.AmazonSNSException", "SNS.ThrottledException", "SNS.InternalErrorException"],
}


def test_each_task_retries_the_error_names_of_its_integration_style(definition) -> None:
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    assert set(tasks) <= set(EXPECTED_RETRIES)
    for name, state in tasks.items():
        assert state["Retry"][0]["ErrorEquals"] == EXPECTED_RETRIES[name], name


def test_the_sdk_crawler_task_treats_a_running_crawler_as_success(make_config) -> None:
    crawl = wf.training_definition(make_config(), RESOURCES)["States"][wf.CATALOG_PREDICTIONS]
    assert crawl["Resource"] == "arn:aws:states:::aws-sdk:glue:startCrawler"
    assert crawl["Catch"][0] == {
        "ErrorEquals": ["Glue.CrawlerRunningException"],
        "ResultPath": None,
        "Next": "Run Succeeded",
    }


def test_failed_endpoint_without_a_reason_still_notifies_then_fails(make_config) -> None:
    # FailureReason is optional in DescribeEndpoint's response; formatting it when absent is States.Runtime.
    outcome = run(make_config, ENDPOINT_MODE, "EndpointFailsWithoutReason")
    assert (outcome.status, outcome.error) == ("FAILED", "EndpointFailed"), outcome.cause
    assert "and SageMaker gave no reason" in outcome.cause
    assert outcome.entered[-3:] == [wf.EXPLAIN_ENDPOINT_FAILURE_NO_REASON, wf.NOTIFY_FAILURE, "Run Failed"]
