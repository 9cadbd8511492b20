"""Run metadata: after tuning, find the best model and write what the run produced to the metadata store.

DescribeHyperParameterTuningJob gives the best training job and its final objective metric;
DescribeTrainingJob gives the model artifact (the best model path), every final metric and the hyperparameters
it ran with. One PutObject writes `runs/<tuning job>.json`, so the record appears whole or not at all.

The pure parts (`best_training_job`, `best_model_path`, `build_run_metadata`, `run_summary`) take API responses
as plain dicts, so `mlops local-run` builds the same record from its own tuner's results.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.common import (
    SAGEMAKER_NAME,
    FunctionError,
    aws_errors,
    client,
    lambda_handler,
    name_field,
    prefix_env,
    required_env,
    s3_uri,
)

SCHEMA_VERSION = 1
# SageMaker adds its own bookkeeping hyperparameters to tuned training jobs (`_tuning_objective_metric`), and
# the SageMaker Python SDK adds `sagemaker_*` ones. Neither is a model setting, so the record leaves them out.
_INTERNAL_HYPERPARAMETER_PREFIXES = ("_", "sagemaker_")


class TuningResultIncomplete(FunctionError):
    """The tuning job has no usable best training job (none completed, or it reported no objective or model)."""


@dataclass(frozen=True)
class Settings:
    """Where run records go: `METADATA_BUCKET` and `METADATA_PREFIX` (default `runs/`)."""

    bucket: str
    prefix: str = "runs/"

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the environment."""
        return cls(bucket=required_env("METADATA_BUCKET"), prefix=prefix_env("METADATA_PREFIX", cls.prefix))

    def key(self, tuning_job_name: str) -> str:
        """The record's key for a tuning job."""
        return f"{self.prefix}{tuning_job_name}.json"


# --- Pure parts --------------------------------------------------------------------------------------------------


