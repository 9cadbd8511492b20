"""Building blocks shared by every state machine: retries, failure handling, notifications, timings.

Everything here returns plain dicts of Amazon States Language; nothing talks to AWS or Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

State = dict[str, Any]

# Names of the shared failure path. Every Task catches into CLASSIFY_FAILURE; failures the workflow explains
# itself go straight to NOTIFY_FAILURE, which publishes to SNS and then ends the run in RUN_FAILED with the
# same Error and Cause.
CLASSIFY_FAILURE = "Classify Failure"
NAME_STEP_FAILURE = "Name Step Failure"
NOTIFY_FAILURE = "Notify Failure"
RUN_FAILED = "Run Failed"
RUN_SUCCEEDED = "Run Succeeded"

# Errors worth retrying: the service was busy or briefly unavailable, not the job failing. Step Functions names
# an error differently per integration style, so each style has its own list:
# - optimized integrations (arn:aws:states:::<service>:<api>) report the AWS SDK for Java v1 exception of the
#   service (SageMaker.AmazonSageMakerException, Glue.AWSGlueException, SNS.AmazonSNSException) or a modeled
#   error of the API (Glue.ConcurrentRunsExceededException); Lambda's list is the one AWS recommends
#   (bp-lambda-serviceexception);
# - AWS SDK integrations (arn:aws:states:::aws-sdk:<service>:<api>) report `<Service>.<ErrorName>` from the
#   API reference, with an `Exception` suffix added where the name lacks one: the API's modeled errors and
#   the common errors (ThrottlingException, InternalFailure, ServiceUnavailable) every AWS API returns.
_SDK_COMMON = ["ThrottlingException", "InternalFailureException", "ServiceUnavailableException"]
TRANSIENT_ERRORS: dict[str, list[str]] = {
    "lambda": [
        # Raised by our own functions for throttling, 5xx and network errors of the AWS calls they make.
        "TransientAwsError",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    "sagemaker": ["SageMaker.AmazonSageMakerException"],
    "glue": [
        "Glue.AWSGlueException",
        # StartJobRun's modeled errors that pass with time.
        "Glue.ConcurrentRunsExceededException",
        "Glue.InternalServiceException",
        "Glue.OperationTimeoutException",
    ],
    "sns": ["SNS.AmazonSNSException", "SNS.ThrottledException", "SNS.InternalErrorException"],
    # StartExecution's SDK v1 exception, and its modeled error that passes with time.
    "states": ["StepFunctions.AWSStepFunctionsException", "StepFunctions.ExecutionLimitExceededException"],
    # ListModelPackages and DescribeModelPackage model no errors of their own.
    # DescribeEndpoint models no errors of its own.
    "aws-sdk:sagemaker": [f"SageMaker.{name}" for name in _SDK_COMMON],
    # StartCrawler's OperationTimeoutException; CrawlerRunningException is success and caught by the task.
    "aws-sdk:glue": ["Glue.OperationTimeoutException", *(f"Glue.{name}" for name in _SDK_COMMON)],
    # PutObject models no errors; S3 answers InternalError and SlowDown (503) when busy.
    "aws-sdk:s3": [
        "S3.InternalErrorException",
        "S3.SlowDownException",
        *(f"S3.{name}" for name in _SDK_COMMON),
    ],
}
_INTEGRATION = re.compile(r"arn:aws:states:::(?P<style>aws-sdk:)?(?P<service>[a-z0-9]+):")


def transient_errors(resource: str) -> list[str]:
    """The transient error names of the integration a Task's `resource` uses (its style and service)."""
    match = _INTEGRATION.match(resource)
    assert match, f"not a Step Functions service integration: {resource}"
    return TRANSIENT_ERRORS[(match["style"] or "") + match["service"]]


@dataclass(frozen=True)
class Timings:
    """Waits and retry pacing. Production defaults; tests shorten them to keep executed paths fast."""

    retry_interval_seconds: int = 5
    retry_max_attempts: int = 3
    retry_backoff_rate: float = 2.0
    poll_interval_seconds: int = 30


def retry(resource: str, timings: Timings) -> list[State]:
    """Retry the transient errors of the integration `resource` names, with exponential backoff."""
    return [
        {
            "ErrorEquals": transient_errors(resource),
            "IntervalSeconds": timings.retry_interval_seconds,
            "MaxAttempts": timings.retry_max_attempts,
            "BackoffRate": timings.retry_backoff_rate,
        }
    ]


def resource_tags(tags: dict[str, str], created_by: str) -> list[dict[str, str]]:
    """SageMaker Tags for what a workflow creates at run time, which Pulumi does not track; they find it for
    clean-up. `created_by` names the workflow."""
    merged = {**tags, "mlops:created-by": created_by}
    return [{"Key": key, "Value": value} for key, value in sorted(merged.items())]


