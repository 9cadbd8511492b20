"""A score-only local run: `--score` without `--train`, against an `--out` where an earlier run approved a package.

How the package is found: the earlier run's `summary.json` in `--out` names it (`model_package`: ARN, version,
status, and the model it was registered with, `model_data_url`); the earlier run's `s3/` folder holds that
`model.tar.gz` and the schema its ETL wrote (`schema/columns.json`). Each local run's embedded AWS starts empty,
so the registry is rebuilt from those files before anything else: the model package group, the package (as
`Approved`, with the same image, artifact and metadata), the model and the schema in the stores. From there the
run is the deployment workflow's path for a score file that lands alone (`cause: "score-landed"`, no package
named): the latest approved package is looked up with the Find Latest Approved Model state's parameters, the
score file goes through the ETL as a scoring-only run (Prepare Score Data), and a model created from the package
scores it. Nothing is trained.

The files are read before the new run clears `--out`, and only files the earlier run listed as its own are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.model_packages import APPROVAL_MODE_PROPERTY, RUN_PROPERTY
from mlops_component import layout
from mlops_component.tools.local_run.errors import LocalRunError
from mlops_component.tools.local_run.outputs import S3_DIR, SUMMARY_FILE

STAGES = ["data", "aws", "registry", "etl", "inference", "outputs"]


@dataclass(frozen=True)
class ApprovedPackage:
    """What an earlier local run registered and approved, with the files needed to register it again."""

    arn: str
    version: int
    run_name: str
    approval_mode: str
    model_data_url: str
    model: bytes
    schema: bytes


def wanted(out: Path, train: Path | None, score: Path | None) -> bool:
    """A score-only run: a score file, no training file, and an earlier run's summary in `out` naming a package."""
    if score is None or train is not None:
        return False
    try:
        summary = json.loads((out / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and isinstance(summary.get("model_package"), dict)


def approved_package(out: Path) -> ApprovedPackage:
    """The package the earlier run in `out` approved, with its model and schema; a clear error when unusable."""
    summary = json.loads((out / SUMMARY_FILE).read_text())
    package = summary["model_package"]
    if package.get("status") != "Approved":
        raise LocalRunError(
            "data",
            f"the earlier run in {out} left model package version {package.get('version')} "
            f"{package.get('status')}; approve it (run again with --approve) before scoring with it",
        )
    if summary.get("mode") != "batch":
        raise LocalRunError("data", "a score-only run scores a file, which only batch mode does")
    url = str(package.get("model_data_url") or "")
    bucket, _, key = url.removeprefix("s3://").partition("/")
    extracts = str((summary.get("stores") or {}).get("extracts") or "")
    files = {
        "the registered model": out / S3_DIR / bucket / key,
        "the schema the model was trained with": out / S3_DIR / extracts / layout.SCHEMA_KEY,
    }
    missing = [f"{what} ({path})" for what, path in files.items() if not bucket or not path.is_file()]
    if missing:
        raise LocalRunError("data", f"the earlier run in {out} did not keep {' and '.join(missing)}")
    model, schema = (path.read_bytes() for path in files.values())
    return ApprovedPackage(
        arn=str(package["arn"]),
        version=int(package["version"]),
        run_name=str(summary.get("run_name")),
        approval_mode=str(package.get("approval_mode")),
        model_data_url=url,
        model=model,
        schema=schema,
    )


def register_again(
    package: ApprovedPackage, *, sagemaker: Any, s3: Any, group: str, image: str, extracts_bucket: str
) -> str:
    """Put the package's model and schema back in the stores and register it again as Approved; its new ARN."""
    bucket, _, key = package.model_data_url.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=package.model)
    s3.put_object(Bucket=extracts_bucket, Key=layout.SCHEMA_KEY, Body=package.schema)
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"Run {package.run_name}: restored by a score-only local run",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": package.model_data_url}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={
            RUN_PROPERTY: package.run_name,
            APPROVAL_MODE_PROPERTY: package.approval_mode,
            "mlops:restored-from": package.arn,
        },
    )["ModelPackageArn"]
    return arn
