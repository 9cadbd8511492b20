"""The model image's pull permissions: least privilege, and clean under parliament's IAM linter."""

from __future__ import annotations

from mlops_component.builders.iam import document, ecr_image_pull_statements
from tests.iam_checks import lint

REPOSITORY_ARN = "arn:aws:ecr:us-east-1:123456789012:repository/mlops-dev/byo-xgboost"


def test_pull_statements_are_scoped_to_the_repository() -> None:
    pull, token = ecr_image_pull_statements(REPOSITORY_ARN)
    assert pull["Resource"] == REPOSITORY_ARN
    assert sorted(pull["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    # The one action that cannot be scoped (it has no resource type) is the only one on "*".
    assert token == {
        "Sid": "GetRegistryToken",
        "Effect": "Allow",
        "Action": ["ecr:GetAuthorizationToken"],
        "Resource": "*",
    }
    assert all("*" not in action for action in [*pull["Action"], *token["Action"]])


def test_parliament_finds_nothing() -> None:
    assert lint(document(*ecr_image_pull_statements(REPOSITORY_ARN))) == []
