"""The training workflow's definition: built, parsed by a real ASL parser, and its paths executed."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etl import transform
from mlops_component.builders.state_machines import training_workflow as wf
from mlops_component.builders.state_machines.states import CLASSIFY_FAILURE, Timings
from tests.workflows.asl import MOCK_CONFIG, execute, graph_problems
from tests.workflows.aws_api import request_problems

ENDPOINT_MODE = "Create Model Endpoint Config"
FAST = Timings(retry_interval_seconds=1, poll_interval_seconds=1)
RESOURCES = wf.TrainingResources(
    glue_job_name="mlops-test-data-transformation",
    etl_timeout_seconds=3900,
    extracts_bucket="mlops-test-extracts-123456789012-us-east-1",
    models_bucket="mlops-test-models-123456789012-us-east-1",
    metadata_bucket="mlops-test-metadata-123456789012-us-east-1",
    image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/byo-xgboost@sha256:" + "a" * 64,
    sagemaker_role_arn="arn:aws:iam::123456789012:role/mlops-test-sagemaker",
    topic_arn="arn:aws:sns:us-east-1:123456789012:mlops-test-failures",
    run_metadata_function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-test-run-metadata",
    register_model_function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-test-register-model",
    deployment_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:mlops-test-deployment",
)
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-test-models/3"
LANDED = {
    "train": {"bucket": "feature-store", "key": "data/train/train.csv", "version_id": "v1", "etag": "e1"},
    "score": {"bucket": "feature-store", "key": "data/score/score.csv", "version_id": "v2", "etag": "e2"},
}


@pytest.fixture(
    params=[("Batch Transform", "automatic"), (ENDPOINT_MODE, "automatic"), ("Batch Transform", "manual")]
)
def definition(request, make_config) -> dict[str, Any]:
    mode, approval = request.param
    config = make_config(endpoint_or_batch_transform=mode, model_approval_mode=approval)
    return wf.training_definition(config, RESOURCES)


# --- builder -----------------------------------------------------------------------------------------------


def test_every_target_exists_and_every_state_is_reachable(definition) -> None:
    assert graph_problems(definition) == []


def test_every_task_retries_catches_and_times_out(definition) -> None:
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    assert len(tasks) >= 5
    for name, state in tasks.items():
        assert state["TimeoutSeconds"] > 0, name
        assert state["Retry"] and state["Retry"][0]["BackoffRate"] >= 1, name
        assert any(c["ErrorEquals"] == ["States.ALL"] for c in state["Catch"]), name
    for name, state in tasks.items():
        if name not in (wf.NOTIFY_FAILURE, wf.RECORD_NOT_REGISTERED):
            assert state["Catch"][-1]["Next"] == CLASSIFY_FAILURE, name
    # The gate's own error is what the run fails with, even when its record cannot be written.
    assert tasks[wf.RECORD_NOT_REGISTERED]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_error", "Next": wf.NOTIFY_FAILURE}
    ]
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


def test_the_runs_time_limit_outlasts_its_longest_path(definition) -> None:
    # Step Functions takes only a whole number of seconds; and a run stopped by its own limit while every task is
    # within its own would lose work the tasks were allowed to finish: the longest path runs ETL, tuning, both
    # functions and the deployment, each up to its limit, then notifies when the deployment fails.
    states = definition["States"]
    path = [
        wf.TRANSFORM_DATA,
        wf.TUNE,
        wf.RECORD_METADATA,
        wf.REGISTER_MODEL,
        wf.DEPLOY_MODEL,
        wf.NOTIFY_FAILURE,
    ]
    longest = sum(states[name]["TimeoutSeconds"] for name in path if name in states)
    assert isinstance(definition["TimeoutSeconds"], int) and definition["TimeoutSeconds"] >= longest


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
            "Next": wf.REGISTER_MODEL,
        },
        {"Variable": value, "IsPresent": False, "Next": wf.EXPLAIN_NO_OBJECTIVE},
    ]
    assert gate["Default"] == wf.EXPLAIN_GATE_FAILURE


def test_approval_mode_decides_what_follows_registration(make_config) -> None:
    automatic = wf.training_definition(make_config(), RESOURCES)["States"]
    manual = wf.training_definition(make_config(model_approval_mode="manual"), RESOURCES)["States"]
    register = automatic[wf.REGISTER_MODEL]
    assert register["Parameters"]["Payload"] == {"RunName.$": "$.run.name", "Run.$": "$.metadata.result"}
    assert register["Next"] == wf.DEPLOY_MODEL and manual[wf.REGISTER_MODEL]["Next"] == wf.PENDING_APPROVAL
    assert manual[wf.PENDING_APPROVAL] == {"Type": "Succeed"} and wf.DEPLOY_MODEL not in manual
    deploy = automatic[wf.DEPLOY_MODEL]
    assert deploy["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert deploy["Parameters"]["StateMachineArn"] == RESOURCES.deployment_state_machine_arn
    assert deploy["Parameters"]["Input"]["score.$"] == "$.score"
    # No deploy state is left in the training workflow: the deployment workflow holds the one copy.
    assert not {"Create Model", "Batch Transform", "Create Endpoint Config"} & set(automatic)
    endpoint = wf.training_definition(make_config(endpoint_or_batch_transform=ENDPOINT_MODE), RESOURCES)
    assert endpoint["States"][wf.DEPLOY_MODEL]["Parameters"]["Input"]["score"] is None


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
    outcome = execute(
        definition,
        LANDED if execution_input is None else execution_input,
        state_machine=machine,
        test_case=case,
    )
    # Whatever the path, every request it sends is one the service's API accepts (botocore's model).
    for state, requests in outcome.task_inputs.items():
        for request in requests:
            assert request_problems(definition["States"][state]["Resource"], request) == [], state
    return outcome


def mocked_return(name: str) -> dict[str, Any]:
    """The first response a mocked task of `mock_config.json` returns."""
    return json.loads(MOCK_CONFIG.read_text())["MockedResponses"][name]["0"]["Return"]


def test_gate_passes_then_the_model_is_registered_and_deployed(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GatePasses")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.entered == [
        wf.CHECK_INPUT, wf.TRANSFORM_DATA, wf.NAME_RUN, wf.TUNE, wf.RECORD_METADATA, wf.GATE,
        wf.REGISTER_MODEL, wf.DEPLOY_MODEL, "Run Succeeded",
    ]  # fmt: skip
    glue_args = outcome.task_inputs[wf.TRANSFORM_DATA][0]["Arguments"]
    assert (
        glue_args["--train_key"] == "data/train/train.csv"
        and glue_args["--score_key"] == "data/score/score.csv"
    )
    run_name = outcome.output["run"]["name"]
    assert re.fullmatch(r"employee-attrition-[0-9a-f]{12}", run_name) and len(run_name) <= 32
    assert outcome.task_inputs[wf.TUNE][0]["HyperParameterTuningJobName"] == run_name
    # The run-metadata function is asked about the tuning job that just finished (its input: `TuningJobName`).
    tuned = outcome.output["tuning"]["name"]
    assert outcome.task_inputs[wf.RECORD_METADATA][0]["Payload"] == {"TuningJobName": tuned}
    registered = outcome.task_inputs[wf.REGISTER_MODEL][0]["Payload"]
    assert registered["RunName"] == run_name
    assert registered["Run"]["model_data_url"].endswith("/output/model.tar.gz")
    # The deployment gets exactly the package just registered, the run's score file, and why it runs.
    started = outcome.task_inputs[wf.DEPLOY_MODEL][0]
    assert started["Name"] == run_name
    assert started["Input"]["modelPackageArn"] == PACKAGE_ARN
    assert started["Input"]["score"] == LANDED["score"]
    assert started["Input"]["cause"] == "training"
    # The console links the deployment to this run (Step Functions' documented field for a started execution).
    assert re.fullmatch(
        r"arn:aws:states:us-east-1:123456789012:execution:training-batch:.+",
        started["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
    )
    # The run's output names what it started: the ETL job run (for its logs) and the deployment, with its result.
    deployed = mocked_return("DeploymentSucceeded")
    assert outcome.output["etl"] == {"job_run_id": mocked_return("GlueSucceeded")["Id"]}
    assert outcome.output["deployment"] == {
        "execution_arn": deployed["ExecutionArn"],
        "status": "SUCCEEDED",
        "output": deployed["Output"],
    }
    assert outcome.output["registration"]["result"]["status"] == "Approved"


@pytest.mark.parametrize(
    "mode, inference, score",
    [
        ("Batch Transform", "batch", {"--score_key": "data/score/score.csv", "--score_parts": "1"}),
        (ENDPOINT_MODE, "endpoint", {"--score_key": ""}),
    ],
)
def test_the_etl_job_gets_the_landed_files_and_the_inference_mode(
    make_config, mode: str, inference: str, score: dict[str, str]
) -> None:
    # Batch mode extracts the score file too (one part per transform instance); endpoint mode only trains.
    outcome = run(make_config, mode, "GatePasses")
    arguments = outcome.task_inputs[wf.TRANSFORM_DATA][0]["Arguments"]
    assert arguments == {
        "--source_bucket": "feature-store",
        "--train_key": "data/train/train.csv",
        "--destination_bucket": RESOURCES.extracts_bucket,
        "--inference_type": inference,
        "--output_layout": "byo",
        "--validation": "false",
        **score,
    }
    # ...which the job's own argument parser reads as such.
    argv = ["transform.py", *(item for pair in arguments.items() for item in pair)]
    assert transform.resolve_arguments(argv)["inference_type"] == inference


def test_manual_approval_registers_then_stops_pending_approval(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GatePassesManual", model_approval_mode="manual")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.entered[-2:] == [wf.REGISTER_MODEL, wf.PENDING_APPROVAL]
    assert wf.DEPLOY_MODEL not in outcome.task_inputs
    result = outcome.output["registration"]["result"]
    assert result["status"] == "PendingManualApproval" and "approve it to deploy it" in result["message"]


def test_endpoint_mode_starts_the_deployment_without_a_score_file(make_config) -> None:
    outcome = run(make_config, ENDPOINT_MODE, "GatePasses", execution_input={"train": LANDED["train"]})
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.task_inputs[wf.DEPLOY_MODEL][0]["Input"]["score"] is None


def test_a_failed_deployment_fails_the_run_with_a_notification(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "DeploymentFails")
    assert (outcome.status, outcome.error) == ("FAILED", "StepFailed")
    assert outcome.cause.startswith("States.TaskFailed: ")
    assert outcome.entered[-5:] == [
        wf.DEPLOY_MODEL,
        CLASSIFY_FAILURE,
        "Name Step Failure",
        wf.NOTIFY_FAILURE,
        "Run Failed",
    ]
    assert len(outcome.task_inputs[wf.DEPLOY_MODEL]) == 1  # a failed deployment is not retried


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


def test_gate_fails_so_nothing_is_registered_and_the_cause_says_why(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "GateFails")
    assert outcome.status == "FAILED"
    assert outcome.error == "ObjectiveBelowThreshold"
    assert outcome.cause == (
        "Objective metric accuracy = 0.55 did not pass NumericGreaterThan 0.7; the model was not registered"
    )
    assert wf.REGISTER_MODEL not in outcome.entered and wf.DEPLOY_MODEL not in outcome.entered
    assert outcome.entered[-3:] == [wf.RECORD_NOT_REGISTERED, wf.NOTIFY_FAILURE, "Run Failed"]
    assert "accuracy = 0.55" in outcome.task_inputs[wf.NOTIFY_FAILURE][0]["Message"]
    # Beside the run record, why the model was not registered.
    record = outcome.task_inputs[wf.RECORD_NOT_REGISTERED][0]
    assert record["Bucket"] == RESOURCES.metadata_bucket
    assert record["Key"].startswith("runs/employee-attrition-") and record["Key"].endswith(
        ".not-registered.json"
    )
    assert json.loads(record["Body"]) == {"Error": "ObjectiveBelowThreshold", "Cause": outcome.cause}
    assert record["ContentType"] == "application/json"  # opens as JSON in the console and in a browser


def test_transient_errors_are_retried(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "TransientErrorsRetried")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert len(outcome.task_inputs[wf.TUNE]) == 2
    assert len(outcome.task_inputs[wf.RECORD_METADATA]) == 2
    assert len(outcome.task_inputs[wf.REGISTER_MODEL]) == 2
    assert wf.NOTIFY_FAILURE not in outcome.entered


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("Batch Transform", '{"train": {"bucket": ..., "key": ...}, "score": {"bucket": ..., "key": ...}}'),
        (ENDPOINT_MODE, '{"train": {"bucket": ..., "key": ...}}'),
    ],
)
def test_malformed_input_fails_clearly_before_any_task(make_config, mode: str, expected: str) -> None:
    # The cause is what the user reads in the notification: the shape the mode needs, and who sends it.
    outcome = run(make_config, mode, "GatePasses", execution_input={"train": {"bucket": "b"}})
    assert (outcome.status, outcome.error) == ("FAILED", "InvalidInput")
    assert outcome.cause == f"Expected input {expected}; the S3 trigger sends this shape."
    assert wf.TRANSFORM_DATA not in outcome.entered


@pytest.mark.parametrize(
    "execution_input",
    [
        {},
        {"train": LANDED["train"]},
        {"train": {"bucket": "b"}},
        {"train": {"key": "k"}, "score": LANDED["score"]},
        {"train": LANDED["train"], "score": {"bucket": "b"}},
        {"train": LANDED["train"], "score": {"key": "k"}},
        {"train": "s3://b/k", "score": LANDED["score"]},
    ],
    ids=[
        "empty",
        "no-score",
        "readme-example",
        "no-train-bucket",
        "no-score-key",
        "no-score-bucket",
        "train-not-an-object",
    ],
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
    wf.REGISTER_MODEL: LAMBDA_TRANSIENT,
    wf.RECORD_NOT_REGISTERED: [
        "S3.InternalErrorException",
        "S3.SlowDownException",
        "S3.ThrottlingException",
        "S3.InternalFailureException",
        "S3.ServiceUnavailableException",
    ],
    wf.DEPLOY_MODEL: [
        "StepFunctions.AWSStepFunctionsException",
        "StepFunctions.ExecutionLimitExceededException",
    ],
    wf.NOTIFY_FAILURE: ["SNS.AmazonSNSException", "SNS.ThrottledException", "SNS.InternalErrorException"],
}


def test_each_task_retries_the_error_names_of_its_integration_style(definition) -> None:
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    assert set(tasks) <= set(EXPECTED_RETRIES)
    for name, state in tasks.items():
        assert state["Retry"][0]["ErrorEquals"] == EXPECTED_RETRIES[name], name
