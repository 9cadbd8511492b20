"""Register model: the package is created in moto's SageMaker model registry from a real model.tar.gz in moto
S3, with the quality report copied to the metadata store; retries register nothing twice."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import pytest

from functions import common, register_model
from functions.common import ConfigurationError, InvalidEvent
from functions.register_model import ModelArtifactUnreadable

GROUP = "mlops-test-models"
MODELS = "mlops-test-models-123456789012-us-east-1"
METADATA = "mlops-test-metadata-123456789012-us-east-1"
RUN = "employee-attrition-3f9c2a1b0d4e"
BEST = f"{RUN}-002-6b1d0c3e"
MODEL_KEY = f"tuning/{RUN}/{BEST}/output/model.tar.gz"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byo-xgboost@sha256:" + "a" * 64
QUALITY = {
    "version": 0.0,
    "dataset": {"item_count": 294, "evaluation_time": "2026-12-01T03:00:00Z"},
    "binary_classification_metrics": {"accuracy": {"value": 0.87, "standard_deviation": 0.01}},
    "mlops": {"evaluated_on": "validation", "rows": 294, "threshold": 0.5},
}
ENVIRONMENT = {
    "MODEL_PACKAGE_GROUP": GROUP,
    "IMAGE_URI": IMAGE,
    "APPROVAL_MODE": "automatic",
    "METADATA_BUCKET": METADATA,
    "MODEL_QUALITY_PREFIX": "model-quality/",
    "INFERENCE_MODE": "batch",
    "INSTANCE_TYPE": "ml.m5.large",
}


def event(**run: Any) -> dict[str, Any]:
    return {
        "RunName": RUN,
        "Run": {
            "model_data_url": f"s3://{MODELS}/{MODEL_KEY}",
            "best_training_job": BEST,
            "objective": {"name": "accuracy", "value": 0.87},
            "metrics": {"accuracy": 0.87, "roc_auc": 0.91, "f1": None},
            "hyperparameters": {"max_depth": "6"},
            "metadata_uri": f"s3://{METADATA}/runs/{RUN}.json",
            **run,
        },
    }


def archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


@pytest.fixture
def registry(s3, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Moto's stores and model package group, the function's environment, and its SageMaker client."""
    for bucket in (MODELS, METADATA):
        s3.create_bucket(Bucket=bucket)
    sagemaker = common.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return sagemaker


def land_model(s3: Any, files: dict[str, bytes]) -> None:
    s3.put_object(Bucket=MODELS, Key=MODEL_KEY, Body=archive(files))


def test_registers_the_best_model_with_its_quality_report_and_every_metric(registry, s3, context) -> None:
    report = json.dumps(QUALITY).encode()
    land_model(s3, {"xgboost-model.json": b"{}", "./model-quality.json": report})
    result = register_model.handler(event(), context)

    package = registry.describe_model_package(ModelPackageName=result["model_package_arn"])
    assert (
        (result["status"], result["version"])
        == ("Approved", 1)
        == (
            package["ModelApprovalStatus"],
            package["ModelPackageVersion"],
        )
    )
    assert package["ModelPackageGroupName"] == GROUP
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container == {"Image": IMAGE, "ModelDataUrl": f"s3://{MODELS}/{MODEL_KEY}"} | {
        k: v for k, v in container.items() if k not in ("Image", "ModelDataUrl")
    }
    assert package["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
    assert package["InferenceSpecification"]["SupportedTransformInstanceTypes"] == ["ml.m5.large"]
    properties = package["CustomerMetadataProperties"]
    assert properties["mlops:run"] == RUN and properties["mlops:approval-mode"] == "automatic"
    assert properties["mlops:best-training-job"] == BEST and properties["mlops:tuning-job"] == RUN
    assert (properties["mlops:objective"], properties["mlops:objective-value"]) == ("accuracy", "0.87")
    assert {k: v for k, v in properties.items() if k.startswith("mlops:metric:")} == {
        "mlops:metric:accuracy": "0.87",
        "mlops:metric:f1": "null",
        "mlops:metric:roc_auc": "0.91",
    }
    copied = f"s3://{METADATA}/model-quality/{RUN}/model-quality.json"
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": copied,
    }
    assert result["model_quality_uri"] == copied and result["model_quality_note"] is None
    body = s3.get_object(Bucket=METADATA, Key=f"model-quality/{RUN}/model-quality.json")["Body"].read()
    assert body == report


