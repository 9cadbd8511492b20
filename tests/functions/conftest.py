"""Fixtures for the Lambda functions' tests: an embedded AWS (moto), botocore Stubbers for the SageMaker calls
moto does not model faithfully, a Lambda context, and the functions' JSON log lines. Event files are loaded
with `lambda_events`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from functions import common
from tests.functions.lambda_events import ACCOUNT, REGION

# The trigger's registry settings in every function test: the deployment workflow it starts, the stack's model
# package group and the feature store (the bucket `tests/events/` name). A test that needs others sets them.
TRIGGER_REGISTRY_ENV = {
    "DEPLOYMENT_STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlops-test-deployment",
    "MODEL_PACKAGE_GROUP": "mlops-test-models",
    "FEATURE_BUCKET": f"mlops-test-features-{ACCOUNT}-{REGION}",
}


@pytest.fixture
def context() -> SimpleNamespace:
    """The parts of the Lambda context object the functions read."""
    return SimpleNamespace(
        aws_request_id="8f5e2c1a-3b4d-4e6f-9a0b-1c2d3e4f5a6b", function_name="mlops-test-fn"
    )


@pytest.fixture(autouse=True)
def trigger_registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trigger's environment beyond the training workflow and the mode (see `TRIGGER_REGISTRY_ENV`)."""
    for name, value in TRIGGER_REGISTRY_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Every test starts and ends with an empty client cache, as a new Lambda container does."""
    common.reset_clients()
    yield
    common.reset_clients()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh moto AWS; clients the functions create from now on talk to it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    """The S3 client the functions use (moto)."""
    return common.client("s3")


@pytest.fixture
def stubbed() -> Iterator[Callable[[str], Stubber]]:
    """`stubbed("sagemaker")`: a Stubber on a client the functions will use; every queued call must happen."""
    stubbers: list[Stubber] = []

    def make(service: str) -> Stubber:
        api = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        stubber = Stubber(api)
        stubber.activate()
        common.set_client(service, api)
        stubbers.append(stubber)
        return stubber

    yield make
    for stubber in stubbers:
        stubber.deactivate()


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    """The JSON log lines the functions printed so far (each line must parse as JSON)."""

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]

    return read
