"""Pure builders for every IAM and bucket policy document: plain strings in, dicts out."""

from __future__ import annotations

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


# --- The bring-your-own model image (model_image.py) -------------------------------------------------------------
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def ecr_image_pull_statements(repository_arn: str) -> list[dict[str, Any]]:
    """What SageMaker's execution role needs to pull the model image from its repository.

    Reading layers is scoped to the one repository. `ecr:GetAuthorizationToken` is the exception: it names
    no resource type (the token is for the whole registry), so IAM only accepts it on `*`.
    """
    return [
        {"Sid": "PullModelImage", "Effect": "Allow", "Action": ECR_PULL_ACTIONS, "Resource": repository_arn},
        {
            "Sid": "GetRegistryToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
    ]