def test_manual_mode_registers_pending_approval(registry, s3, context, monkeypatch) -> None:
    monkeypatch.setenv("APPROVAL_MODE", "manual")
    land_model(s3, {"model-quality.json": json.dumps(QUALITY).encode()})
    result = register_model.handler(event(), context)
    assert result["status"] == "PendingManualApproval"
    assert "approve it to deploy it" in result["message"]
    package = registry.describe_model_package(ModelPackageName=result["model_package_arn"])
    assert package["CustomerMetadataProperties"]["mlops:approval-mode"] == "manual"


def test_a_model_without_a_quality_report_is_registered_without_model_metrics(registry, s3, context) -> None:
    land_model(s3, {"xgboost-model": b"built-in image model"})
    result = register_model.handler(event(), context)
    package = registry.describe_model_package(ModelPackageName=result["model_package_arn"])
    assert "ModelMetrics" not in package or not package["ModelMetrics"]
    note = package["CustomerMetadataProperties"]["mlops:model-quality"]
    assert note.startswith("absent:") and "model-quality.json" in note
    assert result["model_quality_uri"] is None and result["model_quality_note"] == note
    assert s3.list_objects_v2(Bucket=METADATA).get("KeyCount", 0) == 0


def test_a_retry_returns_the_package_already_registered(registry, s3, context) -> None:
    land_model(s3, {"model-quality.json": json.dumps(QUALITY).encode()})
    first = register_model.handler(event(), context)
    # Another run registers in between: the retry must still find its own package, not the newest one.
    other = register_model.handler({**event(), "RunName": "employee-attrition-aaaaaaaaaaaa"}, context)
    again = register_model.handler(event(), context)
    assert again == first and other["model_package_arn"] != first["model_package_arn"]
    summaries = registry.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    assert len(summaries) == 2


def test_an_artifact_that_is_not_a_tar_gz_fails_clearly(registry, s3, context) -> None:
    s3.put_object(Bucket=MODELS, Key=MODEL_KEY, Body=b"not an archive")
    with pytest.raises(ModelArtifactUnreadable, match=r"not a readable \.tar\.gz"):
        register_model.handler(event(), context)
    assert registry.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] == []


def test_a_quality_report_that_is_not_json_registers_nothing(registry, s3, context) -> None:
    land_model(s3, {"model-quality.json": b"{not json"})
    with pytest.raises(ModelArtifactUnreadable, match="is not JSON"):
        register_model.handler(event(), context)
    assert registry.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"RunName": "bad name!"}, "RunName 'bad name!' is not a valid name"),
        ({"Run": None}, "Run must be a JSON object"),
        (
            {"Run": {**event()["Run"], "model_data_url": "/tmp/model.tar.gz"}},
            "must be an s3://bucket/key URI",
        ),
        ({"Run": {**event()["Run"], "objective": {"name": "accuracy"}}}, "Run.objective.value is missing"),
    ],
)
def test_bad_events_fail_with_one_clear_line(registry, context, bad, message) -> None:
    with pytest.raises(InvalidEvent, match=message):
        register_model.handler({**event(), **bad}, context)


def test_a_bad_approval_mode_is_a_configuration_error(registry, context, monkeypatch) -> None:
    monkeypatch.setenv("APPROVAL_MODE", "sometimes")
    with pytest.raises(ConfigurationError, match="APPROVAL_MODE must be one of"):
        register_model.handler(event(), context)


def test_endpoint_mode_lists_the_realtime_instance_type() -> None:
    settings = register_model.Settings(
        GROUP, IMAGE, "automatic", METADATA, "model-quality/", "endpoint", "ml.c5.large"
    )
    run = register_model.RunResult.from_event(event())
    request = register_model.create_request(run, settings, None, "absent: none")
    assert request["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == ["ml.c5.large"]
    assert "SupportedTransformInstanceTypes" not in request["InferenceSpecification"]
    assert request["ClientToken"] == RUN and "ModelMetrics" not in request
