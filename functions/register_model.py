"""Register the model a run's gate let through as a version in the stack's model package group.

The package carries everything needed to deploy and to judge the model later:

- the inference image by what the workflow ran (`IMAGE_URI`: the bring-your-own image pinned by digest, or the
  built-in image's URI), the best training job's `model.tar.gz`, the content types the image answers;
- the run (`mlops:run`), tuning job, best training job, objective and every final metric the image printed, as
  `CustomerMetadataProperties`;
- the model quality report: `model-quality.json` from inside `model.tar.gz` (the bring-your-own container writes
  it), copied to the metadata store and referenced as `ModelMetrics.ModelQuality.Statistics`. A model without
  one (the built-in image writes none) is registered without ModelMetrics, and `mlops:model-quality` says why.

The status follows `APPROVAL_MODE`: `Approved` (automatic) or `PendingManualApproval` (manual).

Step Functions retries a Task whose response was lost, so registering twice must be impossible: the function
first looks for a package of the group that already carries this run's name (`mlops:run`) and returns it, and
CreateModelPackage gets the run name as its `ClientToken` as well.
"""

from __future__ import annotations

import json
import math
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.common import (
    SAGEMAKER_NAME,
    ConfigurationError,
    FunctionError,
    InvalidEvent,
    aws_errors,
    client,
    field,
    lambda_handler,
    name_field,
    prefix_env,
    required_env,
    s3_uri,
)
from functions.model_packages import APPROVAL_MODE_PROPERTY, RUN_PROPERTY

QUALITY_KEY = "mlops:model-quality"
STATUS = {"automatic": "Approved", "manual": "PendingManualApproval"}
CONTENT_TYPES = ["text/csv"]
QUALITY_FILE = "model-quality.json"
# A quality report is a few kilobytes of curves and counts; anything far larger is not one.
MAX_QUALITY_BYTES = 5 * 1024 * 1024
# CustomerMetadataProperties: at most 50 entries, values of at most 256 characters.
MAX_PROPERTIES = 50
MAX_VALUE = 256
# A retry follows a lost response within minutes, so this run's package, if any, is among the newest ones.
RECENT_PACKAGES = 100


class ModelArtifactUnreadable(FunctionError):
    """The model artifact is not a gzipped tar archive, or its quality report is not JSON."""


