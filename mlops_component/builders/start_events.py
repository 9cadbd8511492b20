"""The events that start runs besides landed data, as the trigger function receives them (functions/trigger.py):
the EventBridge pattern of model package approvals, and the input EventBridge Scheduler sends on a schedule."""

from __future__ import annotations

from typing import Any, Literal

PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
Schedule = Literal["retrain", "score"]
# Scheduler replaces this keyword with the time the invocation was scheduled for; the trigger names the run
# after it, so Scheduler's retries of one invocation start one run.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def approval_event_pattern(model_package_group: str) -> dict[str, Any]:
    """Approvals of packages in `model_package_group` (SageMaker sends one state change event per change)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [PACKAGE_STATE_CHANGE],
        "detail": {"ModelPackageGroupName": [model_package_group], "ModelApprovalStatus": ["Approved"]},
    }


def schedule_input(schedule: Schedule) -> dict[str, str]:
    """What a schedule sends the trigger: which rule to run, and when it was scheduled."""
    return {"mlops-schedule": schedule, "scheduled-time": SCHEDULED_TIME}
