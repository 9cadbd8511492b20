"""The Glue policy builders (iam/glue.py), as plain functions: least privilege, and linted by parliament."""

from __future__ import annotations

import json
from typing import Any

import parliament
import pytest

from mlops_component.builders import iam
from tests.iam_checks import lint

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ACCOUNT = iam.Account(partition="aws", region="us-east-1", account_id="123456789012")


def job_policy(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "feature_bucket": "p-features",
        "source_bucket": "p-source",
        "extracts_bucket": "p-extracts",
        "input_prefixes": ["data/train/", "data/score/"],
        "code_prefix": "etl/",
        "output_prefixes": ["train/", "score/", "schema/"],
        "log_group_prefix": iam.GLUE_PYTHON_SHELL_LOG_GROUPS,
        **overrides,
    }
    return iam.glue_job_policy(ACCOUNT, **arguments)


def crawler_policy(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "database_name": "p_mlops",
        "crawler_name": "p-predictions-crawler",
        "bucket": "p-output",
        "prefixes": ["predictions/"],
        **overrides,
    }
    return iam.glue_crawler_policy(ACCOUNT, **arguments)


DOCUMENTS = {
    "trust": iam.assume_role_policy(iam.GLUE_SERVICE),
    "job (Python shell)": job_policy(),
    "job (Spark, KMS)": job_policy(log_group_prefix=iam.GLUE_SPARK_LOG_GROUPS, kms_key_arn=KEY),
    "predictions crawler": crawler_policy(),
    "feature store crawler (KMS)": crawler_policy(
        bucket="p-features", prefixes=["data/train/", "data/score/"], kms_key_arn=KEY
    ),
}


@pytest.mark.parametrize("name", [n for n in DOCUMENTS if n != "trust"])  # parliament lints identity policies
def test_parliament_finds_nothing_beyond_the_allow_list(name: str) -> None:
    assert lint(DOCUMENTS[name]) == []


def test_parliament_would_catch_a_wildcard() -> None:
    """The lint is live: the same job policy with `s3:*` is reported."""
    broad = job_policy()
    broad["Statement"][4]["Action"] = "s3:*"
    assert parliament.analyze_policy_string(json.dumps(broad)).findings


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_wildcard_actions_or_resources(name: str) -> None:
    for statement in DOCUMENTS[name]["Statement"]:
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            assert "*" not in action, (name, action)
        resources = statement.get("Resource", [])
        assert "*" not in ([resources] if isinstance(resources, str) else resources), name


def test_trust_names_only_the_glue_service() -> None:
    (statement,) = DOCUMENTS["trust"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "glue.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }


def test_list_permissions_are_on_bucket_arns_and_object_permissions_on_objects() -> None:
    """The seed module swapped these; S3 evaluates ListBucket on the bucket and GetObject on `bucket/*`."""
    for name, policy in DOCUMENTS.items():
        for statement in policy["Statement"]:
            resources = statement.get("Resource", [])
            resources = [resources] if isinstance(resources, str) else resources
            if statement.get("Action") == ["s3:ListBucket"]:
                assert all("/" not in r for r in resources), name
            elif any(str(a).startswith("s3:") for a in statement.get("Action", [])):
                assert all("/" in r.removeprefix("arn:aws:s3:::") for r in resources), name


def test_job_policy_without_kms_has_no_kms_statement_and_with_it_only_through_s3() -> None:
    assert all(s.get("Sid") != "UseStoreKey" for s in job_policy()["Statement"])
    kms = job_policy(kms_key_arn=KEY)["Statement"][-1]
    assert kms["Resource"] == KEY
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
