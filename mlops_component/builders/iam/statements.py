"""The building blocks every policy uses: ARNs, statements, trust policies, the TLS-only bucket policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Policy = dict[str, Any]


def document(*statements: dict[str, Any]) -> Policy:
    """An IAM policy document holding `statements`."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def tls_only_bucket_policy(bucket_arn: str) -> Policy:
    """Deny every request to the bucket and its objects that does not arrive over TLS."""
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


# --- ARNs -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """Where the stack deploys: the three parts every ARN needs."""

    partition: str
    region: str
    account_id: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        """An ARN in this account, e.g. `arn("states", "stateMachine:x")`."""
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def sagemaker(self, kind: str, name: str) -> str:
        """A SageMaker resource ARN. SageMaker lowercases names in ARNs, so the policy must as well."""
        return self.arn("sagemaker", f"{kind}/{name.lower()}")

    def log_group(self, name: str) -> str:
        """A CloudWatch Logs group's ARN, covering its streams."""
        return self.arn("logs", f"log-group:{name}:*")


def bucket_arn(partition: str, bucket: str) -> str:
    """A bucket's ARN (what `s3:ListBucket` applies to)."""
    return f"arn:{partition}:s3:::{bucket}"


def objects_arn(partition: str, bucket: str, prefix: str = "") -> str:
    """The ARN of objects under a prefix (what `s3:GetObject`/`s3:PutObject` apply to)."""
    return f"arn:{partition}:s3:::{bucket}/{prefix}*"


# --- Statements ---------------------------------------------------------------------------------------------------


def allow(
    actions: list[str], resources: list[str] | str, sid: str | None = None, **condition: Any
) -> dict[str, Any]:
    """One Allow statement; `condition` is passed as the Condition block when given."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return statement


def assume_role_policy(service: str, *, source_account: str | None = None) -> Policy:
    """A trust policy for one AWS service, optionally only on behalf of one account (confused deputy)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(statement)


def list_bucket(partition: str, bucket: str, prefixes: list[str], sid: str | None = None) -> dict[str, Any]:
    """ListBucket on the bucket ARN, limited to key prefixes."""
    return allow(
        ["s3:ListBucket"],
        bucket_arn(partition, bucket),
        sid,
        StringLike={"s3:prefix": [f"{p}*" for p in prefixes]},
    )


def list_whole_bucket(partition: str, bucket: str) -> dict[str, Any]:
    """ListBucket without a prefix condition: HeadObject on a missing key then answers 404 rather than 403,
    which functions that probe for objects rely on (the request carries no s3:prefix to match)."""
    return allow(["s3:ListBucket"], bucket_arn(partition, bucket), sid="ListForNotFound")


def write_logs(log_group_arns: list[str]) -> dict[str, Any]:
    """Write to already-created log groups (the component creates them, with retention)."""
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], log_group_arns, sid="WriteOwnLogs")


def use_kms_key(
    key_arn: str | None, *, decrypt: bool = True, encrypt: bool = True, via_service: str | None = None
) -> list[dict[str, Any]]:
    """Use the stores' KMS key, when there is one; only through `via_service` (e.g. S3) when given."""
    if not key_arn:
        return []
    actions = (["kms:Decrypt"] if decrypt else []) + (["kms:GenerateDataKey"] if encrypt else [])
    if via_service:
        return [allow(actions, key_arn, sid="UseStoreKey", StringEquals={"kms:ViaService": via_service})]
    return [allow(actions, key_arn, sid="UseStoreKey")]


def pass_role(role_arn: str, service: str) -> dict[str, Any]:
    """Pass exactly one role, to exactly one service."""
    return allow(
        ["iam:PassRole"], role_arn, sid="PassExecutionRole", StringEquals={"iam:PassedToService": service}
    )
