"""The pure policy builders: parliament-clean, no wildcard actions, and exactly what the workflow calls."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_component.builders import iam
from mlops_component.builders.state_machines import deployment_workflow as dw
from mlops_component.builders.state_machines import training_workflow as wf
from tests.iam_checks import allows, called_actions, evaluate, lint, wildcard_problems
from tests.workflows.test_deployment_workflow import RESOURCES as DEPLOYMENT
from tests.workflows.test_training_workflow import ENDPOINT_MODE, RESOURCES

ACCOUNT = iam.Account(partition="aws", region="us-east-1", account_id="123456789012")
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def targets(automatic: bool) -> iam.WorkflowTargets:
    return iam.WorkflowTargets(
        job_name="Employee-Attrition",
        glue_job_name=RESOURCES.glue_job_name,
        sagemaker_role_arn=RESOURCES.sagemaker_role_arn,
        topic_arn=RESOURCES.topic_arn,
        function_arns=[RESOURCES.run_metadata_function_arn, RESOURCES.register_model_function_arn],
        deployment_state_machine_arn=RESOURCES.deployment_state_machine_arn if automatic else None,
        metadata_bucket=RESOURCES.metadata_bucket,
    )


def deployment_targets(batch: bool, kms: str | None = None) -> iam.DeploymentTargets:
    return iam.DeploymentTargets(
        job_name="Employee-Attrition",
        model_package_group=DEPLOYMENT.model_package_group,
        sagemaker_role_arn=DEPLOYMENT.sagemaker_role_arn,
        topic_arn=DEPLOYMENT.topic_arn,
        function_arns=[DEPLOYMENT.rename_output_function_arn if batch else DEPLOYMENT.endpoint_function_arn],  # type: ignore[list-item]
        metadata_bucket=DEPLOYMENT.metadata_bucket,
        kms_key_arn=kms,
        glue_job_name=DEPLOYMENT.glue_job_name if batch else None,
        prediction_crawler_name=DEPLOYMENT.prediction_crawler_name if batch else None,
        endpoint_name=None if batch else "training-endpoint",
    )


def every_policy() -> dict[str, dict[str, Any]]:
    """One policy from every builder, in each of its shapes."""
    return {
        "state machine (automatic)": iam.state_machine_policy(ACCOUNT, targets(True), tracing=False),
        "state machine (manual, traced)": iam.state_machine_policy(ACCOUNT, targets(False), tracing=True),
        "deployment (batch, kms)": iam.deployment_workflow_policy(
            ACCOUNT, deployment_targets(True, KEY), tracing=False
        ),
        "deployment (endpoint, traced)": iam.deployment_workflow_policy(
            ACCOUNT, deployment_targets(False), tracing=True
        ),
        "register model": iam.register_model_function_policy(
            ACCOUNT,
            model_package_group="mlops-test-models",
            models_bucket="mod",
            models_prefix="tuning/",
            metadata_bucket="meta",
            quality_prefix="model-quality/",
            kms_key_arn=KEY,
            log_group="/aws/lambda/mlops-register-model",
        ),
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


@pytest.mark.parametrize("name", [name for name in every_policy() if name.startswith("sagemaker")])
def test_sagemaker_jobs_publish_metrics_only_to_sagemakers_namespaces(name: str) -> None:
    # PutMetricData has no resource-level permissions: the namespace condition is all that scopes it.
    policy = every_policy()[name]
    for namespace, decision in (("/aws/sagemaker/TrainingJobs", "Allow"), ("AWS/Billing", "ImplicitDeny")):
        assert (
            evaluate(policy, "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace}) == decision
        )


@pytest.mark.parametrize(
    "name", ["state machine (automatic)", "deployment (batch, kms)", "deployment (endpoint, traced)"]
)
def test_pass_role_is_one_role_to_sagemaker_only(name: str) -> None:
    # The tuning job (training) and the model (deployment) run as the SageMaker role: each workflow passes it.
    policy = every_policy()[name]
    (statement,) = [s for s in policy["Statement"] if "iam:PassRole" in s["Action"]]
    assert statement["Resource"] == RESOURCES.sagemaker_role_arn
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def _resource_for(action: str, task: dict[str, Any], run: str) -> str:
    """The ARN a Task's call is authorized against (SageMaker ARNs carry lowercased names)."""
    arn = "arn:aws:{}:us-east-1:123456789012:{}".format
    if action.startswith("events:"):
        rule = {
            "HyperParameter": "SageMakerTuningJobs",
            "Transform": "SageMakerTransformJobs",
            "startExecution": "StepFunctionsExecution",
        }
        kind = next(v for k, v in rule.items() if k in task["Resource"])
        return arn("events", f"rule/StepFunctionsGetEventsFor{kind}Rule")
    if action == "lambda:InvokeFunction":
        return task["Parameters"]["FunctionName"]
    if action == "states:StartExecution":
        return task["Parameters"]["StateMachineArn"]
    if action in ("states:DescribeExecution", "states:StopExecution"):
        machine = task["Parameters"]["StateMachineArn"]
        return machine.replace(":stateMachine:", ":execution:") + f":{run}"
    if action.startswith("glue:") and action != "glue:StartCrawler":
        return arn("glue", f"job/{RESOURCES.glue_job_name}")
    if action == "sns:Publish":
        return RESOURCES.topic_arn
    if action == "s3:PutObject":
        key = task["Parameters"]["Key.$"].split("'")[1].replace("{}", run)
        return f"arn:aws:s3:::{task['Parameters']['Bucket']}/{key}"
    kinds = {
        "HyperParameterTuningJob": "hyper-parameter-tuning-job",
        "TransformJob": "transform-job",
        "EndpointConfig": "endpoint-config",
        "ModelPackage": "model-package",
        "Model": "model",
        "Endpoint": "endpoint",
        "Crawler": "crawler",
    }
    if action == "glue:StartCrawler":
        return arn("glue", f"crawler/{DEPLOYMENT.prediction_crawler_name}")
    if action in ("sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"):
        return arn("sagemaker", f"model-package/{DEPLOYMENT.model_package_group}/3")
    if action == "sagemaker:DescribeEndpoint":
        return arn("sagemaker", "endpoint/training-endpoint")
    primary = task["Resource"].split(":")[-1].split(".")[0]
    kind = next(v for k, v in kinds.items() if k.lower() in primary.lower())
    return arn("sagemaker", f"{kind}/{run}")


