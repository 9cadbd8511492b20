"""What every function shares: the error classes, event checks, settings from the environment, the boto3 client
cache, JSON-lines logging, and `lambda_handler`, the wrapper that ties them together.

Standard library and boto3 only: this module ships in every function's deployment package.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

T = TypeVar("T")
R = TypeVar("R")


# --- Errors ------------------------------------------------------------------------------------------------------
# Lambda reports a failed invocation's exception class name as `errorType`; Step Functions matches Retry and Catch
# on it. So each failure the workflow must tell apart has a class of its own, named for what went wrong.


class FunctionError(Exception):
    """Base of every error a function raises on purpose, with a message that says what to fix."""

    retryable: ClassVar[bool] = False
    """Whether the same call can succeed later (the state machine retries these)."""


class InvalidEvent(FunctionError):
    """The event is not in the shape the function expects. The same event would fail again, so no retry."""


class ConfigurationError(FunctionError):
    """An environment variable the component sets is missing or invalid: a deployment problem."""


class AwsCallFailed(FunctionError):
    """An AWS call failed for a reason retrying will not fix: access denied, missing resource, validation."""


class TransientAwsError(FunctionError):
    """Throttling, a 5xx or a network error that outlasted botocore's own retries. Retry with backoff."""

    retryable = True


# --- Event checks ------------------------------------------------------------------------------------------------

_KIND_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a JSON object",
    list: "a JSON list",
}


def describe_value(value: Any) -> str:
    """A short, safe description of a value for error messages, e.g. `a number (42)`."""
    if value is None:
        return "null"
    kind = _KIND_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return kind
    text = repr(value)
    return f"{kind} ({text if len(text) <= 60 else text[:57] + '...'})"