def unique_name(job_name: str, result_path: str, next_state: str) -> State:
    """A Pass state that stores `<job_name>-<12 random hex digits>` at `<result_path>.name`.

    The last group of a random UUID: unique per execution, within SageMaker's 32 characters for tuning jobs
    (the config limits `job_name` to 18), with no function to call. `training_workflow.run_name` is the same
    rule for local runs; change both together.
    """
    return {
        "Type": "Pass",
        "Parameters": {
            "name.$": f"States.Format('{job_name}-{{}}', "
            "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4))"
        },
        "ResultPath": result_path,
        "Next": next_state,
    }


def when_present(path: str, *tests: dict[str, Any]) -> list[dict[str, Any]]:
    """The members of an `And` that apply `tests` to `path` only when it exists.

    Step Functions fails the whole execution with States.Runtime, past every Catch and notification, when a
    Choice compares a path that is not there; `IsPresent` is the one test that may meet a missing path, and
    `And` stops at its first false member. So any value that may be absent (execution input, optional API
    fields) is tested for presence first.
    """
    return [{"Variable": path, "IsPresent": True}, *({"Variable": path, **test} for test in tests)]


def catch_all() -> list[State]:
    """Send any unhandled error, with its Error and Cause, to the notification and the Fail state."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": CLASSIFY_FAILURE}]


def task(
    resource: str,
    parameters: dict[str, Any],
    *,
    next_state: str | None,
    timings: Timings,
    timeout_seconds: int,
    result_path: str | None = None,
    result_selector: dict[str, Any] | None = None,
) -> State:
    """A Task with the retries, catch and timeout every Task in this project carries."""
    state: State = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": parameters,
        "TimeoutSeconds": timeout_seconds,
        "Retry": retry(resource, timings),
        "Catch": catch_all(),
        "ResultPath": result_path,
    }
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def lambda_task(
    function_arn: str,
    payload: dict[str, Any],
    *,
    next_state: str,
    timings: Timings,
    timeout_seconds: int,
    result_path: str | None,
) -> State:
    """Invoke a function and keep only its returned payload."""
    return task(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": function_arn, "Payload": payload},
        next_state=next_state,
        timings=timings,
        timeout_seconds=timeout_seconds,
        result_path=result_path,
        result_selector={"result.$": "$.Payload"},
    )


def fail_with(error: str, cause_format: str, *args: str, next_state: str = NOTIFY_FAILURE) -> State:
    """A Pass state that records a failure of our own in `$.error`, in the shape a Catch produces."""
    quoted = ", ".join(args)
    cause = f"States.Format('{cause_format}', {quoted})" if args else None
    parameters: dict[str, Any] = {"Error": error}
    if cause:
        parameters["Cause.$"] = cause
    else:
        parameters["Cause"] = cause_format
    return {"Type": "Pass", "Parameters": parameters, "ResultPath": "$.error", "Next": next_state}


def failure_states(topic_arn: str, workflow: str, timings: Timings) -> dict[str, State]:
    """Publish what went wrong to the topic, then fail the execution with the same Error and Cause."""
    return {
        # Error names from services and functions (e.g. Glue.ConcurrentRunsExceededException) pass through as
        # they are; the States.* ones are reserved for Step Functions itself and cannot be raised again by a Fail
        # state, so they are reported as StepFailed with the original name kept in the cause.
        CLASSIFY_FAILURE: {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.error.Error", "StringMatches": "States.*", "Next": NAME_STEP_FAILURE}
            ],
            "Default": NOTIFY_FAILURE,
        },
        NAME_STEP_FAILURE: {
            "Type": "Pass",
            "Parameters": {
                "Error": "StepFailed",
                "Cause.$": "States.Format('{}: {}', $.error.Error, $.error.Cause)",
            },
            "ResultPath": "$.error",
            "Next": NOTIFY_FAILURE,
        },
        NOTIFY_FAILURE: {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": topic_arn,
                "Subject": f"{workflow} run failed"[:100],
                "Message.$": "States.Format('Execution {} failed.\nError: {}\nCause: {}', "
                "$$.Execution.Id, $.error.Error, $.error.Cause)",
            },
            "TimeoutSeconds": 60,
            "Retry": retry("arn:aws:states:::sns:publish", timings),
            # A failed notification must not hide the original error: fail the run either way.
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.notification_error", "Next": RUN_FAILED}
            ],
            "ResultPath": None,
            "Next": RUN_FAILED,
        },
        RUN_FAILED: {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    }
