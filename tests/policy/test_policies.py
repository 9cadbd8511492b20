"""The policy checks on every stack this project generates (all pass) and on insecure variants of them (each fails)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mlops_component.tools import check, policies
from tests.policy.stacks import EXAMPLE_STACKS

Resources = list[policies.Resource]


@pytest.mark.parametrize("stack", sorted(EXAMPLE_STACKS))
def test_every_example_stack_keeps_every_promise_and_passes_the_iam_lint(example_stack, stack: str) -> None:
    resources = example_stack(stack)
    assert sum(r.type in policies.BUCKET_TYPES for r in resources) == 6
    assert [v.line() for v in check.check(resources)] == []


def one(resources: Resources, type_: str, name_part: str = "") -> policies.Resource:
    return next(r for r in resources if r.type == type_ and name_part in r.name)


def replace_props(resources: Resources, target: policies.Resource, **props: Any) -> Resources:
    """The stack with `target`'s inputs changed (a key set to None is removed)."""
    changed = {k: v for k, v in {**target.props, **props}.items() if v is not None}
    return [dataclasses.replace(r, props=changed) if r is target else r for r in resources]


def violations(resources: Resources) -> dict[str, list[policies.Violation]]:
    found: dict[str, list[policies.Violation]] = {}
    for violation in policies.evaluate(resources):
        found.setdefault(violation.policy, []).append(violation)
    return found


def test_a_bucket_without_a_public_access_block_fails(example_stack) -> None:
    resources = example_stack("batch")
    block = one(resources, policies.PUBLIC_ACCESS_BLOCK, "features")
    found = violations([r for r in resources if r is not block])
    (violation,) = found.pop("s3-bucket-private")
    assert found == {}
    assert violation.level == "mandatory"
    assert violation.resource == "mlops-stores-features-bucket"
    assert "has no public access block" in violation.message and "restrictPublicBuckets" in violation.message


@pytest.mark.parametrize("flag", policies.PUBLIC_ACCESS_FLAGS)
def test_a_public_access_block_with_any_flag_off_fails(example_stack, flag: str) -> None:
    resources = example_stack("batch")
    block = one(resources, policies.PUBLIC_ACCESS_BLOCK, "models")
    (violation,) = violations(replace_props(resources, block, **{flag: False}))["s3-bucket-private"]
    assert violation.resource == block.name and violation.message.endswith(f"set {flag} true")


def test_a_bucket_without_default_encryption_fails(example_stack) -> None:
    resources = example_stack("kms-key")
    encryption = next(r for r in resources if r.type in policies.ENCRYPTION_TYPES and "metadata" in r.name)
    (violation,) = violations([r for r in resources if r is not encryption])["s3-bucket-encrypted"]
    assert violation.resource == "mlops-stores-metadata-bucket" and "sseAlgorithm" in violation.message


