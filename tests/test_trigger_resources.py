"""What starts runs, under recording mocks: the trigger's environment, the EventBridge rule on the stack's model
package approvals, the permission scoped to that rule, and the optional EventBridge Scheduler schedules with their
role, retry policy and dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions import trigger
from mlops_component import MlOpsPipeline
from mlops_component.builders import start_events
from mlops_component.tools import check
from mlops_component.tools.iam_lint import lint
from tests.iam_checks import evaluate, without_action
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, run_program

GROUP = "mlops-test-models"
DEPLOYMENT_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-deployment"
SCHEDULES = {"retrain_schedule": "cron(0 2 ? * MON *)", "score_schedule": "rate(6 hours)"}


def deploy(config: Any) -> RecordingMocks:
    mocks, _ = run_program(lambda: MlOpsPipeline("mlops", config).bucket_names)
    return mocks


def _trigger(mocks: RecordingMocks) -> Any:
    return next(
        r for r in mocks.of_type("aws:lambda/function:Function") if r.inputs["name"] == "mlops-test-trigger"
    )


def test_the_trigger_knows_the_deployment_workflow_the_group_and_the_feature_store(make_config) -> None:
    mocks = deploy(make_config())
    variables = _trigger(mocks).inputs["environment"]["variables"]
    feature_store = mocks.named("mlops-trigger-notification").inputs["bucket"]

    assert variables["DEPLOYMENT_STATE_MACHINE_ARN"] == DEPLOYMENT_ARN
    assert variables["MODEL_PACKAGE_GROUP"] == GROUP
    assert variables["FEATURE_BUCKET"] == feature_store
    policy = json.loads(mocks.named("mlops-trigger-function-policy").inputs["policy"])
    assert evaluate(policy, "states:StartExecution", DEPLOYMENT_ARN) == "Allow"
    package = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/{GROUP}/3"
    assert evaluate(policy, "sagemaker:DescribeModelPackage", package) == "Allow"
    other = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/other-models/3"
    assert evaluate(policy, "sagemaker:DescribeModelPackage", other) != "Allow"


def test_approvals_of_the_stacks_group_invoke_the_trigger_through_a_permission_scoped_to_the_rule(
    make_config,
) -> None:
    mocks = deploy(make_config())
    rule = mocks.named("mlops-trigger-approvals")
    permission = mocks.named("mlops-trigger-approvals-invoke")
    target = mocks.named("mlops-trigger-approvals-target")
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:mlops-test-trigger"

    assert rule.inputs["name"] == "mlops-test-model-approvals"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": [GROUP], "ModelApprovalStatus": ["Approved"]},
    }
    # Only this rule may invoke the function for EventBridge.
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert (
        permission.inputs["sourceArn"]
        == f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/mlops-test-model-approvals"
    )
    assert permission.inputs["function"] == target.inputs["arn"] == function_arn
    assert target.inputs["rule"] == "mlops-test-model-approvals"


def test_no_schedules_unless_configured(make_config) -> None:
    mocks = deploy(make_config())
    assert mocks.of_type("aws:scheduler/schedule:Schedule") == []
    assert mocks.of_type("aws:sqs/queue:Queue") == []
    assert not [
        r for r in mocks.of_type("aws:iam/role:Role") if r.inputs.get("name") == "mlops-test-scheduler"
    ]


def test_schedules_invoke_the_trigger_with_their_rule_and_scheduled_time(make_config) -> None:
    mocks = deploy(make_config(**SCHEDULES))
    function_arn = mocks.named("mlops-trigger-approvals-target").inputs["arn"]
    role = next(
        r for r in mocks.of_type("aws:iam/role:Role") if r.inputs.get("name") == "mlops-test-scheduler"
    )
    queue = mocks.named("mlops-trigger-schedules-dead-letters")

    schedules = {r.inputs["name"]: r.inputs for r in mocks.of_type("aws:scheduler/schedule:Schedule")}
    assert set(schedules) == {"mlops-test-retrain-schedule", "mlops-test-score-schedule"}
    for kind, expression in (
        ("retrain", SCHEDULES["retrain_schedule"]),
        ("score", SCHEDULES["score_schedule"]),
    ):
        schedule = schedules[f"mlops-test-{kind}-schedule"]
        assert schedule["scheduleExpression"] == expression
        assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
        target = schedule["target"]
        assert target["arn"] == function_arn
        assert target["roleArn"].endswith(":role/mlops-test-scheduler")
        assert json.loads(target["input"]) == {
            "mlops-schedule": kind,
            "scheduled-time": "<aws.scheduler.scheduled-time>",
        }
        assert target["retryPolicy"] == {"maximumRetryAttempts": 10, "maximumEventAgeInSeconds": 3600}
        assert target["deadLetterConfig"] == {
            "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:mlops-test-schedule-dead-letters"
        }
    assert queue.inputs["sqsManagedSseEnabled"] is True
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_only_the_retrain_schedule_in_endpoint_mode(make_config) -> None:
    mocks = deploy(
        make_config(
            endpoint_or_batch_transform="Create Model Endpoint Config",
            retrain_schedule=SCHEDULES["retrain_schedule"],
        )
    )
    (schedule,) = mocks.of_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["name"] == "mlops-test-retrain-schedule"


def test_the_scheduler_role_may_only_invoke_the_trigger_and_park_failures(make_config) -> None:
    mocks = deploy(make_config(**SCHEDULES))
    policy = json.loads(mocks.named("mlops-trigger-schedules-policy").inputs["policy"])
    function_arn = mocks.named("mlops-trigger-approvals-target").inputs["arn"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:mlops-test-schedule-dead-letters"
    needed = [("lambda:InvokeFunction", function_arn), ("sqs:SendMessage", queue_arn)]

    assert lint(policy) == []
    assert all(evaluate(policy, action, resource) == "Allow" for action, resource in needed)
    other_function = function_arn.replace("mlops-test-trigger", "mlops-test-endpoint")
    assert evaluate(policy, "lambda:InvokeFunction", other_function) != "Allow"
    for action, resource in needed:  # each action is needed: without it, its request is denied
        assert evaluate(without_action(policy, action), action, resource) != "Allow"


@pytest.mark.parametrize("kind", ["retrain", "score"])
def test_the_trigger_accepts_what_the_schedules_send(kind: start_events.Schedule) -> None:
    # Scheduler replaces the keyword with the scheduled time before invoking the function.
    sent = json.loads(
        json.dumps(start_events.schedule_input(kind)).replace(
            start_events.SCHEDULED_TIME, "2026-12-01T02:00:00Z"
        )
    )
    assert trigger.parse_schedule(sent) == (kind, "2026-12-01T02:00:00Z")
    assert trigger.PACKAGE_STATE_CHANGE == start_events.PACKAGE_STATE_CHANGE


def test_a_stack_with_schedules_passes_the_policy_pack_and_the_lint(make_config) -> None:
    resources = check.as_policy_resources(check.build(make_config(**SCHEDULES)))
    assert {r.type for r in resources} >= {"aws:scheduler/schedule:Schedule", "aws:sqs/queue:Queue"}
    assert [v.line() for v in check.check(resources)] == []
