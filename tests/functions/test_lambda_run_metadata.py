"""Run metadata: SageMaker answers through a botocore Stubber in the exact API shape (moto's
DescribeHyperParameterTuningJob returns a fixed fake BestTrainingJob that names no real training job), and the
record is written to moto S3."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from functions import run_metadata
from functions.common import AwsCallFailed, ConfigurationError, InvalidEvent, TransientAwsError
from functions.run_metadata import TuningResultIncomplete
from tests.functions.lambda_events import load_api_response, load_event

METADATA_BUCKET = "mlops-test-metadata-123456789012-us-east-1"
TUNING_JOB = "employee-attrition-3f9c2a1b0d4e"
BEST_JOB = "employee-attrition-3f9c2a1b0d4e-002-6b1d0c3e"
MODEL = f"s3://mlops-test-models-123456789012-us-east-1/tuning/{BEST_JOB}/output/model.tar.gz"
METRICS = {
    "accuracy": 0.8741496801376343,
    "roc_auc": 0.8213058710098267,
    "precision": 0.6842105388641357,
    "recall": 0.3333333432674408,
    "f1": 0.448275864124298,
    "ObjectiveMetric": 0.8741496801376343,
}
HYPERPARAMETERS = {
    "gamma": "2.718281828459045",
    "kfold_splits": "5",
    "max_delta_step": "0.4142135623730951",
    "max_depth": "6",
    "min_child_weight": "3.141592653589793",
    "scale_pos_weight": "4.47213595499958",
    "subsample": "0.35355339059327373",
}


@pytest.fixture
def tuning_job() -> dict[str, Any]:
    return load_api_response("sagemaker/describe_hyper_parameter_tuning_job.json")


@pytest.fixture
def training_job() -> dict[str, Any]:
    return load_api_response("sagemaker/describe_training_job.json")


@pytest.fixture
def metadata_store(s3: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    s3.create_bucket(Bucket=METADATA_BUCKET)
    monkeypatch.setenv("METADATA_BUCKET", METADATA_BUCKET)
    return METADATA_BUCKET


@pytest.fixture
def sagemaker(stubbed: Callable[[str], Stubber]) -> Stubber:
    return stubbed("sagemaker")


def expect_describes(stub: Stubber, tuning_job: dict[str, Any], training_job: dict[str, Any] | None) -> None:
    """Queue the two Describe calls, with the exact parameters the function must send."""
    stub.add_response(
        "describe_hyper_parameter_tuning_job", tuning_job, {"HyperParameterTuningJobName": TUNING_JOB}
    )
    if training_job is not None:
        stub.add_response("describe_training_job", training_job, {"TrainingJobName": BEST_JOB})


def stored_records(s3: Any) -> dict[str, Any]:
    listed = s3.list_objects_v2(Bucket=METADATA_BUCKET).get("Contents", [])
    return {
        item["Key"]: json.loads(s3.get_object(Bucket=METADATA_BUCKET, Key=item["Key"])["Body"].read())
        for item in listed
    }


def test_writes_the_run_record_and_returns_the_summary(
    metadata_store: str,
    sagemaker: Stubber,
    s3: Any,
    context: Any,
    tuning_job: dict[str, Any],
    training_job: dict[str, Any],
) -> None:
    expect_describes(sagemaker, tuning_job, training_job)

    result = run_metadata.handler(load_event("sfn_run_metadata.json"), context)

    sagemaker.assert_no_pending_responses()
    uri = f"s3://{METADATA_BUCKET}/runs/{TUNING_JOB}.json"
    assert result == {
        "model_data_url": MODEL,
        "best_training_job": BEST_JOB,
        "objective": {"name": "accuracy", "value": 0.8741496801376343},
        "metrics": METRICS,
        "hyperparameters": HYPERPARAMETERS,
        "metadata_uri": uri,
    }
    record = stored_records(s3)[f"runs/{TUNING_JOB}.json"]
    recorded_at = datetime.fromisoformat(record.pop("recorded_at"))
    assert abs((datetime.now(UTC) - recorded_at).total_seconds()) < 60
    assert record == {
        "schema_version": 1,
        "tuning_job": {
            "name": TUNING_JOB,
            "arn": f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{TUNING_JOB}",
            "status": "Completed",
            "created_at": "2024-05-02T10:20:11.402000+00:00",
            "ended_at": "2024-05-02T10:58:47.115000+00:00",
            "training_jobs": {"Completed": 3, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0},
        },
        "best_training_job": {
            "name": BEST_JOB,
            "arn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{BEST_JOB}",
            "started_at": "2024-05-02T10:35:02+00:00",
            "ended_at": "2024-05-02T10:41:19+00:00",
            "training_image": training_job["AlgorithmSpecification"]["TrainingImage"],
        },
        "objective": {"name": "accuracy", "value": 0.8741496801376343, "type": "Maximize"},
        "tuned_hyperparameters": {k: v for k, v in HYPERPARAMETERS.items() if k != "kfold_splits"},
        "hyperparameters": HYPERPARAMETERS,
        "metrics": METRICS,
        "model_data_url": MODEL,
        "metadata_uri": uri,
    }  # fmt: skip
    head = s3.head_object(Bucket=METADATA_BUCKET, Key=f"runs/{TUNING_JOB}.json")
    assert head["ContentType"] == "application/json"


def test_metadata_prefix_from_the_environment(
    metadata_store: str,
    sagemaker: Stubber,
    s3: Any,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    tuning_job: dict[str, Any],
    training_job: dict[str, Any],
) -> None:
    monkeypatch.setenv("METADATA_PREFIX", "team-a/runs")
    expect_describes(sagemaker, tuning_job, training_job)

    result = run_metadata.handler({"TuningJobName": TUNING_JOB}, context)

    assert result["metadata_uri"] == f"s3://{METADATA_BUCKET}/team-a/runs/{TUNING_JOB}.json"
    assert list(stored_records(s3)) == [f"team-a/runs/{TUNING_JOB}.json"]


def test_tuning_job_without_a_best_training_job_writes_nothing(
    metadata_store: str, sagemaker: Stubber, s3: Any, context: Any, tuning_job: dict[str, Any]
) -> None:
    del tuning_job["BestTrainingJob"]
    tuning_job["TrainingJobStatusCounters"] = {"Completed": 0, "NonRetryableError": 3}
    expect_describes(sagemaker, tuning_job, None)

    with pytest.raises(TuningResultIncomplete, match=f"tuning job {TUNING_JOB} has no best training job"):
        run_metadata.handler({"TuningJobName": TUNING_JOB}, context)
    assert stored_records(s3) == {}


def test_missing_tuning_job_is_a_clear_aws_error(
    metadata_store: str, sagemaker: Stubber, s3: Any, context: Any
) -> None:
    sagemaker.add_client_error(
        "describe_hyper_parameter_tuning_job",
        service_error_code="ResourceNotFound",
        service_message=f"Amazon SageMaker can't find a tuning job with name {TUNING_JOB}",
        http_status_code=400,
        expected_params={"HyperParameterTuningJobName": TUNING_JOB},
    )
    with pytest.raises(AwsCallFailed) as raised:
        run_metadata.handler({"TuningJobName": TUNING_JOB}, context)

    assert str(raised.value) == (
        f"sagemaker:DescribeHyperParameterTuningJob {TUNING_JOB} failed: ResourceNotFound: "
        f"Amazon SageMaker can't find a tuning job with name {TUNING_JOB}"
    )
    assert stored_records(s3) == {}


def test_throttling_is_retryable(metadata_store: str, sagemaker: Stubber, context: Any) -> None:
    sagemaker.add_client_error(
        "describe_hyper_parameter_tuning_job", service_error_code="ThrottlingException", http_status_code=400
    )
    with pytest.raises(TransientAwsError):
        run_metadata.handler({"TuningJobName": TUNING_JOB}, context)


def test_failed_write_is_reported(
    sagemaker: Stubber,
    s3: Any,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    tuning_job: dict[str, Any],
    training_job: dict[str, Any],
) -> None:
    monkeypatch.setenv("METADATA_BUCKET", "bucket-that-was-deleted")
    expect_describes(sagemaker, tuning_job, training_job)

    with pytest.raises(AwsCallFailed, match=r"s3:PutObject s3://bucket-that-was-deleted/runs/.*NoSuchBucket"):
        run_metadata.handler({"TuningJobName": TUNING_JOB}, context)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "TuningJobName is missing"),
        ({"TuningJobName": 17}, "TuningJobName must be a string, got an integer (17)"),
        ({"TuningJobName": "a" * 33}, "is not a valid name: letters, digits and single hyphens, at most 32 characters"),
        ({"TuningJobName": "bad_name"}, "'bad_name' is not a valid name"),
        ({"HyperParameterTuningJobName": TUNING_JOB}, "TuningJobName is missing"),
    ],
)  # fmt: skip
def test_malformed_input_fails_before_any_call(
    metadata_store: str, sagemaker: Stubber, s3: Any, context: Any, event: dict[str, Any], message: str
) -> None:
    # No response is queued: any SageMaker call would fail the test with a Stubber error instead.
    with pytest.raises(InvalidEvent, match=re.escape(message)):
        run_metadata.handler(event, context)
    assert stored_records(s3) == {}


def test_missing_bucket_setting_is_a_configuration_error(aws: None, context: Any) -> None:
    with pytest.raises(ConfigurationError, match="METADATA_BUCKET is not set"):
        run_metadata.handler({"TuningJobName": TUNING_JOB}, context)


# --- The pure parts, as `mlops local-run` uses them -----------------------------------------------------------------


def test_best_model_path(training_job: dict[str, Any]) -> None:
    assert run_metadata.best_model_path(training_job) == MODEL
    with pytest.raises(TuningResultIncomplete, match="has no model artifact in S3"):
        run_metadata.best_model_path(
            {"TrainingJobName": BEST_JOB, "ModelArtifacts": {"S3ModelArtifacts": ""}}
        )


def test_the_objective_comes_from_the_best_job_not_the_first_metric(
    tuning_job: dict[str, Any], training_job: dict[str, Any]
) -> None:
    # The old module read the first metric of a list; here the first metric is deliberately not the objective.
    tuning_job = copy.deepcopy(tuning_job)
    tuning_job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"] = {
        "Type": "Maximize",
        "MetricName": "roc_auc",
        "Value": 0.8213058710098267,
    }
    record = run_metadata.build_run_metadata(
        tuning_job, training_job, metadata_uri="s3://b/k", recorded_at=datetime(2024, 5, 2, tzinfo=UTC)
    )
    assert record["objective"] == {"name": "roc_auc", "value": 0.8213058710098267, "type": "Maximize"}
    assert run_metadata.run_summary(record)["objective"] == {"name": "roc_auc", "value": 0.8213058710098267}


def test_missing_objective_metric_is_reported(tuning_job: dict[str, Any]) -> None:
    del tuning_job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
    with pytest.raises(TuningResultIncomplete, match="reported no final objective metric"):
        run_metadata.best_training_job(tuning_job)


def test_non_finite_metrics_become_null_so_the_record_stays_json(training_job: dict[str, Any]) -> None:
    training_job["FinalMetricDataList"].append({"MetricName": "logloss", "Value": float("nan")})
    assert run_metadata.final_metrics(training_job)["logloss"] is None


def test_sagemaker_bookkeeping_hyperparameters_are_left_out() -> None:
    job = {
        "HyperParameters": {
            "_tuning_objective_metric": "accuracy",
            "sagemaker_region": '"us-east-1"',
            "eta": "0.2",
        }
    }
    assert run_metadata.model_hyperparameters(job) == {"eta": "0.2"}
