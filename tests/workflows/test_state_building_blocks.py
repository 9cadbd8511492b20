"""The shared failure path and retry pacing every workflow gets (builders/state_machines/states.py), as a
user meets them: the notification SNS accepts, the error and cause a failed run reports, the retry schedule."""

from __future__ import annotations

import pytest

from mlops_component.builders.state_machines import states
from mlops_component.builders.state_machines.states import Timings


def test_the_failure_notification_subject_fits_sns_limit() -> None:
    # SNS rejects a Subject over 100 characters, which would hide the original failure behind a publish error.
    long_name = "a-very-long-name-prefix-for-a-workflow-that-goes-on-and-on " * 3
    notify = states.failure_states("arn:topic", long_name, Timings())[states.NOTIFY_FAILURE]
    assert notify["Parameters"]["Subject"] == f"{long_name} run failed"[:100]
    assert len(notify["Parameters"]["Subject"]) == 100
    short = states.failure_states("arn:topic", "p training workflow", Timings())[states.NOTIFY_FAILURE]
    assert short["Parameters"]["Subject"] == "p training workflow run failed"
    assert short["Parameters"]["TopicArn"] == "arn:topic"


def test_production_retries_wait_five_seconds_then_double_three_times() -> None:
    (rule,) = states.retry("arn:aws:states:::sagemaker:createModel", Timings())
    assert (rule["IntervalSeconds"], rule["MaxAttempts"], rule["BackoffRate"]) == (5, 3, 2.0)
    assert Timings().poll_interval_seconds == 30


def test_a_failure_of_our_own_reads_like_a_caught_error() -> None:
    plain = states.fail_with("InvalidInput", "Expected a train file")
    assert plain == {
        "Type": "Pass",
        "Parameters": {"Error": "InvalidInput", "Cause": "Expected a train file"},
        "ResultPath": "$.error",
        "Next": states.NOTIFY_FAILURE,
    }
    formatted = states.fail_with("EndpointFailed", "endpoint {} failed: {}", "$.run.name", "$.reason")
    assert formatted["Parameters"] == {
        "Error": "EndpointFailed",
        "Cause.$": "States.Format('endpoint {} failed: {}', $.run.name, $.reason)",
    }


def test_a_task_without_a_next_state_ends_the_run() -> None:
    last = states.task(
        "arn:aws:states:::sns:publish", {}, next_state=None, timings=Timings(), timeout_seconds=9
    )
    assert last["End"] is True and "Next" not in last
    assert last["TimeoutSeconds"] == 9 and last["ResultPath"] is None and "ResultSelector" not in last


def test_only_service_integrations_have_transient_errors() -> None:
    with pytest.raises(AssertionError, match="not a Step Functions service integration"):
        states.transient_errors("arn:aws:lambda:us-east-1:123456789012:function:f")
