"""The CrossGuard pack in policy/: its wiring to pulumi_policy, and the pack served over the analyzer protocol.

The second test starts the pack the way the Pulumi engine does (`python -m pulumi.policy <engine> policy`), then
talks to it with the engine's gRPC calls (Analyze per resource, AnalyzeStack for the whole stack), so the pack,
pulumi_policy's props proxies and the checks are exercised together without the Pulumi CLI.
"""

from __future__ import annotations

import dataclasses
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import PolicyCustomTimeouts

from mlops_component.tools import policies

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
MANDATORY = analyzer_pb2.EnforcementLevel.Value("MANDATORY")


@pytest.fixture(scope="module")
def pack() -> dict[str, Any]:
    """The pack's module, loaded without starting its server (that only happens when run as __main__)."""
    return runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="mlops_policy_pack")


def urn(resource: policies.Resource) -> str:
    return f"urn:pulumi:test::mlops::{resource.type}::{resource.name}"


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def test_every_project_policy_is_one_crossguard_policy_of_its_kind_and_level(pack) -> None:
    wired = {p.name: p for p in pack["crossguard_policies"]()}
    assert set(wired) == {p.name for p in policies.POLICIES}
    for policy in policies.POLICIES:
        kind = ResourceValidationPolicy if policy.check_resource else StackValidationPolicy
        assert isinstance(wired[policy.name], kind)
        assert wired[policy.name].enforcement_level == pack["LEVELS"][policy.level]


def test_the_validate_callbacks_report_through_pulumi_policy_args(pack, example_stack) -> None:
    wired = {p.name: p for p in pack["crossguard_policies"]()}
    resources = example_stack("batch")
    log_group = next(r for r in resources if r.type == policies.LOG_GROUP)
    reported: list[tuple[str, str | None]] = []
    no_retention = {k: v for k, v in log_group.props.items() if k != "retentionInDays"}
    args = ResourceValidationArgs(
        log_group.type, no_retention, urn(log_group), log_group.name, options(), None
    )
    wired["log-group-retention"].validate(args, lambda message, u=None: reported.append((message, u)))
    assert len(reported) == 1 and log_group.name in reported[0][0]

    bucket = next(r for r in resources if r.type in policies.BUCKET_TYPES)
    stack = [
        PolicyResource(bucket.type, bucket.props, urn(bucket), bucket.name, options(), None, None, [], {})
    ]
    reported.clear()
    wired["s3-bucket-private"].validate(
        StackValidationArgs(stack), lambda message, u=None: reported.append((message, u))
    )
    assert reported == [(reported[0][0], urn(bucket))] and "no public access block" in reported[0][0]


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack, started as the engine starts a Python policy pack; it prints the port it serves on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.policy", "127.0.0.1:0", str(POLICY_DIR)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), (
            f"the pack did not start: {port!r} {process.stderr.read() if process.stderr else ''}"
        )
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


def struct(props: Any) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(props))
    return message


def analyzer_resources(resources: list[policies.Resource]) -> list[analyzer_pb2.AnalyzerResource]:
    """The stack as the engine sends it, parts of a bucket linked to it by property dependency."""
    ids = {r.id: urn(r) for r in resources if r.type in policies.BUCKET_TYPES}
    wire = []
    for r in resources:
        bucket_urn = ids.get(r.props.get("bucket")) if r.type not in policies.BUCKET_TYPES else None
        dependencies = (
            {"bucket": analyzer_pb2.AnalyzerPropertyDependencies(urns=[bucket_urn])} if bucket_urn else {}
        )
        props = {k: v for k, v in r.props.items() if not k.startswith("__")}
        wire.append(
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=struct(props),
                urn=urn(r),
                name=r.name,
                propertyDependencies=dependencies,
            )
        )
    return wire


def plain(resources: list[policies.Resource]) -> list[policies.Resource]:
    """Only resources whose inputs are plain JSON (assets and archives travel differently over the wire)."""
    return [
        r
        for r in resources
        if r.type.startswith("aws:") and "source" not in r.props and "code" not in r.props
    ]


def test_the_served_pack_info_lists_every_policy(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "mlops-security"
    assert {p.name for p in info.policies} == {p.name for p in policies.POLICIES}


def test_the_served_pack_passes_an_example_stack_and_names_what_breaks_in_an_insecure_one(
    analyzer, example_stack
) -> None:
    resources = plain(example_stack("dev-environment"))
    stack = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=analyzer_resources(resources)))
    assert [d.message for d in stack.diagnostics] == []
    for r in resources:
        answer = analyzer.Analyze(
            analyzer_pb2.AnalyzeRequest(type=r.type, properties=struct(r.props), urn=urn(r), name=r.name)
        )
        assert [d.message for d in answer.diagnostics] == [], r.name

    block = next(r for r in resources if r.type == policies.PUBLIC_ACCESS_BLOCK)
    insecure = analyzer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(
            resources=analyzer_resources([r for r in resources if r is not block])
        )
    )
    (diagnostic,) = insecure.diagnostics
    assert diagnostic.policyName == "s3-bucket-private" and diagnostic.enforcementLevel == MANDATORY
    assert diagnostic.urn.endswith(block.name.removesuffix("-public-access") + "-bucket")

    log_group = next(r for r in resources if r.type == policies.LOG_GROUP)
    unbounded = dataclasses.replace(log_group, props={**log_group.props, "retentionInDays": 0})
    answer = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=unbounded.type, properties=struct(unbounded.props), urn=urn(unbounded), name=unbounded.name
        )
    )
    assert [(d.policyName, d.enforcementLevel) for d in answer.diagnostics] == [
        ("log-group-retention", MANDATORY)
    ]
