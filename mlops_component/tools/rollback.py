"""`mlops rollback`: redeploy a previously approved model package of a deployed stack.

The deployment workflow does the work, as for every other start (`cause: "rollback"`); this module only decides
which package: `--version N`, or by default the approved package before the one deployed last (the newest record
under the metadata store's `deployments/`; with no record yet, the approved package before the newest approved).
In batch mode the package scores the newest score object, as the trigger would choose it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import trigger
from functions.common import FunctionError
from functions.model_packages import APPROVED, parse_package_arn
from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.config import MlOpsConfig

# The field of a deployment record that names the package it deployed (the deployment workflow writes it).
RECORD_PACKAGE_FIELD = "model_package_arn"


class RollbackError(Exception):
    """Why nothing was rolled back, in one line."""


@dataclass(frozen=True)
class Stack:
    """Where a deployed stack's registry, deployment workflow and data are."""

    model_package_group: str
    deployment_state_machine_arn: str
    feature_bucket: str
    metadata_bucket: str
    batch: bool
    account: iam.Account

    def package_arn(self, version: int) -> str:
        """The ARN of version `version` of the group."""
        return f"{self.account.sagemaker('model-package', self.model_package_group)}/{version}"

    @classmethod
    def of(cls, config: MlOpsConfig, account: iam.Account) -> Stack:
        """The names `pulumi up` gives a stack of `config` in `account`."""

        def bucket(store: naming.Store) -> str:
            return naming.bucket_name(config.name_prefix, store, account.account_id, account.region)

        return cls(
            model_package_group=naming.resource_name(config.name_prefix, naming.MODEL_PACKAGE_GROUP),
            deployment_state_machine_arn=iam.state_machine_arn(
                account, naming.resource_name(config.name_prefix, naming.DEPLOYMENT_STATE_MACHINE)
            ),
            feature_bucket=config.feature_store_override or bucket("feature_store"),
            metadata_bucket=bucket("metadata"),
            batch=config.is_batch,
            account=account,
        )


@dataclass(frozen=True)
class Rollback:
    """What was started: the execution, the package and the score data."""

    execution_name: str
    execution_arn: str
    package_arn: str
    version: int
    score_uri: str | None


def approved_versions(sagemaker: Any, group: str) -> dict[int, str]:
    """Every approved package of `group`, by version."""
    versions: dict[int, str] = {}
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelApprovalStatus=APPROVED
    )
    for page in pages:
        for summary in page.get("ModelPackageSummaryList", []):
            parsed = parse_package_arn(summary["ModelPackageArn"])
            if parsed:
                versions[parsed[1]] = summary["ModelPackageArn"]
    return versions


def last_deployed_version(s3: Any, metadata_bucket: str) -> int | None:
    """The version the newest deployment record names, or None if nothing has been deployed yet."""
    newest: tuple[Any, str] | None = None
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=metadata_bucket, Prefix=layout.DEPLOYMENTS_PREFIX
    ):
        for item in page.get("Contents", []):
            candidate = (item["LastModified"], item["Key"])
            newest = candidate if newest is None or candidate > newest else newest
    if newest is None:
        return None
    key = newest[1]
    try:
        record = json.loads(s3.get_object(Bucket=metadata_bucket, Key=key)["Body"].read())
        parsed = parse_package_arn(record[RECORD_PACKAGE_FIELD])
    except (ValueError, KeyError, TypeError):
        parsed = None
    if parsed is None:
        raise RollbackError(
            f"s3://{metadata_bucket}/{key} is not a deployment record naming a model package "
            f"({RECORD_PACKAGE_FIELD}); pass --version"
        )
    return parsed[1]


def choose_version(approved: dict[int, str], deployed: int | None, requested: int | None) -> int:
    """`requested`, or the newest approved version before `deployed` (before the newest approved, with none)."""
    if requested is not None:
        if requested not in approved:
            raise RollbackError(f"version {requested} is not an approved package of the group")
        return requested
    if not approved:
        raise RollbackError("nothing to roll back to: the group has no approved package")
    current = deployed if deployed is not None else max(approved)
    earlier = [v for v in approved if v < current]
    if not earlier:
        what = "deployed last" if deployed is not None else "the newest approved"
        raise RollbackError(f"nothing to roll back to: no approved package before version {current} ({what})")
    return max(earlier)


def _why_not_approved(sagemaker: Any, stack: Stack, version: int) -> str:
    """The package's own status, to say why `--version` cannot be deployed."""
    arn = stack.package_arn(version)
    try:
        described = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError:
        return f"the group {stack.model_package_group} has no version {version}"
    status = described.get("ModelApprovalStatus", "without an approval status")
    return (
        f"version {version} is {status}, not Approved: approve it first "
        f"(aws sagemaker update-model-package --model-approval-status Approved --model-package-arn {arn})"
    )


def rollback(
    stack: Stack,
    *,
    sagemaker: Any,
    s3: Any,
    sfn: Any,
    version: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Rollback:
    """Start the deployment workflow on the chosen approved package; RollbackError says why not."""
    try:
        approved = approved_versions(sagemaker, stack.model_package_group)
        if version is not None and version not in approved:
            raise RollbackError(_why_not_approved(sagemaker, stack, version))
        deployed = last_deployed_version(s3, stack.metadata_bucket) if version is None else None
        chosen = choose_version(approved, deployed, version)
        score = None
        if stack.batch:
            score = trigger.newest_object(s3, stack.feature_bucket, layout.SCORE_PREFIX)
            if score is None:
                raise RollbackError(
                    f"nothing to score under s3://{stack.feature_bucket}/{layout.SCORE_PREFIX}"
                )
        arn = approved[chosen]
        name = f"rollback-v{chosen}-{now().strftime('%Y%m%dT%H%M%SZ')}"
        response = sfn.start_execution(
            stateMachineArn=stack.deployment_state_machine_arn,
            name=name,
            input=json.dumps(trigger.deployment_input(arn, score, "rollback"), sort_keys=True),
        )
    except (ClientError, BotoCoreError, FunctionError) as error:
        raise RollbackError(f"AWS refused: {error}") from None
    return Rollback(name, response["executionArn"], arn, chosen, score.uri if score else None)


def caller_account(sts: Any, region: str) -> iam.Account:
    """The account the credentials belong to, in `region`."""
    try:
        identity = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        raise RollbackError(f"cannot tell which AWS account to use: {error}") from None
    return iam.Account(partition=identity["Arn"].split(":")[1], region=region, account_id=identity["Account"])
