"""The processing pipeline's policies: parliament-clean, no wildcard actions, exactly what the definition calls,
the one role passed, and data access limited to the pipeline's areas."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_component.builders import iam
from mlops_component.builders.state_machines import processing_pipeline as wf
from tests.iam_checks import allows, called_actions, lint, wildcard_problems
from tests.workflows.test_processing_workflow import (
    EXTRACTS,
    FEATURES,
    MODELS,
    OUTPUT,
    RESOURCES,
    SOURCE,
)

ACCOUNT = iam.Account(partition="aws", region="us-east-1", account_id="123456789012")
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
REPOSITORY = "arn:aws:ecr:us-east-1:123456789012:repository/mlops-test/byo-xgboost"
MACHINE = "mlops-test-processing"


def job_policy(config, kms_key_arn: str | None = None) -> dict[str, Any]:
    areas = wf.processing_areas(config, RESOURCES)
    return iam.processing_job_policy(
        ACCOUNT,
        read=[(a.bucket, a.prefix) for a in areas.readable],
        write=[(a.bucket, a.prefix) for a in areas.writable],
        repository_arn=REPOSITORY,
        kms_key_arn=kms_key_arn,
    )


def state_machine_policy(tracing: bool = False) -> dict[str, Any]:
    return iam.processing_state_machine_policy(
        ACCOUNT,
        job_name="Employee-Attrition",
        role_arn=RESOURCES.role_arn,
        topic_arn=RESOURCES.topic_arn,
        tracing=tracing,
    )


@pytest.fixture
def policies(make_config) -> dict[str, dict[str, Any]]:
    config = make_config(enable_processing_pipeline=True)
    return {
        "processing job": job_policy(config),
        "processing job (kms)": job_policy(config, KEY),
        "state machine": state_machine_policy(),
        "state machine (traced)": state_machine_policy(tracing=True),
        "start": iam.start_processing_policy(ACCOUNT, MACHINE),
    }


def test_parliament_finds_nothing_and_no_action_is_a_wildcard(policies) -> None:
    for name, policy in policies.items():
        assert lint(policy) == [], name
        assert wildcard_problems(policy) == [], name


def test_resource_star_only_where_aws_has_no_resource_level_permission(policies) -> None:
    unscoped_ok = {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
    }
    for name, policy in policies.items():
        for statement in policy["Statement"]:
            if statement["Resource"] == "*":
                assert set(statement["Action"]) <= unscoped_ok, name


def test_the_state_machine_role_grants_every_action_its_definition_calls(make_config) -> None:
    definition = wf.processing_definition(make_config(job_name="Employee-Attrition"), RESOURCES)
    policy = state_machine_policy()
    job = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/employee-attrition-0a1b2c3d4e5f-inference"
    rule = "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule"
    needed = called_actions(definition)
    assert {state for state in needed} == {"PreProcessing", "Inference", "PostProcessing", "Notify Failure"}
    granted: set[str] = set()
    for state, (_, actions) in needed.items():
        for action in actions:
            resource = rule if action.startswith("events:") else job
            if action == "sns:Publish":
                resource = RESOURCES.topic_arn
            assert allows(policy, action, resource), f"{state}: {action} on {resource}"
            granted.add(action)
    # ...and nothing on SageMaker or events beyond that (ListTags: Step Functions reads back the tags it set).
    statements = [s for s in policy["Statement"] if s.get("Sid") in {"RunProcessingJobs", "ManageSyncRules"}]
    assert {a for s in statements for a in s["Action"]} == (granted - {"sns:Publish"}) | {
        "sagemaker:ListTags"
    }


def test_only_the_pipelines_own_jobs_can_be_created_or_stopped() -> None:
    policy = state_machine_policy()
    other = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/sm-inf-job-0211-1156"
    assert not allows(policy, "sagemaker:CreateProcessingJob", other)
    assert not allows(policy, "sagemaker:StopProcessingJob", other)
    assert not allows(
        policy,
        "sagemaker:CreateTrainingJob",
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/employee-attrition-x",
    )


def test_pass_role_is_the_processing_role_to_sagemaker_only() -> None:
    (statement,) = [s for s in state_machine_policy()["Statement"] if "iam:PassRole" in s["Action"]]
    assert statement["Resource"] == RESOURCES.role_arn
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_the_job_role_reads_and_writes_only_the_pipelines_areas(make_config) -> None:
    policy = job_policy(make_config(enable_processing_pipeline=True))
    reads = [
        f"{SOURCE}/legacycode/scripts/preprocess.py",
        f"{FEATURES}/legacycode/input/score.csv",
        f"{EXTRACTS}/legacycode/preprocessed/run/score.csv",
        f"{MODELS}/legacycode/model/model.tar.gz",
        f"{MODELS}/tuning/job-002/output/model.tar.gz",
        f"{OUTPUT}/legacycode/predictions/run/score.csv",
    ]
    for key in reads:
        assert allows(policy, "s3:GetObject", f"arn:aws:s3:::{key}"), key
    for key in [
        f"{FEATURES}/data/train/train.csv",
        f"{EXTRACTS}/train/train.csv",
        f"{OUTPUT}/legacycode/reports/r/report.json",
    ]:
        assert not allows(policy, "s3:GetObject", f"arn:aws:s3:::{key}"), key
    writes = [
        f"{EXTRACTS}/legacycode/preprocessed/run/score.csv",
        f"{OUTPUT}/legacycode/predictions/run/score.csv",
        f"{OUTPUT}/legacycode/reports/run/report.json",
    ]
    for key in writes:
        assert allows(policy, "s3:PutObject", f"arn:aws:s3:::{key}"), key
    # Never the raw data (a write there could start a training run), the code, the models or training's data.
    for key in [
        f"{FEATURES}/legacycode/input/x.csv",
        f"{FEATURES}/data/score/x.csv",
        f"{SOURCE}/legacycode/scripts/x.py",
        f"{MODELS}/legacycode/model/x",
        f"{OUTPUT}/predictions/run=x/score.csv",
    ]:
        assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{key}"), key
    assert not any("s3:DeleteObject" in s["Action"] for s in policy["Statement"])


def test_listing_is_limited_to_the_prefixes_of_each_bucket(make_config) -> None:
    policy = job_policy(make_config(enable_processing_pipeline=True))
    listing = {
        s["Resource"]: s["Condition"]["StringLike"]["s3:prefix"]
        for s in policy["Statement"]
        if s["Action"] == ["s3:ListBucket"]
    }
    assert listing == {
        f"arn:aws:s3:::{SOURCE}": ["legacycode/scripts/*"],
        f"arn:aws:s3:::{MODELS}": ["legacycode/model/*", "tuning/*"],
        f"arn:aws:s3:::{FEATURES}": ["legacycode/input/*"],
        f"arn:aws:s3:::{EXTRACTS}": ["legacycode/preprocessed/*"],
        f"arn:aws:s3:::{OUTPUT}": ["legacycode/predictions/*", "legacycode/reports/*"],
    }


def test_the_job_role_pulls_one_image_and_writes_processing_logs(make_config) -> None:
    policy = job_policy(make_config(enable_processing_pipeline=True), KEY)
    assert allows(policy, "ecr:BatchGetImage", REPOSITORY)
    assert not allows(policy, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:123456789012:repository/other")
    group = (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/ProcessingJobs:log-stream:job/algo-1"
    )
    assert allows(policy, "logs:PutLogEvents", group)
    assert not allows(
        policy,
        "logs:PutLogEvents",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:x",
    )
    assert allows(policy, "kms:Decrypt", KEY) and allows(policy, "kms:GenerateDataKey", KEY)


def test_starting_needs_only_this_machine_and_its_runs() -> None:
    policy = iam.start_processing_policy(ACCOUNT, MACHINE)
    machine = f"arn:aws:states:us-east-1:123456789012:stateMachine:{MACHINE}"
    run = f"arn:aws:states:us-east-1:123456789012:execution:{MACHINE}:6f2c"
    assert allows(policy, "states:StartExecution", machine)
    # The console's "Start execution" page reads the machine first.
    assert allows(policy, "states:DescribeStateMachine", machine)
    assert allows(policy, "states:ListExecutions", machine)
    assert allows(policy, "states:DescribeExecution", run)
    assert allows(policy, "states:GetExecutionHistory", run)
    assert allows(policy, "states:StopExecution", run)
    training = "arn:aws:states:us-east-1:123456789012:stateMachine:mlops-test-training"
    assert not allows(policy, "states:StartExecution", training)
    assert not allows(policy, "states:StartExecution", run)
    assert not any(
        a.startswith(("iam:", "s3:", "sagemaker:")) for s in policy["Statement"] for a in s["Action"]
    )
