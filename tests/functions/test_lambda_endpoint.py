"""Create or update the endpoint. moto models CreateEndpoint, DescribeEndpoint and tags, so the create path runs
against it; moto has no UpdateEndpoint and every moto endpoint is InService at once, so the update, busy and
failed paths use a botocore Stubber with responses in the exact API shape."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber

from functions import common, endpoint
from functions.common import AwsCallFailed, ConfigurationError, InvalidEvent
from functions.endpoint import EndpointBusy, EndpointConfigNotFound, EndpointFailed
from tests.functions.lambda_events import ACCOUNT, load_api_response, load_event

ENDPOINT = "training-endpoint"
CONFIG = "employee-attrition-3f9c2a1b0d4e"  # sfn_endpoint.json's new config
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{ENDPOINT}"
TAGS = {"team": "ml-platform", "mlops:name-prefix": "mlops-test"}


@pytest.fixture
def tagged(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    monkeypatch.setenv("RESOURCE_TAGS", json.dumps(TAGS))
    return [{"Key": "mlops:name-prefix", "Value": "mlops-test"}, {"Key": "team", "Value": "ml-platform"}]


@pytest.fixture
def sagemaker(stubbed: Callable[[str], Stubber]) -> Stubber:
    return stubbed("sagemaker")


def described(status: str, **changes: Any) -> dict[str, Any]:
    """A DescribeEndpoint response for the existing endpoint in `status`."""
    return {
        **load_api_response("sagemaker/describe_endpoint_in_service.json"),
        "EndpointStatus": status,
        **changes,
    }


def expect_describe(stub: Stubber, response: dict[str, Any]) -> None:
    stub.add_response("describe_endpoint", response, {"EndpointName": ENDPOINT})


def expect_not_found(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message=f'Could not find endpoint "{ENDPOINT_ARN}".',
        http_status_code=400,
        expected_params={"EndpointName": ENDPOINT},
    )


# --- moto: the create path, end to end ------------------------------------------------------------------------------


def test_absent_endpoint_is_created_with_the_deployment_tags(
    aws: None, tagged: list[dict[str, str]], context: Any
) -> None:
    sagemaker = common.client("sagemaker")
    sagemaker.create_model(
        ModelName=CONFIG,
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/mlops-test-sagemaker",
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/byo-xgboost:1", "ModelDataUrl": "s3://m/model.tar.gz"},
    )  # fmt: skip
    sagemaker.create_endpoint_config(
        EndpointConfigName=CONFIG,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": CONFIG, "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}
        ],
    )  # fmt: skip

    result = endpoint.handler(load_event("sfn_endpoint.json"), context)

    assert result == {"EndpointName": ENDPOINT, "action": "create"}
    created = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert created["EndpointConfigName"] == CONFIG
    assert (
        sorted(sagemaker.list_tags(ResourceArn=created["EndpointArn"])["Tags"], key=lambda t: t["Key"])
        == tagged
    )

    # A retry after a lost response finds the endpoint already on this config and calls nothing more.
    assert endpoint.handler(load_event("sfn_endpoint.json"), context) == {
        "EndpointName": ENDPOINT,
        "action": "update",
    }


def test_missing_endpoint_config_is_retryable_and_named(aws: None, context: Any) -> None:
    # SageMaker reads endpoint configs with eventual consistency, so "not found" right after creating one is retried.
    with pytest.raises(
        EndpointConfigNotFound, match=rf"sagemaker:CreateEndpoint {ENDPOINT}: .*{CONFIG}"
    ) as raised:
        endpoint.handler(load_event("sfn_endpoint.json"), context)
    assert raised.value.retryable


# --- Stubber: every status ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["InService", "OutOfService"])
def test_existing_endpoint_is_updated(sagemaker: Stubber, context: Any, status: str) -> None:
    expect_describe(sagemaker, described(status))
    sagemaker.add_response(
        "update_endpoint",
        {"EndpointArn": ENDPOINT_ARN},
        {"EndpointName": ENDPOINT, "EndpointConfigName": CONFIG},
    )

    assert endpoint.handler(load_event("sfn_endpoint.json"), context) == {
        "EndpointName": ENDPOINT,
        "action": "update",
    }
    sagemaker.assert_no_pending_responses()


def test_absent_endpoint_is_created_by_exact_name(
    sagemaker: Stubber, context: Any, tagged: list[dict[str, str]]
) -> None:
    expect_not_found(sagemaker)
    sagemaker.add_response(
        "create_endpoint",
        {"EndpointArn": ENDPOINT_ARN},
        {"EndpointName": ENDPOINT, "EndpointConfigName": CONFIG, "Tags": tagged},
    )

    assert endpoint.handler(load_event("sfn_endpoint.json"), context) == {
        "EndpointName": ENDPOINT,
        "action": "create",
    }
    sagemaker.assert_no_pending_responses()


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
def test_busy_endpoint_raises_a_retryable_error_and_changes_nothing(
    sagemaker: Stubber, context: Any, status: str
) -> None:
    expect_describe(sagemaker, described(status))

    with pytest.raises(EndpointBusy, match=f"endpoint {ENDPOINT} is {status}") as raised:
        endpoint.handler(load_event("sfn_endpoint.json"), context)
    assert raised.value.retryable
    sagemaker.assert_no_pending_responses()  # and no update was queued, so none was made


def test_failed_endpoint_is_not_deleted_and_the_error_says_what_to_do(
    sagemaker: Stubber, context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    reason = "The primary container for production variant AllTraffic did not pass the ping health check."
    expect_describe(sagemaker, described("Failed", FailureReason=reason))

    with pytest.raises(EndpointFailed) as raised:
        endpoint.handler(load_event("sfn_endpoint.json"), context)

    message = str(raised.value)
    assert reason in message
    assert "SageMaker allows only DeleteEndpoint on a failed endpoint" in message
    assert f"aws sagemaker delete-endpoint --endpoint-name {ENDPOINT}" in message
    assert not raised.value.retryable
    assert log_lines()[-1]["error_type"] == "EndpointFailed"


def test_update_rollback_failed_needs_an_operator(sagemaker: Stubber, context: Any) -> None:
    expect_describe(sagemaker, described("UpdateRollbackFailed", FailureReason="Rollback failed"))

    with pytest.raises(
        EndpointFailed, match=r"UpdateRollbackFailed, which needs an operator.*Rolling deployments"
    ):
        endpoint.handler(load_event("sfn_endpoint.json"), context)


@pytest.mark.parametrize(
    ("status", "changes", "action"),
    [
        ("Updating", {"PendingDeploymentSummary": {"EndpointConfigName": CONFIG}}, "update"),
        ("Creating", {"EndpointConfigName": CONFIG}, "create"),
        ("InService", {"EndpointConfigName": CONFIG}, "update"),
    ],
)
def test_retry_after_a_lost_response_does_not_call_again(
    sagemaker: Stubber, context: Any, status: str, changes: dict[str, Any], action: str
) -> None:
    expect_describe(sagemaker, described(status, **changes))

    assert endpoint.handler(load_event("sfn_endpoint.json"), context) == {
        "EndpointName": ENDPOINT,
        "action": action,
    }
    sagemaker.assert_no_pending_responses()


def test_endpoint_created_by_another_run_meanwhile_is_busy(sagemaker: Stubber, context: Any) -> None:
    expect_not_found(sagemaker)
    sagemaker.add_client_error(
        "create_endpoint",
        service_error_code="ValidationException",
        service_message=f'Cannot create already existing endpoint "{ENDPOINT_ARN}".',
        http_status_code=400,
    )
    with pytest.raises(EndpointBusy, match="Cannot create already existing endpoint"):
        endpoint.handler(load_event("sfn_endpoint.json"), context)


def test_endpoint_updated_by_another_run_meanwhile_is_busy(sagemaker: Stubber, context: Any) -> None:
    expect_describe(sagemaker, described("InService"))
    sagemaker.add_client_error(
        "update_endpoint",
        service_error_code="ValidationException",
        service_message=f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".',
        http_status_code=400,
    )
    with pytest.raises(EndpointBusy, match="Cannot update in-progress endpoint"):
        endpoint.handler(load_event("sfn_endpoint.json"), context)


def test_update_to_a_config_sagemaker_cannot_see_yet_is_retryable(sagemaker: Stubber, context: Any) -> None:
    expect_describe(sagemaker, described("InService"))
    sagemaker.add_client_error(
        "update_endpoint",
        service_error_code="ValidationException",
        service_message=f'Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{CONFIG}".',
        http_status_code=400,
    )
    with pytest.raises(
        EndpointConfigNotFound, match="check that the workflow's CreateEndpointConfig step succeeded"
    ):
        endpoint.handler(load_event("sfn_endpoint.json"), context)


def test_other_validation_errors_are_not_retried(sagemaker: Stubber, context: Any) -> None:
    expect_describe(sagemaker, described("InService"))
    sagemaker.add_client_error(
        "update_endpoint",
        service_error_code="ValidationException",
        service_message="The endpoint config uses an instance type that is not supported for this model.",
        http_status_code=400,
    )
    with pytest.raises(AwsCallFailed, match="UpdateEndpoint training-endpoint failed: ValidationException"):
        endpoint.handler(load_event("sfn_endpoint.json"), context)


def test_other_describe_errors_are_not_mistaken_for_absence(sagemaker: Stubber, context: Any) -> None:
    sagemaker.add_client_error(
        "describe_endpoint",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:DescribeEndpoint",
        http_status_code=400,
    )
    with pytest.raises(
        AwsCallFailed, match=f"sagemaker:DescribeEndpoint {ENDPOINT} failed: AccessDeniedException"
    ):
        endpoint.handler(load_event("sfn_endpoint.json"), context)
    sagemaker.assert_no_pending_responses()  # no create was attempted


# --- Input and configuration ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"EndpointName": ENDPOINT}, "EndpointConfigName is missing"),
        ({"EndpointConfigName": CONFIG}, "EndpointName is missing"),
        ({"EndpointName": ["training-endpoint"], "EndpointConfigName": CONFIG}, "EndpointName must be a string, got a JSON list"),
        ({"EndpointName": "training_endpoint", "EndpointConfigName": CONFIG}, "EndpointName 'training_endpoint' is not a valid name"),
        ({"EndpointName": ENDPOINT, "EndpointConfigName": "c" * 64}, "at most 63 characters"),
    ],
)  # fmt: skip
def test_malformed_input_fails_before_any_call(
    sagemaker: Stubber, context: Any, event: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(message)):
        endpoint.handler(event, context)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("team=ml", "RESOURCE_TAGS is not valid JSON"),
        ('["team"]', "RESOURCE_TAGS must be a JSON object of strings"),
        ('{"cost-center": 42}', "RESOURCE_TAGS must be a JSON object of strings"),
        ('{"aws:owner": "me"}', "invalid tag keys or values"),
    ],
)
def test_bad_resource_tags_are_a_configuration_error(
    sagemaker: Stubber, context: Any, monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    monkeypatch.setenv("RESOURCE_TAGS", raw)
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        endpoint.handler(load_event("sfn_endpoint.json"), context)


def test_no_resource_tags_creates_without_tags() -> None:
    assert endpoint.resource_tags("{}") == []
