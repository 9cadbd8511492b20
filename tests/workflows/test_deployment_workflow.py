"""The deployment workflow's definition: built, parsed by a real ASL parser, and its paths executed.

The interpreter (tests/workflows/asl.py) fails a Choice on a missing path with States.Runtime as AWS does, so
the paths below would fail here where they would fail on AWS: no approved package (an empty list), a package
response without ModelApprovalStatus (optional in DescribeModelPackage), input without a score or a cause.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from etl.transform import LAYOUTS, resolve_arguments, shaping_arguments
from functions import rename_output
from mlops_component.builders.state_machines import deployment_workflow as dw
from mlops_component.builders.state_machines.states import CLASSIFY_FAILURE, Timings
from mlops_component.config.base import JOB_START_OVERHEAD_SECONDS
from tests.conftest import BUILT_IN_XGBOOST
from tests.container.conftest import CONTAINER_DIR  # noqa: F401  # puts the container's package on sys.path
from tests.workflows.asl import execute, graph_problems
from tests.workflows.aws_api import request_problems

from xgb_model import settings as model_server_settings  # isort: skip

ENDPOINT_MODE = "Create Model Endpoint Config"
FAST = Timings(retry_interval_seconds=1, poll_interval_seconds=1)
RESOURCES = dw.DeploymentResources(
    model_package_group="mlops-test-models",
    extracts_bucket="mlops-test-extracts-123456789012-us-east-1",
    output_bucket="mlops-test-output-123456789012-us-east-1",
    metadata_bucket="mlops-test-metadata-123456789012-us-east-1",
    sagemaker_role_arn="arn:aws:iam::123456789012:role/mlops-test-sagemaker",
    topic_arn="arn:aws:sns:us-east-1:123456789012:mlops-test-failures",
    glue_job_name="mlops-test-data-transformation",
    etl_timeout_seconds=3900,
    rename_output_function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-test-rename-output",
    prediction_crawler_name="mlops-test-predictions",
    endpoint_function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-test-endpoint",
)
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-test-models/3"
SCORE = {"bucket": "feature-store", "key": "data/score/score.csv", "version_id": "v2", "etag": "e2"}


def deployment_input(arn: str | None = PACKAGE_ARN, cause: str = "approval", **extra: Any) -> dict[str, Any]:
    return {"modelPackageArn": arn, "score": SCORE, "cause": cause, **extra}


@pytest.fixture(params=["Batch Transform", ENDPOINT_MODE])
def definition(request, make_config) -> dict[str, Any]:
    return dw.deployment_definition(make_config(endpoint_or_batch_transform=request.param), RESOURCES)


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
        if name != dw.NOTIFY_FAILURE:
            assert state["Catch"][-1]["Next"] == CLASSIFY_FAILURE, name
    assert definition["TimeoutSeconds"] > sum(
        s["TimeoutSeconds"] for s in tasks.values() if ".sync" in s["Resource"]
    )


@pytest.mark.parametrize("mode", ["Batch Transform", ENDPOINT_MODE])
def test_the_given_timings_pace_every_retry(make_config, mode: str) -> None:
    timings = Timings(
        retry_interval_seconds=7, retry_max_attempts=4, retry_backoff_rate=1.5, poll_interval_seconds=11
    )
    config = make_config(endpoint_or_batch_transform=mode)
    states = dw.deployment_definition(config, RESOURCES, timings)["States"]
    retriers = [(name, r) for name, state in states.items() for r in state.get("Retry", [])]
    assert len(retriers) >= 6
    for name, retrier in retriers:
        pacing = (retrier["IntervalSeconds"], retrier["MaxAttempts"], retrier["BackoffRate"])
        if retrier["ErrorEquals"] == ["EndpointBusy"]:  # waits for the endpoint as its polls do
            assert pacing == (11, dw.endpoint_max_polls(config, timings), 1.0)
        else:
            assert pacing == (7, 4, 1.5), (name, retrier["ErrorEquals"])


def test_the_model_comes_from_the_package_with_todays_isolation_and_keys(make_config) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    states = dw.deployment_definition(make_config(kms_key_arn=key), RESOURCES)["States"]
    model = states[dw.CREATE_MODEL]["Parameters"]
    assert model["PrimaryContainer"] == {"ModelPackageName.$": "$.package.ModelPackageArn"}
    assert model["EnableNetworkIsolation"] is True
    # The model runs as the pipeline's SageMaker role, the one role the workflow may pass and the one that may
    # read the encrypted model store and pull the image.
    assert model["ExecutionRoleArn"] == RESOURCES.sagemaker_role_arn
    assert {"Key": "mlops:model-package", "Value.$": "$.package.ModelPackageArn"} in model["Tags"]
    transform = states[dw.BATCH_TRANSFORM]["Parameters"]
    assert transform["TransformOutput"]["KmsKeyId"] == key
    assert transform["TransformResources"]["VolumeKmsKeyId"] == key
    assert transform["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "JoinSource": "Input",
        "OutputFilter": "$[0,-1]",
    }
    endpoint = dw.deployment_definition(
        make_config(kms_key_arn=key, endpoint_or_batch_transform=ENDPOINT_MODE), RESOURCES
    )["States"]
    assert endpoint[dw.CREATE_ENDPOINT_CONFIG]["Parameters"]["KmsKeyId"] == key
    assert dw.PREPARE_SCORE not in endpoint


def test_the_latest_approved_package_is_asked_for_newest_first(make_config) -> None:
    find = dw.deployment_definition(make_config(), RESOURCES)["States"][dw.FIND_APPROVED]
    assert find["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:listModelPackages"
    assert find["Parameters"] == {
        "ModelPackageGroupName": "mlops-test-models",
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }


@pytest.mark.parametrize("image, layout", [({}, "byo"), (BUILT_IN_XGBOOST, "builtin")])
def test_the_score_extract_is_shaped_for_the_models_image(make_config, image: dict, layout: str) -> None:
    # SageMaker's XGBoost and the bring-your-own container read different CSV layouts; the ETL writes either.
    arguments = dw.deployment_definition(make_config(**image), RESOURCES)["States"][dw.PREPARE_SCORE][
        "Parameters"
    ]
    assert arguments["Arguments"]["--output_layout"] == layout and layout in LAYOUTS


def test_transform_requests_are_as_large_as_the_model_server_accepts(make_config) -> None:
    # The bring-your-own server answers a larger body with 413 (MODEL_SERVER_MAX_PAYLOAD_MB); smaller batches
    # would only mean more requests.
    transform = dw.deployment_definition(make_config(), RESOURCES)["States"][dw.BATCH_TRANSFORM]["Parameters"]
    assert transform["MaxPayloadInMB"] == model_server_settings.DEFAULT_MAX_PAYLOAD_MB


@pytest.mark.parametrize(
    "missing", ["rename_output_function_arn", "prediction_crawler_name", "glue_job_name"]
)
def test_batch_mode_refuses_resources_without_its_etl_rename_or_crawler(make_config, missing: str) -> None:
    with pytest.raises(AssertionError, match="batch mode needs"):
        dw.deployment_definition(make_config(), replace(RESOURCES, **{missing: None}))


def test_endpoint_mode_refuses_resources_without_the_endpoint_function(make_config) -> None:
    config = make_config(endpoint_or_batch_transform=ENDPOINT_MODE)
    with pytest.raises(AssertionError, match="endpoint mode needs the endpoint function"):
        dw.deployment_definition(config, replace(RESOURCES, endpoint_function_arn=None))


def test_definitions_parse_with_a_real_asl_parser(definition) -> None:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="deployment", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/w"
        )["stateMachineArn"]
        assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == definition


# --- executed paths ----------------------------------------------------------------------------------------


def run(make_config, mode: str, case: str, execution_input: dict[str, Any], **overrides: Any):
    config = make_config(endpoint_or_batch_transform=mode, **overrides)
    definition = dw.deployment_definition(config, RESOURCES, FAST)
    machine = "deployment-batch" if mode == "Batch Transform" else "deployment-endpoint"
    outcome = execute(definition, execution_input, state_machine=machine, test_case=case)
    # Whatever the path, every request it sends is one the service's API accepts (botocore's model).
    for state, requests in outcome.task_inputs.items():
        for request in requests:
            assert request_problems(definition["States"][state]["Resource"], request) == [], state
    return outcome


def test_a_named_package_is_checked_scored_with_and_recorded(make_config) -> None:
    outcome = run(
        make_config, "Batch Transform", "Deployed", deployment_input(), batch_transform_instance_count=2
    )
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.entered == [
        dw.CHECK_INPUT, dw.NAME_DEPLOYMENT, dw.DESCRIBE_PACKAGE, dw.IS_APPROVED, dw.SCORE_READY,
        dw.PREPARE_SCORE, dw.CREATE_MODEL, dw.BATCH_TRANSFORM, dw.RENAME_OUTPUT, dw.CATALOG_PREDICTIONS,
        dw.SUMMARIZE, dw.RECORD_DEPLOYMENT, "Run Succeeded",
    ]  # fmt: skip
    assert dw.FIND_APPROVED not in outcome.entered  # a named package is never swapped for another
    name = outcome.output["deployment"]["name"]
    assert outcome.task_inputs[dw.DESCRIBE_PACKAGE][0] == {"ModelPackageName": PACKAGE_ARN}
    # The ETL job reads what the workflow sends as a scoring-only batch run of the landed score file, split
    # into one part per Batch Transform instance (each instance is given whole files).
    glue = outcome.task_inputs[dw.PREPARE_SCORE][0]
    assert glue["JobName"] == RESOURCES.glue_job_name
    arguments = resolve_arguments(
        ["transform.py", *(item for pair in glue["Arguments"].items() for item in pair)]
    )
    assert arguments == {
        "source_bucket": "feature-store", "train_key": "", "score_key": SCORE["key"],
        "destination_bucket": RESOURCES.extracts_bucket, "inference_type": "batch", "output_layout": "byo",
        "score_parts": "2", "validation": "false", "train_parts": "1",
    }  # fmt: skip
    assert shaping_arguments(**{k: arguments[k] for k in ("score_parts", "validation", "train_parts")}) == {
        "score_parts": 2, "validation": False, "train_parts": 1,
    }  # fmt: skip
    model = outcome.task_inputs[dw.CREATE_MODEL][0]
    assert model["ModelName"] == name and model["PrimaryContainer"] == {"ModelPackageName": PACKAGE_ARN}
    assert {"Key": "mlops:model-package", "Value": PACKAGE_ARN} in model["Tags"]
    transform = outcome.task_inputs[dw.BATCH_TRANSFORM][0]
    assert transform["ModelName"] == name
    assert transform["TransformResources"]["InstanceCount"] == 2
    assert (
        transform["TransformOutput"]["S3OutputPath"]
        == f"s3://{RESOURCES.output_bucket}/predictions/run={name}"
    )
    assert {"Key": "mlops:model-package", "Value": PACKAGE_ARN} in transform["Tags"]
    # The rename function accepts what it is sent: this run's predictions folder of the output bucket.
    rename = outcome.task_inputs[dw.RENAME_OUTPUT][0]
    assert rename["FunctionName"] == RESOURCES.rename_output_function_arn
    assert rename_output.parse_event(rename["Payload"]) == (
        RESOURCES.output_bucket,
        f"predictions/run={name}/",
    )
    assert outcome.task_inputs[dw.CATALOG_PREDICTIONS][0] == {"Name": RESOURCES.prediction_crawler_name}
    # The execution's output says which ETL run prepared the score file and which prediction files it made.
    assert outcome.output["etl"] == {"job_run_id": "jr_5f0e1d"}
    assert outcome.output["predictions"]["result"]["keys"][0].endswith("/part-00000.csv")
    record = outcome.task_inputs[dw.RECORD_DEPLOYMENT][0]
    assert record["Bucket"] == RESOURCES.metadata_bucket and record["Key"].startswith("deployments/")
    body = json.loads(record["Body"])
    assert (body["model_package_arn"], body["cause"], body["model_name"]) == (PACKAGE_ARN, "approval", name)
    assert body["score"] == SCORE and body["predictions_prefix"] == f"predictions/run={name}/"
    assert body["inference"] == "batch"
    # A JSON document naming the execution it records (moto's context object has no Execution.Name, so the
    # key's name part is null here; on AWS it is the execution's name).
    assert record["ContentType"] == "application/json" and "execution" in body
    assert body["execution_arn"].startswith(
        "arn:aws:states:us-east-1:123456789012:execution:deployment-batch:"
    )


def test_a_training_deployment_reuses_the_runs_score_extract(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "Deployed", deployment_input(cause="training"))
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert dw.PREPARE_SCORE not in outcome.entered and dw.BATCH_TRANSFORM in outcome.entered


@pytest.mark.parametrize("arn", [None, "absent"])
def test_no_package_named_deploys_the_latest_approved_one(make_config, arn) -> None:
    execution_input = deployment_input(arn=None, cause="score-landed")
    if arn == "absent":
        del execution_input["modelPackageArn"]
    outcome = run(make_config, "Batch Transform", "Deployed", execution_input)
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.entered[:5] == [
        dw.CHECK_INPUT,
        dw.FIND_APPROVED,
        dw.ANY_APPROVED,
        dw.USE_LATEST,
        dw.NAME_DEPLOYMENT,
    ]
    assert outcome.task_inputs[dw.DESCRIBE_PACKAGE][0] == {"ModelPackageName": PACKAGE_ARN}
    assert outcome.task_inputs[dw.CREATE_MODEL][0]["PrimaryContainer"] == {"ModelPackageName": PACKAGE_ARN}


def test_no_approved_package_deploys_nothing_and_notifies(make_config) -> None:
    # ListModelPackages answers an empty list: a Choice on `packages[0]` would be States.Runtime on AWS.
    outcome = run(
        make_config, "Batch Transform", "NoneApproved", deployment_input(arn=None, cause="schedule")
    )
    assert (outcome.status, outcome.error) == ("FAILED", "NoApprovedModel"), outcome.cause
    assert outcome.cause == (
        "Model package group mlops-test-models has no Approved package; nothing was deployed. Approve a package "
        "(or run training in automatic mode) and deploy again"
    )
    assert outcome.entered[-3:] == [dw.NO_APPROVED_MODEL, dw.NOTIFY_FAILURE, "Run Failed"]
    assert not {dw.CREATE_MODEL, dw.PREPARE_SCORE, dw.BATCH_TRANSFORM, dw.RECORD_DEPLOYMENT} & set(
        outcome.entered
    )
    assert "NoApprovedModel" in outcome.task_inputs[dw.NOTIFY_FAILURE][0]["Message"]


@pytest.mark.parametrize("case", ["NotApproved", "StatusMissing"])
def test_a_package_that_is_not_approved_is_refused(make_config, case) -> None:
    outcome = run(make_config, "Batch Transform", case, deployment_input(cause="rollback"))
    assert (outcome.status, outcome.error) == ("FAILED", "ModelPackageNotApproved"), outcome.cause
    assert outcome.cause == (
        f"Model package {PACKAGE_ARN} is not Approved; only approved packages are deployed, so nothing was deployed"
    )
    assert dw.CREATE_MODEL not in outcome.entered


@pytest.mark.parametrize(
    "execution_input",
    [
        {},
        {"modelPackageArn": PACKAGE_ARN, "cause": "approval"},
        {"modelPackageArn": PACKAGE_ARN, "score": SCORE},
        {"modelPackageArn": PACKAGE_ARN, "score": SCORE, "cause": "because"},
        {"modelPackageArn": 3, "score": SCORE, "cause": "approval"},
        {"modelPackageArn": None, "score": None, "cause": "score-landed"},
    ],
    ids=["empty", "no-score", "no-cause", "unknown-cause", "arn-not-a-string", "null-score"],
)
def test_input_missing_a_path_fails_as_invalid_input_with_a_notification(
    make_config, execution_input
) -> None:
    outcome = run(make_config, "Batch Transform", "Deployed", execution_input)
    assert (outcome.status, outcome.error) == ("FAILED", "InvalidInput"), outcome.cause
    assert outcome.cause == (
        'Expected input {"modelPackageArn": "arn:..." or null, "score": {"bucket": ..., "key": ...}, '
        '"cause": "training" or "approval" or "score-landed" or "schedule" or "rollback"}'
    )
    assert outcome.entered[-2:] == [dw.NOTIFY_FAILURE, "Run Failed"]
    assert dw.DESCRIBE_PACKAGE not in outcome.entered


def test_a_failed_transform_notifies_then_fails(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "TransformFails", deployment_input())
    assert (outcome.status, outcome.error) == ("FAILED", "StepFailed")
    assert outcome.cause.startswith("States.TaskFailed: Transform job employee-attrition-")
    assert len(outcome.task_inputs[dw.BATCH_TRANSFORM]) == 1  # a failed job is not retried
    assert dw.RECORD_DEPLOYMENT not in outcome.entered
    notification = outcome.task_inputs[dw.NOTIFY_FAILURE][0]
    assert notification["TopicArn"] == RESOURCES.topic_arn


def test_a_crawler_already_running_is_not_an_error(make_config) -> None:
    outcome = run(make_config, "Batch Transform", "CrawlerAlreadyRunning", deployment_input())
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert dw.NOTIFY_FAILURE not in outcome.entered


# --- endpoint mode ---------------------------------------------------------------------------------------


def endpoint_run(make_config, case: str, **extra: Any):
    return run(
        make_config, ENDPOINT_MODE, case, {"modelPackageArn": PACKAGE_ARN, "cause": "approval", **extra}
    )


def test_endpoint_absent_is_created_waited_on_and_recorded(make_config) -> None:
    outcome = endpoint_run(make_config, "EndpointAbsent", score=None)  # endpoint mode ignores the score
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["endpoint"]["result"]["action"] == "create"
    name = outcome.output["deployment"]["name"]
    assert outcome.task_inputs[dw.DEPLOY_ENDPOINT][0]["Payload"] == {
        "EndpointName": "training-endpoint",
        "EndpointConfigName": name,
    }
    assert outcome.entered.count(dw.DESCRIBE_ENDPOINT) == 2  # Creating, then InService
    config = outcome.task_inputs[dw.CREATE_ENDPOINT_CONFIG][0]
    assert config["ProductionVariants"][0]["ModelName"] == name
    assert {"Key": "mlops:model-package", "Value": PACKAGE_ARN} in config["Tags"]
    body = json.loads(outcome.task_inputs[dw.RECORD_DEPLOYMENT][0]["Body"])
    assert (body["endpoint_name"], body["endpoint_config_name"]) == ("training-endpoint", name)
    assert body["inference"] == "endpoint"
    assert dw.PREPARE_SCORE not in outcome.entered


def test_endpoint_present_is_updated(make_config) -> None:
    outcome = endpoint_run(make_config, "EndpointPresent")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["endpoint"]["result"]["action"] == "update"


def test_busy_endpoint_is_retried_until_it_settles(make_config) -> None:
    outcome = endpoint_run(make_config, "EndpointBusy")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert len(outcome.task_inputs[dw.DEPLOY_ENDPOINT]) == 2


def test_failed_endpoint_notifies_then_fails(make_config) -> None:
    outcome = endpoint_run(make_config, "EndpointFails")
    assert (outcome.status, outcome.error) == ("FAILED", "EndpointFailed")
    # What failed, why, and the one way out.
    assert re.fullmatch(
        "Endpoint training-endpoint failed with endpoint config employee-attrition-[0-9a-f]{12}: Model container "
        "failed to pass the ping health check. Only DeleteEndpoint works on a failed endpoint; delete it and "
        "deploy again to create it",
        outcome.cause,
    ), outcome.cause
    assert outcome.entered[-2:] == [dw.NOTIFY_FAILURE, "Run Failed"]
    assert dw.RECORD_DEPLOYMENT not in outcome.entered


def test_failed_update_that_rolled_back_fails_with_the_reason(make_config) -> None:
    # Updating, then RollingBack with a FailureReason, then InService with it: only the end says what happened
    # (a RollingBack endpoint is not a failed one that must be deleted).
    outcome = endpoint_run(make_config, "EndpointRolledBack")
    assert (outcome.status, outcome.error) == ("FAILED", "EndpointUpdateRolledBack")
    assert re.fullmatch(
        "Endpoint training-endpoint kept its previous model; the update to endpoint config "
        "employee-attrition-[0-9a-f]{12} failed: The primary container for production variant AllTraffic did not "
        "pass the ping health check",
        outcome.cause,
    ), outcome.cause


def test_endpoint_config_not_yet_visible_is_retried(make_config) -> None:
    outcome = endpoint_run(make_config, "EndpointConfigEventuallyVisible")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert len(outcome.task_inputs[dw.DEPLOY_ENDPOINT]) == 2


def test_failed_endpoint_without_a_reason_still_notifies_then_fails(make_config) -> None:
    # FailureReason is optional in DescribeEndpoint's response; formatting it when absent is States.Runtime.
    outcome = endpoint_run(make_config, "EndpointFailsWithoutReason")
    assert (outcome.status, outcome.error) == ("FAILED", "EndpointFailed"), outcome.cause
    assert re.fullmatch(
        "Endpoint training-endpoint failed with endpoint config employee-attrition-[0-9a-f]{12} and SageMaker "
        "gave no reason. Only DeleteEndpoint works on a failed endpoint; delete it and deploy again to create it",
        outcome.cause,
    ), outcome.cause
    assert outcome.entered[-3:] == [dw.EXPLAIN_ENDPOINT_FAILURE_NO_REASON, dw.NOTIFY_FAILURE, "Run Failed"]


LAMBDA_TRANSIENT = [
    "TransientAwsError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
SAGEMAKER_OPTIMIZED = ["SageMaker.AmazonSageMakerException"]
SAGEMAKER_SDK = [
    "SageMaker.ThrottlingException",
    "SageMaker.InternalFailureException",
    "SageMaker.ServiceUnavailableException",
]
EXPECTED_RETRIES = {
    dw.FIND_APPROVED: SAGEMAKER_SDK,
    dw.DESCRIBE_PACKAGE: SAGEMAKER_SDK,
    dw.PREPARE_SCORE: [
        "Glue.AWSGlueException",
        "Glue.ConcurrentRunsExceededException",
        "Glue.InternalServiceException",
        "Glue.OperationTimeoutException",
    ],
    dw.CREATE_MODEL: SAGEMAKER_OPTIMIZED,
    dw.BATCH_TRANSFORM: SAGEMAKER_OPTIMIZED,
    dw.RENAME_OUTPUT: LAMBDA_TRANSIENT,
    dw.CATALOG_PREDICTIONS: [
        "Glue.OperationTimeoutException",
        "Glue.ThrottlingException",
        "Glue.InternalFailureException",
        "Glue.ServiceUnavailableException",
    ],
    dw.CREATE_ENDPOINT_CONFIG: SAGEMAKER_OPTIMIZED,
    dw.DEPLOY_ENDPOINT: LAMBDA_TRANSIENT,
    dw.DESCRIBE_ENDPOINT: SAGEMAKER_SDK,
    dw.RECORD_DEPLOYMENT: [
        "S3.InternalErrorException",
        "S3.SlowDownException",
        "S3.ThrottlingException",
        "S3.InternalFailureException",
        "S3.ServiceUnavailableException",
    ],
    dw.NOTIFY_FAILURE: ["SNS.AmazonSNSException", "SNS.ThrottledException", "SNS.InternalErrorException"],
}


def test_each_task_retries_the_error_names_of_its_integration_style(definition) -> None:
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    assert set(tasks) <= set(EXPECTED_RETRIES)
    for name, state in tasks.items():
        assert state["Retry"][0]["ErrorEquals"] == EXPECTED_RETRIES[name], name


def test_an_endpoint_never_in_service_times_out_after_the_configured_wait(make_config) -> None:
    # Waits are recorded, not slept: what is under test is how many polls the budget allows.
    config = make_config(endpoint_or_batch_transform=ENDPOINT_MODE, endpoint_wait_timeout_minutes=5)
    definition = dw.deployment_definition(
        config, RESOURCES, Timings(retry_interval_seconds=1, poll_interval_seconds=60)
    )
    waits: list[int] = []
    with mock.patch.object(
        WaitFunction, "_wait_interval", lambda self, env, wait_seconds: waits.append(wait_seconds)
    ):
        outcome = execute(
            definition,
            {"modelPackageArn": PACKAGE_ARN, "cause": "approval"},
            state_machine="deployment-endpoint",
            test_case="EndpointNeverInService",
        )
    assert (outcome.status, outcome.error) == ("FAILED", "EndpointTimeout"), outcome.cause
    assert (
        outcome.cause == "Endpoint training-endpoint was not InService after 5 minutes (last status Creating)"
    )
    # Polled every minute for the whole five minutes (the first status is read a minute after the deploy).
    assert waits == [60] * 6 and len(outcome.task_inputs[dw.DESCRIBE_ENDPOINT]) == 6
    assert outcome.entered[-3:] == [dw.EXPLAIN_ENDPOINT_TIMEOUT, dw.NOTIFY_FAILURE, "Run Failed"]
    assert dw.RECORD_DEPLOYMENT not in outcome.entered


def test_a_busy_endpoint_is_retried_at_a_steady_pace_for_the_whole_endpoint_wait(make_config) -> None:
    # An endpoint mid-update refuses another update; the deploy waits for it as long as it would poll it.
    # Production pacing: the default hour, one try every 30 seconds.
    config = make_config(endpoint_or_batch_transform=ENDPOINT_MODE, endpoint_wait_timeout_minutes=60)
    deploy = dw.deployment_definition(config, RESOURCES)["States"][dw.DEPLOY_ENDPOINT]
    [busy] = [retry for retry in deploy["Retry"] if "EndpointBusy" in retry["ErrorEquals"]]
    waits = [
        busy["IntervalSeconds"] * busy["BackoffRate"] ** attempt for attempt in range(busy["MaxAttempts"])
    ]
    assert waits == [30] * 120


def test_endpoint_mode_asks_for_no_score_file(make_config) -> None:
    outcome = endpoint_run(make_config, "EndpointAbsent", cause="because")
    assert (outcome.status, outcome.error) == ("FAILED", "InvalidInput"), outcome.cause
    assert outcome.cause == (
        'Expected input {"modelPackageArn": "arn:..." or null, '
        '"cause": "training" or "approval" or "score-landed" or "schedule" or "rollback"}'
    )


def test_the_workflow_waits_for_the_transform_as_long_as_the_config_says(make_config) -> None:
    # batchTransformTimeoutMinutes, plus the head-room SageMaker takes to start instances before the job runs.
    states = dw.deployment_definition(make_config(batch_transform_timeout_minutes=90), RESOURCES)["States"]
    assert states[dw.BATCH_TRANSFORM]["TimeoutSeconds"] == 90 * 60 + JOB_START_OVERHEAD_SECONDS


def _step_budget(state: dict[str, Any]) -> float:
    """A Task's limit plus the waits between its retries of transient errors."""
    first = state["Retry"][0]
    backoff = sum(first["IntervalSeconds"] * first["BackoffRate"] ** n for n in range(first["MaxAttempts"]))
    return state["TimeoutSeconds"] + backoff


