"""Create or update the real-time endpoint with the endpoint config the workflow just created.

The endpoint is looked up by its exact name with DescribeEndpoint (never by listing endpoints), and its status
decides what happens:

| Status | Action |
|---|---|
| not found | CreateEndpoint, with the deployment's tags (workflow-created resources are not in Pulumi's state) |
| InService, OutOfService | UpdateEndpoint to the new config (SageMaker shifts traffic without downtime) |
| Creating, Updating, SystemUpdating, RollingBack, Deleting | `EndpointBusy`, which the state machine retries with backoff |
| Failed | `EndpointFailed`, not retried. SageMaker allows only DeleteEndpoint on a failed endpoint, and deleting a user-facing endpoint is an operator's decision, never a silent side effect: the message says how to delete it, after which the next run creates it |
| UpdateRollbackFailed (or a status this code does not know) | `EndpointFailed`: the endpoint serves a mix of old and new configs and needs an operator (see SageMaker's rolling deployment docs) |

Create/Update can also raise `EndpointBusy` when another run changed the endpoint between our Describe and the
call, and `EndpointConfigNotFound` (retryable) when SageMaker cannot see a config created moments ago.

Retrying after a lost response is safe: if the endpoint already runs, or is already moving to, the requested
config, nothing is called again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from botocore.exceptions import ClientError

from functions.common import (
    SAGEMAKER_NAME,
    ConfigurationError,
    FunctionError,
    aws_errors,
    client,
    error_code,
    error_message,
    get_logger,
    lambda_handler,
    name_field,
    optional_env,
)
from functions.common import fields as log_fields

log = get_logger(__name__)

Action = Literal["create", "update"]
UPDATABLE = frozenset({"InService", "OutOfService"})
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
# SageMaker says "Could not find endpoint configuration"; moto says "endpoint_config".
_CONFIG_NOT_FOUND = re.compile(r"Could not find endpoint[ _]config")


class EndpointBusy(FunctionError):
    """The endpoint is being created, updated, maintained, rolled back or deleted. Retry later."""

    retryable = True


class EndpointConfigNotFound(FunctionError):
    """SageMaker does not see the endpoint config. Right after CreateEndpointConfig this can be its eventually
    consistent read (the CreateEndpoint docs say to retry), so the state machine retries a few times."""

    retryable = True


class EndpointFailed(FunctionError):
    """The endpoint is in a state the workflow must not resolve by itself (Failed, UpdateRollbackFailed)."""


def resource_tags(raw: str) -> list[dict[str, str]]:
    """SageMaker `Tags` from the `RESOURCE_TAGS` JSON object (`{"team": "ml"}`)."""
    try:
        tags = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"RESOURCE_TAGS is not valid JSON: {error}") from None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ConfigurationError('RESOURCE_TAGS must be a JSON object of strings, e.g. {"team": "ml"}')
    bad = [k for k, v in tags.items() if not 1 <= len(k) <= 128 or len(v) > 256 or k.startswith("aws:")]
    if bad:
        raise ConfigurationError(f"RESOURCE_TAGS has invalid tag keys or values (SageMaker limits): {bad}")
    if len(tags) > 50:
        raise ConfigurationError(f"RESOURCE_TAGS has {len(tags)} tags; SageMaker allows 50 per resource")
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def describe_endpoint(sagemaker: Any, endpoint_name: str) -> Mapping[str, Any] | None:
    """The DescribeEndpoint response for the exact name, or None if no such endpoint exists."""
    with aws_errors(f"sagemaker:DescribeEndpoint {endpoint_name}"):
        try:
            response: Mapping[str, Any] = sagemaker.describe_endpoint(EndpointName=endpoint_name)
            return response
        except ClientError as error:
            # SageMaker reports a missing endpoint as a ValidationException, not a ResourceNotFound.
            if error_code(error) == "ValidationException" and "Could not find endpoint" in error_message(
                error
            ):
                return None
            raise


def _already_requested(endpoint: Mapping[str, Any], config_name: str) -> bool:
    """Whether the endpoint runs, or is being moved to, `config_name` (a retry after a lost response)."""
    pending = endpoint.get("PendingDeploymentSummary", {}).get("EndpointConfigName")
    return bool((pending or endpoint.get("EndpointConfigName")) == config_name)


def deploy_endpoint(
    sagemaker: Any, endpoint_name: str, config_name: str, tags: list[dict[str, str]]
) -> Action:
    """Create the endpoint with `config_name`, or update it to `config_name`; returns which it did."""
    endpoint = describe_endpoint(sagemaker, endpoint_name)
    if endpoint is None:
        _call_unless_busy(
            "sagemaker:CreateEndpoint",
            endpoint_name,
            lambda: sagemaker.create_endpoint(
                EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags
            ),
        )
        log.info("creating endpoint", extra=log_fields(endpoint=endpoint_name, config=config_name))
        return "create"

    status = endpoint["EndpointStatus"]
    if status == "Failed":
        raise EndpointFailed(
            f"endpoint {endpoint_name} is Failed ({endpoint.get('FailureReason') or 'no FailureReason given'}). "
            "SageMaker allows only DeleteEndpoint on a failed endpoint, and the workflow does not delete endpoints. "
            f"Fix the cause, run `aws sagemaker delete-endpoint --endpoint-name {endpoint_name}`, then start the "
            "workflow again: it will create the endpoint."
        )
    if status not in UPDATABLE | BUSY:
        raise EndpointFailed(
            f"endpoint {endpoint_name} is {status}, which needs an operator before it can be updated "
            f"({endpoint.get('FailureReason') or 'no FailureReason given'}); see 'Rolling deployments' in the "
            "SageMaker developer guide, then start the workflow again"
        )
    if _already_requested(endpoint, config_name):
        log.info(
            "endpoint already on the requested config",
            extra=log_fields(endpoint=endpoint_name, config=config_name, status=status),
        )
        return "create" if status == "Creating" else "update"
    if status in BUSY:
        raise EndpointBusy(
            f"endpoint {endpoint_name} is {status}; it can be updated once it is InService again"
        )
    _call_unless_busy(
        "sagemaker:UpdateEndpoint",
        endpoint_name,
        lambda: sagemaker.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name),
    )
    log.info(
        "updating endpoint",
        extra=log_fields(
            endpoint=endpoint_name, config=config_name, previous_config=endpoint.get("EndpointConfigName")
        ),
    )
    return "update"


def _call_unless_busy(action: str, endpoint_name: str, call: Callable[[], object]) -> None:
    """Make a create/update call; the endpoint changing state under us (another run) means busy, not failed."""
    with aws_errors(f"{action} {endpoint_name}"):
        try:
            call()
        except ClientError as error:
            message = error_message(error)
            if error_code(error) != "ValidationException":
                raise
            # "Cannot create already existing endpoint" / "Cannot update in-progress endpoint": another run got
            # there between our DescribeEndpoint and this call. Retrying re-reads the status and decides again.
            if "already existing" in message or "in-progress" in message:
                raise EndpointBusy(f"{action} {endpoint_name}: {message}") from error
            if _CONFIG_NOT_FOUND.search(message):
                raise EndpointConfigNotFound(
                    f"{action} {endpoint_name}: {message} A config created moments ago can be briefly invisible; "
                    "if this persists, check that the workflow's CreateEndpointConfig step succeeded"
                ) from error
            raise


@lambda_handler
def handler(event: dict[str, Any]) -> dict[str, Any]:
    """Lambda entry point (`functions.endpoint.handler`). Input: `{"EndpointName", "EndpointConfigName"}`."""
    rule = "letters, digits and single hyphens"
    endpoint_name = name_field(
        event, "EndpointName", path="", pattern=SAGEMAKER_NAME, max_length=63, rule=rule
    )
    config_name = name_field(
        event, "EndpointConfigName", path="", pattern=SAGEMAKER_NAME, max_length=63, rule=rule
    )
    tags = resource_tags(optional_env("RESOURCE_TAGS", "{}"))
    action = deploy_endpoint(client("sagemaker"), endpoint_name, config_name, tags)
    return {"EndpointName": endpoint_name, "action": action}