def test_a_bucket_whose_policy_allows_plain_http_fails(example_stack) -> None:
    resources = example_stack("batch")
    bucket_policy = one(resources, policies.BUCKET_POLICY, "output")
    document = json.loads(bucket_policy.props["policy"])
    document["Statement"][0]["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    found = violations(replace_props(resources, bucket_policy, policy=json.dumps(document)))
    (violation,) = found["s3-bucket-tls-only"]
    assert violation.resource == "mlops-stores-output-bucket" and "aws:SecureTransport" in violation.message


def with_statement(resources: Resources, target: policies.Resource, statement: dict[str, Any]) -> Resources:
    document = json.loads(target.props["policy"])
    document["Statement"].append(statement)
    return replace_props(resources, target, policy=json.dumps(document))


@pytest.mark.parametrize("action", ["s3:*", "*", ["logs:PutLogEvents", "sagemaker:*"]])
def test_a_policy_with_a_wildcard_action_fails(example_stack, action) -> None:
    resources = example_stack("processing")
    role_policy = one(resources, "aws:iam/rolePolicy:RolePolicy", "sagemaker")
    statement = {"Sid": "TooMuch", "Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::bucket/*"}
    (violation,) = violations(with_statement(resources, role_policy, statement))["iam-no-wildcard-actions"]
    assert violation.resource == role_policy.name and "TooMuch" in violation.message
    assert "instead of a wildcard" in violation.message


def test_wildcards_in_a_bucket_policy_and_a_role_inline_policy_fail_too(example_stack) -> None:
    resources = example_stack("batch")
    bucket_policy = one(resources, policies.BUCKET_POLICY, "features")
    grant = {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}
    role = one(resources, policies.ROLE)
    inline = [{"name": "extra", "policy": json.dumps({"Version": "2012-10-17", "Statement": [grant]})}]
    insecure = replace_props(with_statement(resources, bucket_policy, grant), role, inlinePolicies=inline)
    found = violations(insecure)["iam-no-wildcard-actions"]
    assert {v.resource for v in found} == {bucket_policy.name, role.name}
    assert any("inline policy 'extra'" in v.message for v in found)


def test_pass_role_without_a_service_condition_fails(example_stack) -> None:
    resources = example_stack("batch")
    role_policy = one(resources, "aws:iam/rolePolicy:RolePolicy", "mlops-training-policy")
    document = json.loads(role_policy.props["policy"])
    (pass_role,) = [s for s in document["Statement"] if "iam:PassRole" in s["Action"]]
    assert "iam:PassedToService" in json.dumps(pass_role["Condition"])
    del pass_role["Condition"]
    found = violations(replace_props(resources, role_policy, policy=json.dumps(document)))
    (violation,) = found.pop("iam-pass-role-to-a-service")
    assert found == {}
    assert violation.level == "mandatory" and violation.resource == role_policy.name
    assert "iam:PassedToService" in violation.message


def test_a_log_group_without_retention_fails(example_stack) -> None:
    resources = example_stack("endpoint")
    log_group = one(resources, policies.LOG_GROUP, "training")
    (violation,) = violations(replace_props(resources, log_group, retentionInDays=None))[
        "log-group-retention"
    ]
    assert violation.level == "mandatory" and violation.resource == log_group.name
    assert "retentionInDays" in violation.message


def test_an_untagged_resource_is_reported_as_advisory(example_stack) -> None:
    resources = example_stack("dev-environment")
    notebook = one(resources, "aws:sagemaker/notebookInstance:NotebookInstance")
    (violation,) = violations(replace_props(resources, notebook, tags=None))["resources-tagged"]
    assert violation.level == "advisory" and violation.resource == notebook.name
    # Sub-resources that take no tags, and S3 objects (tagged through their bucket), are not asked for any.
    assert not policies.supports_tags(policies.PUBLIC_ACCESS_BLOCK)
    assert not policies.supports_tags("aws:s3/bucketObjectv2:BucketObjectv2")
    assert policies.supports_tags("aws:lambda/function:Function")


def test_a_workflow_step_creating_an_untagged_endpoint_config_is_reported(example_stack) -> None:
    resources = example_stack("endpoint")
    machine = one(resources, policies.STATE_MACHINE, "training")
    definition = json.loads(machine.props["definition"])
    creates = [
        s for s in definition["States"].values() if s.get("Resource", "").endswith(":createEndpointConfig")
    ]
    assert creates and all(s["Parameters"]["Tags"] for s in creates)
    for state in creates:
        del state["Parameters"]["Tags"]
    found = violations(replace_props(resources, machine, definition=json.dumps(definition)))
    (violation,) = found["run-time-resources-tagged"]
    assert violation.level == "advisory" and "createEndpointConfig" in violation.message


def test_a_bucket_is_linked_to_its_parts_by_property_dependency_when_its_name_is_unknown() -> None:
    """In a preview the engine knows which bucket a block belongs to only from the property dependency."""
    bucket = policies.Resource("aws:s3/bucket:Bucket", "data", {"tags": {"a": "b"}}, key="urn:bucket")
    block = policies.Resource(
        policies.PUBLIC_ACCESS_BLOCK,
        "data-block",
        dict.fromkeys(policies.PUBLIC_ACCESS_FLAGS, True),
        key="urn:block",
        links={"bucket": ["urn:bucket"]},
    )
    assert policies.public_access_blocked([bucket, block]) == []
    assert policies.public_access_blocked([bucket, dataclasses.replace(block, links={})]) != []
