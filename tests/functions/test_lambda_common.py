"""The shared helpers: event checks, error mapping, the client cache, JSON logging, and the packaging rule that
each function needs only its own module and `common.py`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from functions import common
from functions.common import AwsCallFailed, ConfigurationError, InvalidEvent, TransientAwsError

FUNCTIONS = Path(common.__file__).resolve().parent
HANDLER_MODULES = ["trigger", "run_metadata", "endpoint", "rename_output"]


# --- Event checks ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        (True, int, "x.n must be an integer, got true or false (True)"),
        (1, bool, "x.n must be true or false, got an integer (1)"),
        ("1", float, "x.n must be a number, got a string ('1')"),
        (None, str, "x.n must be a string, got null"),
        ("a" * 100, int, "x.n must be an integer, got a string ('" + "a" * 56 + "...)"),
    ],
)
def test_field_rejects_the_wrong_kind_and_says_what_it_got(value: Any, kind: type, message: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        common.field({"n": value}, "n", kind, path="x")
    assert str(raised.value) == message


def test_field_accepts_the_right_kind() -> None:
    assert common.field({"n": 3}, "n", float, path="") == 3
    assert common.optional_field({"n": None}, "n", str, path="") is None
    assert common.optional_field({}, "n", str, path="") is None


# --- Settings -------------------------------------------------------------------------------------------------------


def test_prefixes_are_normalised_to_one_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PREFIX", "/runs//")
    assert common.prefix_env("SOME_PREFIX", "x/") == "runs/"
    monkeypatch.setenv("SOME_PREFIX", "")
    assert common.prefix_env("SOME_PREFIX", "runs/") == "runs/"
    monkeypatch.setenv("SOME_PREFIX", "/")
    with pytest.raises(ConfigurationError, match="must be a key prefix"):
        common.prefix_env("SOME_PREFIX", "runs/")


def test_required_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METADATA_BUCKET", "  ")
    with pytest.raises(ConfigurationError, match="environment variable METADATA_BUCKET is not set"):
        common.required_env("METADATA_BUCKET")


# --- AWS errors -----------------------------------------------------------------------------------------------------


def client_error(code: str, status: int, message: str = "boom") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (client_error("ThrottlingException", 400), TransientAwsError),
        (client_error("SlowDown", 503), TransientAwsError),
        (client_error("SomethingNew", 500), TransientAwsError),
        (client_error("AccessDenied", 403), AwsCallFailed),
        (client_error("ValidationException", 400), AwsCallFailed),
    ],
)
def test_client_errors_map_to_retryable_or_not(error: ClientError, kind: type) -> None:
    mapped = common.as_function_error(error, "s3:GetObject s3://b/k")
    assert type(mapped) is kind
    assert str(mapped).startswith(f"s3:GetObject s3://b/k failed: {error.response['Error']['Code']}: boom")


def test_network_errors_are_transient_and_bugs_are_not() -> None:
    network = pytest.raises(TransientAwsError, match="sagemaker:DescribeEndpoint x failed: Could not connect")
    with network, common.aws_errors("sagemaker:DescribeEndpoint x"):
        raise EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")
    with (
        pytest.raises(AwsCallFailed, match="Parameter validation failed"),
        common.aws_errors("s3:PutObject s3://b/k"),
    ):
        raise ParamValidationError(report="Missing required parameter: Key")


# --- Clients --------------------------------------------------------------------------------------------------------


def test_clients_are_created_once_per_container(aws: None) -> None:
    first = common.client("s3")
    assert common.client("s3") is first
    assert first.meta.config.retries["mode"] == "standard"
    common.reset_clients()
    assert common.client("s3") is not first


def test_importing_a_function_creates_no_client_and_calls_nothing() -> None:
    # No region and no credentials: creating a client at import time would fail here.
    code = (
        "import functions.common as c, functions.trigger, functions.run_metadata, functions.endpoint, "
        "functions.rename_output; assert c._clients == {}, c._clients"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(FUNCTIONS.parent)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_each_function_needs_only_its_module_common_and_the_runtime(module: str) -> None:
    # The deployment package of a function is its own module plus the `functions.*` modules it imports (common.py
    # and, for the trigger, model_packages.py); Lambda's runtime provides boto3.
    tree = ast.parse((FUNCTIONS / f"{module}.py").read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        )
    }  # fmt: skip
    outside = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] not in {"boto3", "botocore"}
        and not name.startswith("functions.")
    }
    assert outside == set()
    assert "functions.common" in imported


# --- Logging and the handler wrapper --------------------------------------------------------------------------------


def test_unexpected_errors_are_logged_with_a_traceback_and_re_raised(
    context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    @common.lambda_handler
    def broken(event: dict[str, Any]) -> None:
        raise KeyError("Contents")

    with pytest.raises(KeyError):
        broken({"when": datetime(2024, 5, 2, tzinfo=UTC)}, context)

    invoked, error = log_lines()
    assert invoked["event"] == {"when": "2024-05-02 00:00:00+00:00"}  # not JSON-native: logged as text
    assert (error["level"], error["message"], error["error_type"]) == (
        "ERROR",
        "unexpected error",
        "KeyError",
    )
    assert "Traceback" in error["exception"] and error["request_id"] == context.aws_request_id


def test_function_errors_are_logged_once_without_a_traceback(
    context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    @common.lambda_handler
    def busy(event: dict[str, Any]) -> None:
        raise TransientAwsError("states:StartExecution x failed: ThrottlingException: slow down")

    with pytest.raises(TransientAwsError):
        busy({}, context)

    error = log_lines()[-1]
    assert error == {
        "timestamp": error["timestamp"],
        "level": "ERROR",
        "logger": f"functions.{__name__}",
        "message": "states:StartExecution x failed: ThrottlingException: slow down",
        "request_id": context.aws_request_id,
        "error_type": "TransientAwsError",
        "retryable": True,
        "duration_ms": error["duration_ms"],
    }
    assert json.loads(json.dumps(error)) == error


def test_request_id_does_not_leak_into_later_lines(
    context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    @common.lambda_handler
    def ok(event: dict[str, Any]) -> str:
        return "done"

    ok({}, context)
    common.get_logger("functions.test").info("between invocations")

    assert "request_id" not in log_lines()[-1]
