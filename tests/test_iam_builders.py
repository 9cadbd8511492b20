"""The pure policy builders: parliament-clean, no wildcard actions, and exactly what the workflow calls."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_component.builders import iam
from mlops_component.builders.state_machines import training_workflow as wf
from tests.iam_checks import allows, called_actions, lint, wildcard_problems
from tests.workflows.test_training_workflow import ENDPOINT_MODE, RESOURCES

ACCOUNT = iam.Account(partition="aws", region="us-east-1", account_id="123456789012")
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def targets(batch: bool) -> iam.WorkflowTargets:
    return iam.WorkflowTargets(
        job_name="Employee-Attrition",
        glue_job_name=RESOURCES.glue_job_name,
        sagemaker_role_arn=RESOURCES.sagemaker_role_arn,
        topic_arn=RESOURCES.topic_arn,
        function_arns=[RESOURCES.run_metadata_function_arn]
        + ([RESOURCES.rename_output_function_arn] if batch else [RESOURCES.endpoint_function_arn]),  # type: ignore[list-item]
        prediction_crawler_name=RESOURCES.prediction_crawler_name if batch else None,
        endpoint_name=None if batch else "training-endpoint",
    )


def every_policy() -> dict[str, dict[str, Any]]:
    """One policy from every builder, in each of its shapes."""
    return {
        "state machine (batch)": iam.state_machine_policy(ACCOUNT, targets(True), tracing=False),
        "state machine (endpoint, traced)": iam.state_machine_policy(ACCOUNT, targets(False), tracing=True),
        "sagemaker (byo, kms)": iam.sagemaker_execution_policy(
            ACCOUNT,
            iam.SageMakerTargets(
                "ext", "mod", "out", "arn:aws:ecr:us-east-1:123456789012:repository/byo-xgboost", "ep", KEY
            ),
        ),
        "sagemaker (built-in)": iam.sagemaker_execution_policy(
            ACCOUNT, iam.SageMakerTargets("ext", "mod", "out", None, None, None)
        ),
        "trigger": iam.trigger_function_policy(
            ACCOUNT,
            feature_bucket="features",
            data_prefixes=["data/train/", "data/score/"],
            state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:mlops-training",
            deployment_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:mlops-deployment",
            model_package_group="mlops-models",
            log_group="/aws/lambda/mlops-trigger",
        ),
        "scheduler": iam.scheduler_policy(
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:mlops-trigger",
            dead_letter_queue_arn="arn:aws:sqs:us-east-1:123456789012:mlops-schedule-dead-letters",
        ),
        "run metadata": iam.run_metadata_function_policy(
            ACCOUNT,
            job_name="attrition",
            metadata_bucket="meta",
            metadata_prefix="runs/",
            kms_key_arn=KEY,
            log_group="/aws/lambda/mlops-run-metadata",
        ),
        "endpoint": iam.endpoint_function_policy(
            ACCOUNT,
            job_name="attrition",
            endpoint_name="training-endpoint",
            log_group="/aws/lambda/mlops-endpoint",
        ),
        "rename output": iam.rename_output_function_policy(
            ACCOUNT,
            output_bucket="out",
            prefix="predictions/",
            kms_key_arn=None,
            log_group="/aws/lambda/mlops-rename",
        ),
        "tls-only bucket policy": iam.tls_only_bucket_policy("arn:aws:s3:::bucket"),
    }


@pytest.mark.parametrize("name", list(every_policy()))
def test_parliament_finds_nothing(name: str) -> None:
    assert lint(every_policy()[name]) == []


@pytest.mark.parametrize("name", list(every_policy()))
def test_no_wildcard_actions(name: str) -> None:
    assert wildcard_problems(every_policy()[name]) == []


def test_resource_star_only_where_aws_has_no_resource_level_permission() -> None:
    unscoped_ok = {
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
        "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "sagemaker:ListModelPackages",
    }  # fmt: skip
    for name, policy in every_policy().items():
        for statement in policy["Statement"]:
            if statement["Effect"] == "Allow" and statement["Resource"] == "*":
                assert set(statement["Action"]) <= unscoped_ok, name


def test_buckets_get_list_and_objects_get_reads_and_writes() -> None:
    policy = every_policy()["sagemaker (byo, kms)"]
    assert allows(policy, "s3:ListBucket", "arn:aws:s3:::ext")
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::ext")
    assert allows(policy, "s3:GetObject", "arn:aws:s3:::ext/train/train.csv")
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::ext/schema/columns.json")
    assert allows(policy, "s3:PutObject", "arn:aws:s3:::out/predictions/run=x/score.csv")
    assert not allows(policy, "s3:PutObject", "arn:aws:s3:::ext/train/train.csv")


def test_pass_role_is_one_role_to_sagemaker_only() -> None:
    policy = every_policy()["state machine (batch)"]
    (statement,) = [s for s in policy["Statement"] if "iam:PassRole" in s["Action"]]
    assert statement["Resource"] == RESOURCES.sagemaker_role_arn
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


@pytest.mark.parametrize("mode", ["Batch Transform", ENDPOINT_MODE])
def test_state_machine_role_grants_every_action_its_definition_calls(make_config, mode: str) -> None:
    config = make_config(endpoint_or_batch_transform=mode, job_name="Employee-Attrition")
    definition = wf.training_definition(config, RESOURCES)
    policy = iam.state_machine_policy(ACCOUNT, targets(config.is_batch), tracing=False)
    run = "employee-attrition-0a1b2c3d4e5f"  # SageMaker ARNs carry lowercased names
    resource_for = {
        "glue": f"arn:aws:glue:us-east-1:123456789012:job/{RESOURCES.glue_job_name}",
        "sagemaker:CreateHyperParameterTuningJob": f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{run}",
        "sagemaker:CreateTransformJob": f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{run}",
        "sagemaker:CreateModel": f"arn:aws:sagemaker:us-east-1:123456789012:model/{run}",
        "sagemaker:CreateEndpointConfig": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{run}",
        "sagemaker:DescribeEndpoint": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/training-endpoint",
        "glue:StartCrawler": f"arn:aws:glue:us-east-1:123456789012:crawler/{RESOURCES.prediction_crawler_name}",
        "sns:Publish": RESOURCES.topic_arn,
    }
    needed = called_actions(definition)
    assert needed, "the definition calls nothing?"
    for state, (primary, actions) in needed.items():
        task = definition["States"][state]
        for action in actions:
            if action.startswith("events:"):
                rule = "Tuning" if "HyperParameter" in task["Resource"] else "Transform"
                resource = f"arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMaker{rule}JobsRule"
            elif action == "lambda:InvokeFunction":
                resource = task["Parameters"]["FunctionName"]
            elif action.startswith("glue:") and action != "glue:StartCrawler":
                resource = resource_for["glue"]
            else:
                resource = resource_for.get(action) or resource_for[primary]
            assert allows(policy, action, resource), f"{state}: {action} on {resource}"