def best_training_job(tuning_job: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `BestTrainingJob` summary of a DescribeHyperParameterTuningJob response, with its objective metric."""
    name = tuning_job.get("HyperParameterTuningJobName", "?")
    best = tuning_job.get("BestTrainingJob")
    if not best:
        counters = tuning_job.get("TrainingJobStatusCounters", {})
        raise TuningResultIncomplete(
            f"tuning job {name} has no best training job (status {tuning_job.get('HyperParameterTuningJobStatus')},"
            f" training jobs {json.dumps(counters, sort_keys=True)}); check the training jobs' FailureReason"
        )
    objective = best.get("FinalHyperParameterTuningJobObjectiveMetric")
    if not objective or not _finite(objective.get("Value")):
        raise TuningResultIncomplete(
            f"best training job {best.get('TrainingJobName')} of tuning job {name} reported no final objective "
            "metric; check that the training program prints `<metric>: <value>` for the tuning metric"
        )
    return best


def best_model_path(training_job: Mapping[str, Any]) -> str:
    """The model artifact (`s3://.../model.tar.gz`) of a DescribeTrainingJob response: the best model path."""
    path = training_job.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if not isinstance(path, str) or not path.startswith("s3://"):
        raise TuningResultIncomplete(
            f"training job {training_job.get('TrainingJobName', '?')} has no model artifact in S3 "
            f"(ModelArtifacts: {training_job.get('ModelArtifacts')!r})"
        )
    return path


def final_metrics(training_job: Mapping[str, Any]) -> dict[str, float | None]:
    """Every final metric of a training job, by name. A non-finite value (NaN) becomes None, so the JSON stays
    valid."""
    return {
        str(metric["MetricName"]): float(metric["Value"]) if _finite(metric.get("Value")) else None
        for metric in training_job.get("FinalMetricDataList", [])
        if "MetricName" in metric
    }


def model_hyperparameters(training_job: Mapping[str, Any]) -> dict[str, str]:
    """The hyperparameters the training job ran with (static plus tuned), without SageMaker's bookkeeping ones."""
    return {
        name: value
        for name, value in sorted(training_job.get("HyperParameters", {}).items())
        if not name.startswith(_INTERNAL_HYPERPARAMETER_PREFIXES)
    }


def build_run_metadata(
    tuning_job: Mapping[str, Any],
    training_job: Mapping[str, Any],
    *,
    metadata_uri: str,
    recorded_at: datetime,
) -> dict[str, Any]:
    """The run record written to the metadata store, from the two Describe responses."""
    best = best_training_job(tuning_job)
    objective = best["FinalHyperParameterTuningJobObjectiveMetric"]
    config_objective = tuning_job.get("HyperParameterTuningJobConfig", {}).get(
        "HyperParameterTuningJobObjective", {}
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "tuning_job": {
            "name": tuning_job["HyperParameterTuningJobName"],
            "arn": tuning_job.get("HyperParameterTuningJobArn"),
            "status": tuning_job.get("HyperParameterTuningJobStatus"),
            "created_at": _iso(tuning_job.get("CreationTime")),
            "ended_at": _iso(tuning_job.get("HyperParameterTuningEndTime")),
            "training_jobs": dict(tuning_job.get("TrainingJobStatusCounters", {})),
        },
        "best_training_job": {
            "name": best["TrainingJobName"],
            "arn": best.get("TrainingJobArn"),
            "started_at": _iso(training_job.get("TrainingStartTime") or best.get("TrainingStartTime")),
            "ended_at": _iso(training_job.get("TrainingEndTime") or best.get("TrainingEndTime")),
            "training_image": training_job.get("AlgorithmSpecification", {}).get("TrainingImage"),
        },
        "objective": {
            "name": objective["MetricName"],
            "value": float(objective["Value"]),
            "type": objective.get("Type") or config_objective.get("Type"),
        },
        "tuned_hyperparameters": dict(sorted(best.get("TunedHyperParameters", {}).items())),
        "hyperparameters": model_hyperparameters(training_job),
        "metrics": final_metrics(training_job),
        "model_data_url": best_model_path(training_job),
        "metadata_uri": metadata_uri,
        "recorded_at": _iso(recorded_at),
    }


def run_summary(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What the function returns to the state machine, from a run record."""
    return {
        "model_data_url": metadata["model_data_url"],
        "best_training_job": metadata["best_training_job"]["name"],
        "objective": {"name": metadata["objective"]["name"], "value": metadata["objective"]["value"]},
        "metrics": metadata["metrics"],
        "hyperparameters": metadata["hyperparameters"],
        "metadata_uri": metadata["metadata_uri"],
    }


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return None if value is None else str(value)


# --- The work ------------------------------------------------------------------------------------------------------


def record_run(
    tuning_job_name: str, settings: Settings, *, sagemaker: Any, s3: Any, now: datetime | None = None
) -> dict[str, Any]:
    """Describe the tuning job and its best training job, write the run record, and return the run summary."""
    with aws_errors(f"sagemaker:DescribeHyperParameterTuningJob {tuning_job_name}"):
        tuning_job = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_job_name
        )
    best_name = best_training_job(tuning_job)["TrainingJobName"]
    with aws_errors(f"sagemaker:DescribeTrainingJob {best_name}"):
        training_job = sagemaker.describe_training_job(TrainingJobName=best_name)

    key = settings.key(tuning_job_name)
    metadata = build_run_metadata(
        tuning_job,
        training_job,
        metadata_uri=s3_uri(settings.bucket, key),
        recorded_at=now or datetime.now(UTC),
    )
    # allow_nan=False: the record is read by other tools, and NaN is not JSON.
    body = json.dumps(metadata, indent=2, sort_keys=True, allow_nan=False).encode()
    with aws_errors(f"s3:PutObject {metadata['metadata_uri']}"):
        s3.put_object(Bucket=settings.bucket, Key=key, Body=body, ContentType="application/json")
    return run_summary(metadata)


@lambda_handler
def handler(event: dict[str, Any]) -> dict[str, Any]:
    """Lambda entry point (`functions.run_metadata.handler`). Input: `{"TuningJobName": str}`."""
    name = name_field(
        event,
        "TuningJobName",
        path="",
        pattern=SAGEMAKER_NAME,
        max_length=32,
        rule="letters, digits and single hyphens",
    )
    settings = Settings.from_env()
    return record_run(name, settings, sagemaker=client("sagemaker"), s3=client("s3"))