@dataclass(frozen=True)
class Settings:
    """Where and how packages are registered, from the environment the component sets."""

    group: str
    image_uri: str
    approval_mode: str
    metadata_bucket: str
    quality_prefix: str
    inference_mode: str
    instance_type: str

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the environment."""
        mode = required_env("APPROVAL_MODE")
        if mode not in STATUS:
            raise ConfigurationError(f"APPROVAL_MODE must be one of {sorted(STATUS)}, not {mode!r}")
        inference = required_env("INFERENCE_MODE")
        if inference not in ("batch", "endpoint"):
            raise ConfigurationError(f"INFERENCE_MODE must be batch or endpoint, not {inference!r}")
        return cls(
            group=required_env("MODEL_PACKAGE_GROUP"),
            image_uri=required_env("IMAGE_URI"),
            approval_mode=mode,
            metadata_bucket=required_env("METADATA_BUCKET"),
            quality_prefix=prefix_env("MODEL_QUALITY_PREFIX", "model-quality/"),
            inference_mode=inference,
            instance_type=required_env("INSTANCE_TYPE"),
        )


@dataclass(frozen=True)
class RunResult:
    """What the run metadata step returned for the run (`functions.run_metadata.run_summary`)."""

    run_name: str
    model_data_url: str
    best_training_job: str
    objective_name: str
    objective_value: float
    metrics: dict[str, float | None]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> RunResult:
        """Check the event: `{"RunName": str, "Run": <the run metadata step's result>}`."""
        name = name_field(
            event,
            "RunName",
            path="",
            pattern=SAGEMAKER_NAME,
            max_length=32,
            rule="letters, digits and hyphens",
        )
        run = field(event, "Run", dict, path="")
        url = field(run, "model_data_url", str, path="Run")
        if not url.startswith("s3://") or "/" not in url.removeprefix("s3://"):
            raise InvalidEvent(f"Run.model_data_url must be an s3://bucket/key URI, got {url!r}")
        objective = field(run, "objective", dict, path="Run")
        metrics = field(run, "metrics", dict, path="Run")
        return cls(
            run_name=name,
            model_data_url=url,
            best_training_job=field(run, "best_training_job", str, path="Run"),
            objective_name=field(objective, "name", str, path="Run.objective"),
            objective_value=field(objective, "value", float, path="Run.objective"),
            metrics={str(k): v if isinstance(v, (int, float)) else None for k, v in metrics.items()},
        )


# --- Pure parts --------------------------------------------------------------------------------------------------


def customer_metadata(run: RunResult, settings: Settings, quality_note: str | None) -> dict[str, str]:
    """The package's CustomerMetadataProperties: the run, the approval mode, the objective and every metric."""
    properties = {
        RUN_PROPERTY: run.run_name,
        APPROVAL_MODE_PROPERTY: settings.approval_mode,
        "mlops:tuning-job": run.run_name,
        "mlops:best-training-job": run.best_training_job,
        "mlops:objective": run.objective_name,
        "mlops:objective-value": _number(run.objective_value),
    }
    if quality_note:
        properties[QUALITY_KEY] = quality_note[:MAX_VALUE]
    for name, value in sorted(run.metrics.items()):
        if len(properties) >= MAX_PROPERTIES:
            break
        properties[f"mlops:metric:{name}"[:128]] = "null" if value is None else _number(value)
    return properties


def create_request(
    run: RunResult, settings: Settings, quality_uri: str | None, quality_note: str | None
) -> dict[str, Any]:
    """The CreateModelPackage request for the run's best model."""
    specification: dict[str, Any] = {
        "Containers": [{"Image": settings.image_uri, "ModelDataUrl": run.model_data_url}],
        "SupportedContentTypes": CONTENT_TYPES,
        "SupportedResponseMIMETypes": CONTENT_TYPES,
    }
    if settings.inference_mode == "batch":
        specification["SupportedTransformInstanceTypes"] = [settings.instance_type]
    else:
        specification["SupportedRealtimeInferenceInstanceTypes"] = [settings.instance_type]
    request: dict[str, Any] = {
        "ModelPackageGroupName": settings.group,
        "ModelPackageDescription": (
            f"Run {run.run_name}: best training job {run.best_training_job}, "
            f"{run.objective_name} = {_number(run.objective_value)}"
        ),
        "InferenceSpecification": specification,
        "ModelApprovalStatus": STATUS[settings.approval_mode],
        "CustomerMetadataProperties": customer_metadata(run, settings, quality_note),
        # Run names are unique and fit ClientToken's 36 characters of letters, digits and hyphens.
        "ClientToken": run.run_name,
    }
    if quality_uri:
        request["ModelMetrics"] = {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": quality_uri}}
        }
    return request


def quality_report(archive: Any) -> bytes | None:
    """The bytes of `model-quality.json` in a model.tar.gz stream, or None when the archive has none."""
    try:
        with tarfile.open(fileobj=archive, mode="r|gz") as tar:
            for member in tar:
                if member.isfile() and member.name.removeprefix("./") == QUALITY_FILE:
                    if member.size > MAX_QUALITY_BYTES:
                        raise ModelArtifactUnreadable(
                            f"{QUALITY_FILE} is {member.size} bytes, more than a quality report can be"
                        )
                    extracted = tar.extractfile(member)
                    return extracted.read() if extracted else None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ModelArtifactUnreadable(f"the model artifact is not a readable .tar.gz: {error}") from None
    return None


