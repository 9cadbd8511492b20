"""What the trigger asks the model registry: whether a group holds any package yet, and one package's
current state (approval status, version, and the metadata the register step writes on it).

The register step (`functions/register_model.py`) sets `CustomerMetadataProperties`
`{"mlops:run": <run name>, "mlops:approval-mode": "automatic"|"manual"}` on every package it creates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from functions.common import aws_errors

APPROVED = "Approved"
RUN_PROPERTY = "mlops:run"
APPROVAL_MODE_PROPERTY = "mlops:approval-mode"
# arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>
_PACKAGE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/(?P<group>[A-Za-z0-9-]{1,63})/(?P<version>\d{1,5})"
)


@dataclass(frozen=True)
class Package:
    """One versioned model package, as DescribeModelPackage reports it now."""

    arn: str
    group: str
    version: int
    approval_status: str
    last_modified: str
    """When the package last changed: one approval is one value, so duplicate events of it share it."""
    run: str | None
    approval_mode: str | None
    """`automatic` or `manual` for packages the register step created; None for any other package."""


def parse_package_arn(arn: str) -> tuple[str, int] | None:
    """The group and version a versioned model package ARN names, or None if `arn` is not one."""
    match = _PACKAGE_ARN.fullmatch(arn)
    return (match["group"], int(match["version"])) if match else None


def describe_package(sagemaker: Any, arn: str) -> Package:
    """The package's current state (the event that named it may be older than a later change)."""
    with aws_errors(f"sagemaker:DescribeModelPackage {arn}"):
        response = sagemaker.describe_model_package(ModelPackageName=arn)
    properties = response.get("CustomerMetadataProperties") or {}
    modified = response.get("LastModifiedTime") or response["CreationTime"]
    return Package(
        arn=response["ModelPackageArn"],
        group=response.get("ModelPackageGroupName", ""),
        version=int(response.get("ModelPackageVersion", 0)),
        approval_status=response.get("ModelApprovalStatus", ""),
        last_modified=modified.isoformat() if hasattr(modified, "isoformat") else str(modified),
        run=properties.get(RUN_PROPERTY),
        approval_mode=properties.get(APPROVAL_MODE_PROPERTY),
    )


def group_has_packages(sagemaker: Any, group: str) -> bool:
    """Whether any package, in any approval status, has been registered in `group`."""
    with aws_errors(f"sagemaker:ListModelPackages {group}"):
        response = sagemaker.list_model_packages(ModelPackageGroupName=group, MaxResults=1)
    return bool(response.get("ModelPackageSummaryList"))