@pytest.mark.parametrize("approval", ["automatic", "manual"])
def test_state_machine_role_grants_every_action_its_definition_calls(make_config, approval: str) -> None:
    config = make_config(model_approval_mode=approval, job_name="Employee-Attrition")
    definition = wf.training_definition(config, RESOURCES)
    policy = iam.state_machine_policy(ACCOUNT, targets(approval == "automatic"), tracing=False)
    needed = called_actions(definition)
    assert ("states:StartExecution" in {a for _, (_, acts) in needed.items() for a in acts}) == (
        approval == "automatic"
    )
    for state, (_, actions) in needed.items():
        for action in actions:
            resource = _resource_for(action, definition["States"][state], "employee-attrition-0a1b2c3d4e5f")
            assert allows(policy, action, resource), f"{state}: {action} on {resource}"


@pytest.mark.parametrize("mode", ["Batch Transform", ENDPOINT_MODE])
def test_deployment_role_grants_every_action_its_definition_calls(make_config, mode: str) -> None:
    config = make_config(endpoint_or_batch_transform=mode, job_name="Employee-Attrition")
    definition = dw.deployment_definition(config, DEPLOYMENT)
    policy = iam.deployment_workflow_policy(ACCOUNT, deployment_targets(config.is_batch), tracing=False)
    needed = called_actions(definition)
    assert needed, "the definition calls nothing?"
    for state, (_, actions) in needed.items():
        for action in actions:
            resource = _resource_for(action, definition["States"][state], "employee-attrition-0a1b2c3d4e5f")
            if action == "sagemaker:ListModelPackages":
                resource = "*"  # no resource-level permissions
            assert allows(policy, action, resource), f"{state}: {action} on {resource}"


def test_the_deployment_role_reads_only_its_groups_packages_and_writes_only_records() -> None:
    policy = every_policy()["deployment (batch, kms)"]
    other = "arn:aws:sagemaker:us-east-1:123456789012:model-package/someone-elses-models/1"
    assert not allows(policy, "sagemaker:DescribeModelPackage", other)
    assert not allows(policy, "sagemaker:CreateModelPackage", other)
    assert not allows(
        policy,
        "sagemaker:UpdateModelPackage",
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{DEPLOYMENT.model_package_group}/1",
    )
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{DEPLOYMENT.metadata_bucket}/runs/x.json")


# AWS's policy for a state machine that logs to CloudWatch Logs ("IAM policies for logging to CloudWatch Logs"):
# Step Functions checks it when the state machine is created or updated with a logging configuration, and refuses
# with "The state machine IAM Role is not authorized to access the Log Destination" without it.
LOG_DELIVERY = (
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
)  # fmt: skip
# AWS's policy for a state machine with X-Ray tracing enabled ("X-Ray" IAM policy template): the segments are sent
# as the state machine's role.
TRACING = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)


@pytest.mark.parametrize(
    "name",
    ["state machine (automatic)", "state machine (manual, traced)", "deployment (batch, kms)",
     "deployment (endpoint, traced)"],
)  # fmt: skip
def test_both_workflows_may_deliver_their_execution_logs_and_send_traces_only_when_traced(name: str) -> None:
    # Every state machine is created logging ALL events to its log group; tracing follows enable_xray_tracing.
    policy = every_policy()[name]
    assert [a for a in LOG_DELIVERY if evaluate(policy, a, "*") != "Allow"] == []
    traced = [a for a in TRACING if evaluate(policy, a, "*") == "Allow"]
    assert traced == (list(TRACING) if name.endswith("traced)") else [])