def summary(package: Mapping[str, Any], quality_uri: str | None, quality_note: str | None) -> dict[str, Any]:
    """What the function returns to the state machine."""
    status = package["ModelApprovalStatus"]
    message = f"Registered model package version {package.get('ModelPackageVersion')} as {status}" + (
        "" if status == "Approved" else "; approve it to deploy it"
    )
    return {
        "model_package_arn": package["ModelPackageArn"],
        "version": package.get("ModelPackageVersion"),
        "status": status,
        "model_quality_uri": quality_uri,
        "model_quality_note": quality_note,
        "message": message,
    }


def _number(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else "null"


# --- The work ------------------------------------------------------------------------------------------------------


def registered_package(run_name: str, group: str, *, sagemaker: Any) -> dict[str, Any] | None:
    """The package of `group` that already carries `run_name`, if a previous attempt registered one."""
    with aws_errors(f"sagemaker:ListModelPackages {group}"):
        summaries = sagemaker.list_model_packages(
            ModelPackageGroupName=group,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=RECENT_PACKAGES,
        )["ModelPackageSummaryList"]
    marker = f"Run {run_name}:"
    for item in summaries:
        if not str(item.get("ModelPackageDescription", "")).startswith(marker):
            continue
        arn = item["ModelPackageArn"]
        with aws_errors(f"sagemaker:DescribeModelPackage {arn}"):
            package: dict[str, Any] = sagemaker.describe_model_package(ModelPackageName=arn)
        if package.get("CustomerMetadataProperties", {}).get(RUN_PROPERTY) == run_name:
            return package
    return None


def copy_quality_report(run: RunResult, settings: Settings, *, s3: Any) -> tuple[str | None, str | None]:
    """Copy the archive's quality report to the metadata store: its URI, or None and why there is none."""
    bucket, _, key = run.model_data_url.removeprefix("s3://").partition("/")
    with aws_errors(f"s3:GetObject {run.model_data_url}"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        report = quality_report(body)
    finally:
        body.close()
    if report is None:
        return None, f"absent: {run.model_data_url} holds no {QUALITY_FILE}; the training image wrote none"
    try:
        json.loads(report)
    except ValueError as error:
        raise ModelArtifactUnreadable(
            f"{QUALITY_FILE} in {run.model_data_url} is not JSON: {error}"
        ) from None
    destination = f"{settings.quality_prefix}{run.run_name}/{QUALITY_FILE}"
    with aws_errors(f"s3:PutObject {s3_uri(settings.metadata_bucket, destination)}"):
        s3.put_object(
            Bucket=settings.metadata_bucket, Key=destination, Body=report, ContentType="application/json"
        )
    return s3_uri(settings.metadata_bucket, destination), None


def register(run: RunResult, settings: Settings, *, sagemaker: Any, s3: Any) -> dict[str, Any]:
    """Register the run's model once, and describe what was registered."""
    existing = registered_package(run.run_name, settings.group, sagemaker=sagemaker)
    if existing is not None:
        statistics = existing.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
        note = existing.get("CustomerMetadataProperties", {}).get(QUALITY_KEY)
        return summary(existing, statistics.get("S3Uri"), note)
    quality_uri, note = copy_quality_report(run, settings, s3=s3)
    request = create_request(run, settings, quality_uri, note)
    with aws_errors(f"sagemaker:CreateModelPackage {settings.group}"):
        arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    with aws_errors(f"sagemaker:DescribeModelPackage {arn}"):
        package = sagemaker.describe_model_package(ModelPackageName=arn)
    return summary(package, quality_uri, note)


@lambda_handler
def handler(event: dict[str, Any]) -> dict[str, Any]:
    """Lambda entry point (`functions.register_model.handler`). Input: `{"RunName": str, "Run": {...}}`."""
    run = RunResult.from_event(event)
    settings = Settings.from_env()
    return register(run, settings, sagemaker=client("sagemaker"), s3=client("s3"))
