"""The processing pipeline's definition: built, parsed by a real ASL parser, and its paths executed on moto's
interpreter with mocked Processing responses (tests/workflows/processing_mock_config.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_component.builders.state_machines import processing_pipeline as wf
from mlops_component.builders.state_machines.states import (
    CLASSIFY_FAILURE,
    NOTIFY_FAILURE,
    RUN_FAILED,
    Timings,
)
from mlops_component.config import PROCESSING_MAX_RUNTIME_SECONDS
from tests.workflows.asl import Outcome, execute, graph_problems

MOCK_CONFIG = Path(__file__).with_name("processing_mock_config.json")
FAST = Timings(retry_interval_seconds=1, poll_interval_seconds=1)
FEATURES = "mlops-test-features-123456789012-us-east-1"
SOURCE = "mlops-test-source-123456789012-us-east-1"
EXTRACTS = "mlops-test-extracts-123456789012-us-east-1"
MODELS = "mlops-test-models-123456789012-us-east-1"
OUTPUT = "mlops-test-output-123456789012-us-east-1"
RESOURCES = wf.ProcessingResources(
    feature_bucket=FEATURES,
    source_bucket=SOURCE,
    extracts_bucket=EXTRACTS,
    models_bucket=MODELS,
    output_bucket=OUTPUT,
    framework_image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    inference_image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-test/byo-xgboost@sha256:"
    + "a" * 64,
    role_arn="arn:aws:iam::123456789012:role/mlops-test-processing",
    topic_arn="arn:aws:sns:us-east-1:123456789012:mlops-test-failures",
)
RUN_NAME = re.compile(r"employee-attrition-[0-9a-f]{12}")


@pytest.fixture
def config(make_config):
    return make_config(enable_processing_pipeline=True)


@pytest.fixture
def definition(config) -> dict[str, Any]:
    return wf.processing_definition(config, RESOURCES, FAST)


def run(definition: dict[str, Any], execution_input: Any, case: str = "AllJobsComplete") -> Outcome:
    return execute(
        definition, execution_input, state_machine="processing", test_case=case, mock_config=MOCK_CONFIG
    )


# --- builder -----------------------------------------------------------------------------------------------


def test_every_target_exists_and_every_state_is_reachable(definition) -> None:
    assert graph_problems(definition) == []


def test_three_sync_processing_jobs_in_order(definition) -> None:
    tasks = {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}
    jobs = [name for name, s in tasks.items() if s["Resource"].endswith("createProcessingJob.sync")]
    assert jobs == ["PreProcessing", "Inference", "PostProcessing"]
    assert [tasks[name]["Next"] for name in jobs] == ["Inference", "PostProcessing", wf.SUMMARIZE]


def test_every_job_retries_catches_and_times_out_from_its_runtime(definition) -> None:
    for job in wf.JOBS:
        state = definition["States"][job.state]
        assert "TimeoutSeconds" not in state
        assert state["TimeoutSecondsPath"] == f"$.timeouts.{job.key}"
        # An optimized integration: the AWS SDK for Java v1 exception name.
        assert state["Retry"][0]["ErrorEquals"] == ["SageMaker.AmazonSageMakerException"]
        assert state["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": CLASSIFY_FAILURE}
        ]
    timeouts = definition["States"][wf.SET_TIMEOUTS]["Parameters"]
    assert timeouts["Inference.$"] == "States.MathAdd($.jobs.Inference.MaxRuntimeInSeconds, 900)"
    assert definition["States"][RUN_FAILED] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    assert definition["TimeoutSeconds"] > 3 * PROCESSING_MAX_RUNTIME_SECONDS


def test_jobs_run_from_the_processing_folders_without_network(definition) -> None:
    pre = definition["States"]["PreProcessing"]["Parameters"]
    assert pre["AppSpecification"] == {
        "ImageUri.$": "$.jobs.PreProcessing.ImageUri",
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/preprocess.py"],
    }
    assert [(i["InputName"], i["S3Input"]["LocalPath"]) for i in pre["ProcessingInputs"]] == [
        ("data", "/opt/ml/processing/input"),
        ("code", "/opt/ml/processing/code"),
    ]
    inference = definition["States"]["Inference"]["Parameters"]
    assert inference["AppSpecification"]["ContainerEntrypoint"] == ["/opt/program/batch-predict"]
    assert [(i["InputName"], i["S3Input"]["LocalPath"]) for i in inference["ProcessingInputs"]] == [
        ("data", "/opt/ml/processing/input"),
        ("model", "/opt/ml/processing/model"),
    ]
    post = definition["States"]["PostProcessing"]["Parameters"]
    assert post["AppSpecification"]["ContainerArguments"] == ["--threshold", "0.5"]
    for job in wf.JOBS:
        params = definition["States"][job.state]["Parameters"]
        assert params["NetworkConfig"] == {"EnableNetworkIsolation": True}
        assert params["RoleArn"] == RESOURCES.role_arn  # never read from the input
        assert (
            params["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"]
            == "/opt/ml/processing/output"
        )
        assert {"Key": "mlops:created-by", "Value": "processing-pipeline"} in params["Tags"]
        assert "KmsKeyId" not in params["ProcessingOutputConfig"]


def test_kms_key_encrypts_outputs_and_volumes(make_config) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    definition = wf.processing_definition(make_config(kms_key_arn=key), RESOURCES)
    for job in wf.JOBS:
        params = definition["States"][job.state]["Parameters"]
        assert params["ProcessingOutputConfig"]["KmsKeyId"] == key
        assert params["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key


def test_failure_messages_need_no_escaping(definition) -> None:
    """States.Format reserves quotes, braces and backslashes; a message holding one would break the run."""
    for name, state in definition["States"].items():
        cause = state.get("Parameters", {}).get("Cause.$", "")
        if cause.startswith("States.Format('"):
            text = cause[len("States.Format('") : cause.index("',")]
            assert not re.search(r"['\\]", text) and text.count("{}") == text.count("{"), name


def test_definition_parses_with_a_real_asl_parser(definition) -> None:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="processing", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/w"
        )["stateMachineArn"]
        assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == definition


def test_example_input_is_the_seed_shape_with_this_stacks_values(config) -> None:
    example = wf.example_execution_input(config, RESOURCES)
    assert list(example) == ["PreProcessing", "Inference", "PostProcessing"]
    assert example["PreProcessing"] == {
        "InputUri": {"S3Uri": f"s3://{FEATURES}/legacycode/input/"},
        "CodeUri": {"S3Uri": f"s3://{SOURCE}/legacycode/scripts/"},
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 20,
        "MaxRuntimeInSeconds": 3600,
        "ImageUri": RESOURCES.framework_image_uri,
        "RoleArn": RESOURCES.role_arn,
    }
    assert example["Inference"]["ModelUri"] == {"S3Uri": f"s3://{MODELS}/legacycode/model/"}
    assert example["Inference"]["ImageUri"] == RESOURCES.inference_image_uri
    assert "CodeUri" in example["PostProcessing"] and "InputUri" not in example["PostProcessing"]
    # Per-run values are generated, so the example can be started again and again.
    assert not any("ProcessingJobName" in job or "OutputUri" in job for job in example.values())


# --- executed paths ----------------------------------------------------------------------------------------


def test_an_empty_input_runs_every_job_on_the_stacks_defaults(definition, config) -> None:
    outcome = run(definition, {})
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.entered[-6:] == [
        wf.SET_TIMEOUTS,
        "PreProcessing",
        "Inference",
        "PostProcessing",
        wf.SUMMARIZE,
        "Run Succeeded",
    ]
    run_name = outcome.output["run"]
    assert RUN_NAME.fullmatch(run_name)
    pre, inference, post = (outcome.task_inputs[job.state][0] for job in wf.JOBS)
    assert pre == {
        "ProcessingJobName": f"{run_name}-preprocessing",
        "RoleArn": RESOURCES.role_arn,
        "AppSpecification": {
            "ImageUri": RESOURCES.framework_image_uri,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/preprocess.py"],
        },
        "ProcessingInputs": [
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"s3://{FEATURES}/legacycode/input/",
                    "LocalPath": "/opt/ml/processing/input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            },
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{SOURCE}/legacycode/scripts/",
                    "LocalPath": "/opt/ml/processing/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "output",
                    "S3Output": {
                        "S3Uri": f"s3://{EXTRACTS}/legacycode/preprocessed/{run_name}/",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "NetworkConfig": {"EnableNetworkIsolation": True},
        "Tags": wf.processing_tags(config),
    }
    # Each job reads what the one before it wrote.
    assert inference["ProcessingJobName"] == f"{run_name}-inference"
    assert inference["AppSpecification"]["ImageUri"] == RESOURCES.inference_image_uri
    assert [i["S3Input"]["S3Uri"] for i in inference["ProcessingInputs"]] == [
        f"s3://{EXTRACTS}/legacycode/preprocessed/{run_name}/",
        f"s3://{MODELS}/legacycode/model/",
    ]
    predictions = f"s3://{OUTPUT}/legacycode/predictions/{run_name}/"
    assert inference["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == predictions
    assert post["ProcessingInputs"][0]["S3Input"]["S3Uri"] == predictions
    report = f"s3://{OUTPUT}/legacycode/reports/{run_name}/"
    assert post["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == report
    assert outcome.output["report"] == report and outcome.output["predictions"] == predictions
    assert outcome.output["jobs"]["Inference"]["ProcessingJobStatus"] == "Completed"


def test_the_seeds_full_request_overrides_every_default(definition) -> None:
    given = {
        "PreProcessing": {
            "ProcessingJobName": "employee-attrition-0211-1156",
            "InputUri": {"S3Uri": f"s3://{FEATURES}/legacycode/input/2025-01/"},
            "OutputUri": {"S3Uri": f"s3://{EXTRACTS}/legacycode/preprocessed/2025-01/"},
            "CodeUri": {"S3Uri": f"s3://{SOURCE}/legacycode/scripts/"},
            "InstanceType": "ml.c5.2xlarge",
            "VolumeSizeInGB": 50,
            "MaxRuntimeInSeconds": 7200,
            "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "RoleArn": RESOURCES.role_arn,
        },
        "Inference": {
            "ProcessingJobName": "employee-attrition-0211-1157",
            "InputUri": {"S3Uri": f"s3://{EXTRACTS}/legacycode/preprocessed/2025-01/"},
            "OutputUri": {"S3Uri": f"s3://{OUTPUT}/legacycode/predictions/2025-01/"},
            "ModelUri": {
                "S3Uri": f"s3://{MODELS}/tuning/employee-attrition-0a1b2c3d4e5f-002-5c9a1f3e/output/model.tar.gz"
            },
            "InstanceType": "ml.m5.2xlarge",
            "VolumeSizeInGB": 30,
            "MaxRuntimeInSeconds": 1800,
            "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/legacycode:1.0",
            "RoleArn": RESOURCES.role_arn,
        },
        "PostProcessing": {
            "ProcessingJobName": "employee-attrition-0211-1158",
            "InputUri": {"S3Uri": f"s3://{OUTPUT}/legacycode/predictions/2025-01/"},
            "OutputUri": {"S3Uri": f"s3://{OUTPUT}/legacycode/reports/2025-01/"},
            "CodeUri": {"S3Uri": f"s3://{SOURCE}/legacycode/scripts/"},
            "InstanceType": "ml.t3.medium",
            "VolumeSizeInGB": 5,
            "MaxRuntimeInSeconds": 600,
            "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "RoleArn": RESOURCES.role_arn,
        },
    }
    outcome = run(definition, given)
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    for job in wf.JOBS:
        sent = outcome.task_inputs[job.state][0]
        wanted = given[job.key]
        assert sent["ProcessingJobName"] == wanted["ProcessingJobName"]
        assert sent["AppSpecification"]["ImageUri"] == wanted["ImageUri"]
        assert sent["ProcessingInputs"][0]["S3Input"]["S3Uri"] == wanted["InputUri"]["S3Uri"]
        assert sent["ProcessingInputs"][1]["S3Input"]["S3Uri"] == wanted[job.extra_input]["S3Uri"]
        assert (
            sent["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == wanted["OutputUri"]["S3Uri"]
        )
        assert sent["ProcessingResources"]["ClusterConfig"] == {
            "InstanceCount": 1,
            "InstanceType": wanted["InstanceType"],
            "VolumeSizeInGB": wanted["VolumeSizeInGB"],
        }
        assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": wanted["MaxRuntimeInSeconds"]}
    # The wait follows each job's own runtime.
    assert outcome.output["jobs"]["PostProcessing"]["ProcessingJobStatus"] == "Completed"


def test_a_partial_input_keeps_the_other_defaults_and_the_chain(definition) -> None:
    mine = f"s3://{EXTRACTS}/legacycode/preprocessed/mine/"
    outcome = run(
        definition,
        {
            "PreProcessing": {"OutputUri": {"S3Uri": mine}, "InstanceType": "ml.c5.xlarge"},
            "Inference": {"VolumeSizeInGB": 64},
        },
    )
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    pre, inference, post = (outcome.task_inputs[job.state][0] for job in wf.JOBS)
    assert pre["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.c5.xlarge"
    assert pre["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] == 20
    assert pre["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == mine
    # Inference reads where PreProcessing was told to write, not the default folder.
    assert inference["ProcessingInputs"][0]["S3Input"]["S3Uri"] == mine
    assert inference["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 64,
    }
    assert post["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] == 20
    assert RUN_NAME.fullmatch(post["ProcessingJobName"].removesuffix("-postprocessing"))


def test_two_runs_get_different_job_names_and_folders(definition) -> None:
    first = run(definition, {})
    second = run(definition, {})
    assert first.output["run"] != second.output["run"]
    assert first.output["report"] != second.output["report"]


def test_transient_sagemaker_errors_are_retried(definition) -> None:
    outcome = run(definition, {}, "InferenceThrottled")
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert len(outcome.task_inputs["Inference"]) == 2
    assert NOTIFY_FAILURE not in outcome.entered


def test_a_failing_job_notifies_then_fails(definition) -> None:
    outcome = run(definition, {}, "InferenceFails")
    assert outcome.status == "FAILED"
    assert outcome.error == "StepFailed"
    assert outcome.cause.startswith(
        "States.TaskFailed: Processing job employee-attrition-0a1b2c3d4e5f-inference failed"
    )
    assert len(outcome.task_inputs["Inference"]) == 1  # a failed job is not retried
    assert "PostProcessing" not in outcome.entered
    assert outcome.entered[-5:] == [
        "Inference",
        CLASSIFY_FAILURE,
        "Name Step Failure",
        NOTIFY_FAILURE,
        RUN_FAILED,
    ]
    notification = outcome.task_inputs[NOTIFY_FAILURE][0]
    assert notification["TopicArn"] == RESOURCES.topic_arn
    assert notification["Subject"] == "mlops-test processing pipeline run failed"
    assert "Cause: States.TaskFailed: Processing job" in notification["Message"]


def test_a_failed_notification_still_fails_the_run_with_the_original_error(definition) -> None:
    # A topic policy or key that denies Publish must not hide why the run failed.
    outcome = run(definition, {}, "InferenceAndNotificationFail")
    assert outcome.status == "FAILED"
    assert outcome.entered[-2:] == [NOTIFY_FAILURE, RUN_FAILED]
    assert outcome.error == "StepFailed"
    assert outcome.cause.startswith(
        "States.TaskFailed: Processing job employee-attrition-0a1b2c3d4e5f-inference failed"
    )


@pytest.mark.parametrize(
    ("execution_input", "state", "cause"),
    [
        ([{"PreProcessing": {}}], wf.INVALID_INPUT, "The execution input must be a JSON object"),
        (
            {"Inference": "ml.m5.xlarge"},
            "Invalid Inference",
            'Inference must be a JSON object of the settings to change (got "ml.m5.xlarge")',
        ),
        ({"PreProcessing": []}, "Invalid PreProcessing", "PreProcessing must be a JSON object"),
        (
            {"Inference": {"VolumeSizeInGB": "50"}},
            "Invalid Inference VolumeSizeInGB",
            'Inference.VolumeSizeInGB must be a whole number of GB from 1 to 16384 (got "50")',
        ),
        (
            {"Inference": {"VolumeSizeInGB": 20.5}},
            "Invalid Inference VolumeSizeInGB",
            "Inference.VolumeSizeInGB must be a whole number of GB from 1 to 16384 (got 20.5)",
        ),
        (
            {"PreProcessing": {"MaxRuntimeInSeconds": 600.4}},
            "Invalid PreProcessing MaxRuntimeInSeconds",
            "must be a whole number of seconds from 1 to 777600 (got 600.4)",
        ),
        (
            {"PostProcessing": {"MaxRuntimeInSeconds": 0.5}},
            "Invalid PostProcessing MaxRuntimeInSeconds",
            "(got 0.5)",
        ),
        (
            {"PostProcessing": {"MaxRuntimeInSeconds": 900000}},
            "Invalid PostProcessing MaxRuntimeInSeconds",
            "from 1 to 777600 (got 900000)",
        ),
        (
            {"PreProcessing": {"InstanceType": "m5.xlarge"}},
            "Invalid PreProcessing InstanceType",
            "must be a SageMaker instance type",
        ),
        (
            {"PreProcessing": {"ProcessingJobName": "sm-inf-job-0211-1156"}},
            "Invalid PreProcessing ProcessingJobName",
            "must be a name starting with employee-attrition-",
        ),
        (
            {"PreProcessing": {"InputUri": "s3://bucket/legacycode/input/"}},
            "Invalid PreProcessing InputUri",
            "must be an object whose S3Uri is under",
        ),
        ({"PreProcessing": {"InputUri": {}}}, "Invalid PreProcessing InputUri", "(got {})"),
        (
            {"Inference": {"OutputUri": {"S3Uri": f"s3://{FEATURES}/legacycode/input/"}}},
            "Invalid Inference OutputUri",
            "where the processing role may write",
        ),
        (
            {"Inference": {"ModelUri": {"S3Uri": f"s3://{MODELS}/other/model.tar.gz"}}},
            "Invalid Inference ModelUri",
            f"under s3://{MODELS}/legacycode/model/ or s3://{MODELS}/tuning/",
        ),
        (
            {"PostProcessing": {"CodeUri": {"S3Uri": f"s3://{SOURCE}/etl/"}}},
            "Invalid PostProcessing CodeUri",
            f"under s3://{SOURCE}/legacycode/scripts/",
        ),
        (
            {"PostProcessing": {"ImageUri": ""}},
            "Invalid PostProcessing ImageUri",
            "must be a container image URI",
        ),
        (
            {
                "Inference": {
                    "RoleArn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
                }
            },
            "Invalid Inference RoleArn",
            f"must be {RESOURCES.role_arn}",
        ),
    ],
)
def test_bad_input_fails_before_any_job_naming_the_field(
    definition, execution_input, state: str, cause: str
) -> None:
    outcome = run(definition, execution_input)
    assert outcome.status == "FAILED"
    assert outcome.error == "InvalidInput"
    assert cause in outcome.cause
    assert outcome.entered[-3:] == [state, NOTIFY_FAILURE, RUN_FAILED]
    assert not any(job.state in outcome.entered for job in wf.JOBS)
    assert cause in outcome.task_inputs[NOTIFY_FAILURE][0]["Message"]