def _is_kind(value: Any, kind: type) -> bool:
    # JSON true/false arrive as bool, which Python also counts as int; never accept one for the other.
    if isinstance(value, bool) != (kind is bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def field(container: Mapping[str, Any], key: str, kind: type[T], *, path: str) -> T:
    """`container[key]`, which must be present and of `kind`. `path` names the container in the message."""
    where = f"{path}.{key}" if path else key
    if key not in container:
        raise InvalidEvent(f"{where} is missing")
    value: T = container[key]
    if not _is_kind(value, kind):
        raise InvalidEvent(
            f"{where} must be {_KIND_NAMES.get(kind, kind.__name__)}, got {describe_value(value)}"
        )
    return value


def optional_field(container: Mapping[str, Any], key: str, kind: type[T], *, path: str) -> T | None:
    """Like `field`, but a missing key or a JSON null gives None."""
    if container.get(key) is None:
        return None
    return field(container, key, kind, path=path)


def name_field(
    container: Mapping[str, Any], key: str, *, path: str, pattern: re.Pattern[str], max_length: int, rule: str
) -> str:
    """A string field holding a resource name that must match `pattern` and fit in `max_length`."""
    value = field(container, key, str, path=path)
    where = f"{path}.{key}" if path else key
    if len(value) > max_length or not pattern.fullmatch(value):
        raise InvalidEvent(f"{where} {value!r} is not a valid name: {rule}, at most {max_length} characters")
    return value


# SageMaker's own pattern for model, endpoint, endpoint config and job names.
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")


# --- Settings from the environment -------------------------------------------------------------------------------


def required_env(name: str) -> str:
    """An environment variable the component always sets."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set; the component sets it on deploy")
    return value


def optional_env(name: str, default: str) -> str:
    """An environment variable with a default; set but empty counts as unset."""
    return os.environ.get(name, "").strip() or default


def prefix_env(name: str, default: str) -> str:
    """A key prefix from the environment, normalised to end in exactly one `/`."""
    value = optional_env(name, default).strip("/")
    if not value:
        raise ConfigurationError(f"environment variable {name} must be a key prefix such as {default!r}")
    return value + "/"


# --- boto3 clients -----------------------------------------------------------------------------------------------
# Created on first use and kept for the container's lifetime: creating a client costs milliseconds and memory,
# reusing one costs nothing. Tests swap in their own with `set_client` (moto, or a botocore Stubber).

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
    user_agent_extra="mlops-component-functions",
)
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """The container's boto3 client for `service`."""
    cached = _clients.get(service)
    if cached is None:
        cached = _clients[service] = boto3.client(service, config=CLIENT_CONFIG)
    return cached


def set_client(service: str, value: Any) -> None:
    """Use `value` as the client for `service` from now on (tests)."""
    _clients[service] = value


def reset_clients() -> None:
    """Forget every cached client, so the next call creates fresh ones (tests)."""
    _clients.clear()


# --- AWS errors --------------------------------------------------------------------------------------------------

# Error codes that mean "try again later" across the services these functions call.
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError, e.g. `ExecutionAlreadyExists`."""
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    """The AWS error message of a ClientError."""
    return str(error.response.get("Error", {}).get("Message", ""))


def as_function_error(error: ClientError, action: str) -> FunctionError:
    """The FunctionError a ClientError from `action` (e.g. `s3:HeadObject s3://b/k`) maps to."""
    code = error_code(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    text = f"{action} failed: {code or status}: {error_message(error) or 'no message'}"
    if code in _TRANSIENT_CODES or status >= 500:
        return TransientAwsError(text)
    return AwsCallFailed(text)


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn boto errors escaping the block into `AwsCallFailed` or `TransientAwsError` naming `action`.

    Errors a caller handles on purpose (not found, already exists) are caught inside the block, first.
    """
    try:
        yield
    except ClientError as error:
        raise as_function_error(error, action) from error
    except (BotoConnectionError, HTTPClientError) as error:
        raise TransientAwsError(f"{action} failed: {error}") from error
    except BotoCoreError as error:
        raise AwsCallFailed(f"{action} failed: {error}") from error


def s3_uri(bucket: str, key: str) -> str:
    """`s3://bucket/key`."""
    return f"s3://{bucket}/{key}"


def head_object_or_none(s3: Any, bucket: str, key: str) -> Mapping[str, Any] | None:
    """HeadObject's response for the current version of `key`, or None if there is no such object.

    S3 answers 404 only to callers allowed `s3:ListBucket` on the bucket; without it a missing key is a 403,
    which surfaces as AwsCallFailed rather than being mistaken for absence.
    """
    with aws_errors(f"s3:HeadObject {s3_uri(bucket, key)}"):
        try:
            response: Mapping[str, Any] = s3.head_object(Bucket=bucket, Key=key)
            return response
        except ClientError as error:
            if error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise


# --- JSON logging ------------------------------------------------------------------------------------------------
# One JSON object per line on stdout, which Lambda ships to the function's log group as is. The `functions` logger
# does not propagate, so the runtime's own root handler does not print every line a second time.

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, request id and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class _StdoutHandler(logging.Handler):
    # Looks sys.stdout up on every record (rather than holding the stream it started with), so output that
    # is redirected later, as pytest's capsys does, still receives the lines.
    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _package_logger() -> logging.Logger:
    logger = logging.getLogger("functions")
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(optional_env("LOG_LEVEL", "INFO").upper())
    return logger


def get_logger(name: str) -> logging.Logger:
    """A logger that writes JSON lines. Pass a module's `__name__`; names outside `functions` are put under it."""
    package = _package_logger()
    if name == package.name or name.startswith(f"{package.name}."):
        return logging.getLogger(name)
    return package.getChild(name)


def fields(**values: Any) -> dict[str, Any]:
    """Structured fields for a log line: `log.info("started", extra=fields(execution=name))`."""
    return {"fields": values}


# --- The handler wrapper -----------------------------------------------------------------------------------------


def lambda_handler(work: Callable[[dict[str, Any]], R]) -> Callable[[Any, Any], R]:
    """Wrap `work(event)` as a Lambda handler `(event, context)`.

    It checks that the event is a JSON object, tags every log line with the request id, logs the event, the
    result or the error as JSON lines, and re-raises errors so the invocation fails with the error's class as
    `errorType` and its message as `errorMessage`.
    """
    log = get_logger(work.__module__)

    @functools.wraps(work)
    def handler(event: Any, context: Any) -> R:
        token = _request_id.set(getattr(context, "aws_request_id", None))
        started = time.perf_counter()
        try:
            log.info("invoked", extra=fields(event=event))
            if not isinstance(event, dict):
                raise InvalidEvent(f"the event must be a JSON object, got {describe_value(event)}")
            result = work(event)
            log.info("succeeded", extra=fields(result=result, duration_ms=_elapsed_ms(started)))
            return result
        except FunctionError as error:
            log.error(
                str(error),
                extra=fields(
                    error_type=type(error).__name__,
                    retryable=error.retryable,
                    duration_ms=_elapsed_ms(started),
                ),
            )
            raise
        except Exception as error:
            log.exception(
                "unexpected error",
                extra=fields(error_type=type(error).__name__, duration_ms=_elapsed_ms(started)),
            )
            raise
        finally:
            _request_id.reset(token)

    return handler


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