LONGEST_PATHS = {
    "Batch Transform": [
        dw.FIND_APPROVED, dw.DESCRIBE_PACKAGE, dw.PREPARE_SCORE, dw.CREATE_MODEL, dw.BATCH_TRANSFORM,
        dw.RENAME_OUTPUT, dw.CATALOG_PREDICTIONS, dw.RECORD_DEPLOYMENT, dw.NOTIFY_FAILURE,
    ],
    ENDPOINT_MODE: [
        dw.FIND_APPROVED, dw.DESCRIBE_PACKAGE, dw.CREATE_MODEL, dw.CREATE_ENDPOINT_CONFIG, dw.DEPLOY_ENDPOINT,
        dw.RECORD_DEPLOYMENT, dw.NOTIFY_FAILURE,
    ],
}  # fmt: skip


@pytest.mark.parametrize("mode", LONGEST_PATHS)
def test_the_deployments_own_limit_never_cuts_a_step_short(make_config, mode: str) -> None:
    # The execution's TimeoutSeconds ends a stuck deployment; it must not end one whose every step is still
    # within its own limit, on the longest path (a failure at the last step still notifies).
    config = make_config(endpoint_or_batch_transform=mode, endpoint_wait_timeout_minutes=60)
    definition = dw.deployment_definition(config, RESOURCES)
    states = definition["States"]
    needed = sum(_step_budget(states[name]) for name in LONGEST_PATHS[mode])
    if mode == ENDPOINT_MODE:
        # A busy endpoint is waited on for the whole endpoint wait, then polled for it again.
        [busy] = [r for r in states[dw.DEPLOY_ENDPOINT]["Retry"] if r["ErrorEquals"] == ["EndpointBusy"]]
        polls = states[dw.ENDPOINT_READY]["Choices"][-1]["NumericGreaterThanEquals"] + 1
        needed += (
            busy["IntervalSeconds"] * busy["MaxAttempts"] + polls * states[dw.WAIT_FOR_ENDPOINT]["Seconds"]
        )
    assert needed < definition["TimeoutSeconds"]
