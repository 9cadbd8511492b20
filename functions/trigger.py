"""The trigger: an S3 ObjectCreated notification from the feature store starts the training workflow.

- Only objects under the train and score prefixes count; "folder" placeholders and other keys are ignored.
- Batch mode needs both files. Whichever lands first finds no counterpart and waits; whichever lands second
  starts the run with the newest object under the other prefix. In endpoint mode a train object alone starts a
  run, and score objects are ignored.
- S3 delivers events at least once. The execution name is a digest of the pair's bucket, keys and versions (or
  ETags, in an unversioned bucket), so every delivery of the same data maps to the same name, and Step Functions
  never runs two executions with one name: a second StartExecution returns the running execution, or fails with
  ExecutionAlreadyExists once it has finished, which counts as "already started".
- An event whose object version is no longer the current one (a late redelivery after a newer upload) is
  ignored, so old data never starts a run; the newer upload's own event does.

Execution input (the state machine reads exactly this):
`{"train": {"bucket", "key", "version_id", "etag"}, "score": {...} | null}`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from functions.common import (
    ConfigurationError,
    InvalidEvent,
    aws_errors,
    client,
    error_code,
    get_logger,
    head_object_or_none,
    lambda_handler,
    optional_field,
    prefix_env,
    required_env,
    s3_uri,
)
from functions.common import field as event_field
from functions.common import fields as log_fields

log = get_logger(__name__)

Mode = Literal["batch", "endpoint"]
Kind = Literal["train", "score"]
_MODES: dict[str, Mode] = {"batch": "batch", "endpoint": "endpoint"}
_STATE_MACHINE_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}")
# The version id S3 reports for objects written before versioning was enabled or while it was suspended. Many
# objects share it, so it identifies nothing; the ETag does instead.
_NULL_VERSION = "null"


@dataclass(frozen=True)
class Settings:
    """The trigger's environment: which state machine to start, the inference mode and the watched prefixes."""

    state_machine_arn: str
    mode: Mode
    train_prefix: str = "data/train/"
    score_prefix: str = "data/score/"

    @classmethod
    def from_env(cls) -> Settings:
        """Read and check `STATE_MACHINE_ARN`, `INFERENCE_MODE`, `TRAIN_PREFIX` and `SCORE_PREFIX`."""
        arn = required_env("STATE_MACHINE_ARN")
        if not _STATE_MACHINE_ARN.fullmatch(arn):
            raise ConfigurationError(f"STATE_MACHINE_ARN {arn!r} is not a Step Functions state machine ARN")
        raw_mode = required_env("INFERENCE_MODE")
        mode = _MODES.get(raw_mode)
        if mode is None:
            raise ConfigurationError(f"INFERENCE_MODE must be 'batch' or 'endpoint', got {raw_mode!r}")
        train, score = (
            prefix_env("TRAIN_PREFIX", cls.train_prefix),
            prefix_env("SCORE_PREFIX", cls.score_prefix),
        )
        if train.startswith(score) or score.startswith(train):
            raise ConfigurationError(f"TRAIN_PREFIX {train!r} and SCORE_PREFIX {score!r} must not overlap")
        return cls(state_machine_arn=arn, mode=mode, train_prefix=train, score_prefix=score)

    def prefix(self, kind: Kind) -> str:
        """The prefix watched for `kind`."""
        return self.train_prefix if kind == "train" else self.score_prefix


# --- The event -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Record:
    """One record of an S3 notification, with the key URL-decoded."""

    event_name: str
    bucket: str
    key: str
    version_id: str | None
    etag: str | None

    @property
    def uri(self) -> str:
        """`s3://bucket/key`."""
        return s3_uri(self.bucket, self.key)


def parse_event(event: Mapping[str, Any]) -> list[S3Record]:
    """Every record of an S3 notification, checked as a whole before anything acts on one of them.

    Raises InvalidEvent naming the first field that is missing or of the wrong type.
    """
    records = event_field(event, "Records", list, path="")
    parsed = []
    for index, record in enumerate(records):
        path = f"Records[{index}]"
        if not isinstance(record, dict):
            raise InvalidEvent(f"{path} must be a JSON object")
        source = event_field(record, "eventSource", str, path=path)
        if source != "aws:s3":
            raise InvalidEvent(
                f"{path}.eventSource is {source!r}; this function handles S3 notifications only"
            )
        s3 = event_field(record, "s3", dict, path=path)
        bucket = event_field(
            event_field(s3, "bucket", dict, path=f"{path}.s3"), "name", str, path=f"{path}.s3.bucket"
        )
        obj = event_field(s3, "object", dict, path=f"{path}.s3")
        key = event_field(obj, "key", str, path=f"{path}.s3.object")
        if not bucket or not key:
            raise InvalidEvent(f"{path}: bucket name and object key must not be empty")
        parsed.append(
            S3Record(
                event_name=event_field(record, "eventName", str, path=path),
                bucket=bucket,
                # S3 URL-encodes keys in notifications, with `+` for a space.
                key=unquote_plus(key),
                version_id=optional_field(obj, "versionId", str, path=f"{path}.s3.object"),
                etag=optional_field(obj, "eTag", str, path=f"{path}.s3.object"),
            )
        )
    return parsed


def classify(key: str, settings: Settings) -> Kind | None:
    """Whether `key` is train data, score data, or neither (outside the prefixes, or a folder placeholder)."""
    if key.endswith("/"):
        return None
    if key.startswith(settings.train_prefix):
        return "train"
    if key.startswith(settings.score_prefix):
        return "score"
    return None


# --- Objects and the execution -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectRef:
    """One data object as the workflow receives it: the current version, as S3 reports it."""

    bucket: str
    key: str
    version_id: str | None
    etag: str

    def to_input(self) -> dict[str, Any]:
        """This object in the execution input's shape."""
        return {"bucket": self.bucket, "key": self.key, "version_id": self.version_id, "etag": self.etag}

    def identity(self) -> list[str]:
        """What makes this object's data distinct: the version id, or the ETag where there is none."""
        version = self.version_id if self.version_id not in (None, _NULL_VERSION) else None
        return [self.bucket, self.key, f"version:{version}" if version else f"etag:{self.etag}"]

    @property
    def uri(self) -> str:
        """`s3://bucket/key`."""
        return s3_uri(self.bucket, self.key)


def _strip_etag(etag: str) -> str:
    # HeadObject and ListObjectsV2 quote ETags; notifications do not. The input always carries them unquoted.
    return etag.strip('"')


def execution_input(train: ObjectRef, score: ObjectRef | None) -> dict[str, Any]:
    """The state machine's input for a run on `train` (and `score`, in batch mode)."""
    return {"train": train.to_input(), "score": score.to_input() if score else None}


def execution_name(train: ObjectRef, score: ObjectRef | None) -> str:
    """A deterministic execution name for the pair: the train file's stem plus a digest of both identities.

    At most 80 characters of `[A-Za-z0-9_-]`. The same data always gives the same name, different data (another
    key, version or ETag) a different one.
    """
    identity = json.dumps([train.identity(), score.identity() if score else None], separators=(",", ":"))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:40]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", PurePosixPath(train.key).stem).strip("-_")[:32] or "run"
    return f"{stem}-{digest}"


@dataclass
class Summary:
    """What one invocation did with each record."""

    started: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)

    def ignore(self, uri: str, reason: str) -> None:
        """Record that the object at `uri` started nothing, and why."""
        log.info("ignored", extra=log_fields(object=uri, reason=reason))
        self.ignored.append({"object": uri, "reason": reason})

    def to_dict(self) -> dict[str, Any]:
        """The handler's return value."""
        return {"started": self.started, "duplicates": self.duplicates, "ignored": self.ignored}


# --- AWS calls -----------------------------------------------------------------------------------------------------


def current_object(s3: Any, bucket: str, key: str) -> ObjectRef | None:
    """The object's current version, or None if it no longer exists."""
    head = head_object_or_none(s3, bucket, key)
    if head is None:
        return None
    return ObjectRef(bucket=bucket, key=key, version_id=head.get("VersionId"), etag=_strip_etag(head["ETag"]))


def newest_object(s3: Any, bucket: str, prefix: str) -> ObjectRef | None:
    """The most recently written object under `prefix` (folder placeholders excluded), or None."""
    newest: tuple[Any, str] | None = None
    with aws_errors(f"s3:ListBucket {s3_uri(bucket, prefix)}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                # The key breaks ties between objects written in the same second, so the choice is deterministic.
                candidate = (item["LastModified"], item["Key"])
                if newest is None or candidate > newest:
                    newest = candidate
    # The listing has no version ids; HeadObject gives the current version (None if deleted meanwhile).
    return current_object(s3, bucket, newest[1]) if newest else None


def start_run(
    sfn: Any, state_machine_arn: str, name: str, train: ObjectRef, score: ObjectRef | None
) -> tuple[Literal["started", "duplicate"], dict[str, Any]]:
    """Start execution `name` on the pair, or find that it already exists."""
    document = execution_input(train, score)
    entry: dict[str, Any] = {
        "execution_name": name,
        "train": train.uri,
        "score": score.uri if score else None,
    }
    with aws_errors(f"states:StartExecution {state_machine_arn} (name {name})"):
        try:
            response = sfn.start_execution(
                stateMachineArn=state_machine_arn,
                name=name,
                # Sorted keys: a redelivery sends byte-identical input, which StartExecution's idempotency needs.
                input=json.dumps(document, sort_keys=True, separators=(",", ":")),
            )
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":
                log.info("already started", extra=log_fields(**entry))
                return "duplicate", entry
            raise
    entry["execution_arn"] = response["executionArn"]
    log.info("started", extra=log_fields(**entry))
    return "started", entry


# --- The work --------------------------------------------------------------------------------------------------------


def handle_records(records: list[S3Record], settings: Settings, *, s3: Any, sfn: Any) -> Summary:
    """Decide, record by record, whether to start a run, and start it."""
    summary = Summary()
    seen: set[str] = set()
    for record in records:
        if not record.event_name.startswith("ObjectCreated:"):
            summary.ignore(record.uri, f"{record.event_name} is not an ObjectCreated event")
            continue
        kind = classify(record.key, settings)
        if kind is None:
            reason = "a folder placeholder" if record.key.endswith("/") else "outside the data prefixes"
            summary.ignore(record.uri, f"{reason} ({settings.train_prefix}, {settings.score_prefix})")
            continue
        if kind == "score" and settings.mode == "endpoint":
            summary.ignore(record.uri, "score data does not start runs in endpoint mode")
            continue

        current = current_object(s3, record.bucket, record.key)
        if current is None:
            summary.ignore(record.uri, "the object no longer exists")
            continue
        stale = _stale_reason(record, current)
        if stale:
            summary.ignore(record.uri, stale)
            continue

        counterpart: ObjectRef | None = None
        if settings.mode == "batch":
            other: Kind = "score" if kind == "train" else "train"
            counterpart = newest_object(s3, record.bucket, settings.prefix(other))
            if counterpart is None:
                summary.ignore(
                    record.uri, f"waiting for {other} data: nothing under {settings.prefix(other)} yet"
                )
                continue
        train, score = (current, counterpart) if kind == "train" else (counterpart, current)
        assert train is not None  # in endpoint mode kind is always "train"

        name = execution_name(train, score)
        if name in seen:  # two records of one event naming the same pair
            summary.duplicates.append(
                {"execution_name": name, "train": train.uri, "score": score.uri if score else None}
            )
            continue
        seen.add(name)
        outcome, entry = start_run(sfn, settings.state_machine_arn, name, train, score)
        (summary.started if outcome == "started" else summary.duplicates).append(entry)
    return summary


def _stale_reason(record: S3Record, current: ObjectRef) -> str | None:
    """Why the event's object is no longer the current one, or None if it still is."""
    if record.version_id and record.version_id != _NULL_VERSION:
        if record.version_id != current.version_id:
            return f"stale event: version {record.version_id} is no longer current ({current.version_id})"
    elif record.etag and _strip_etag(record.etag) != current.etag:
        return "stale event: the object has been overwritten since"
    return None


@lambda_handler
def handler(event: dict[str, Any]) -> dict[str, Any]:
    """Lambda entry point (`functions.trigger.handler`)."""
    settings = Settings.from_env()
    if event.get("Event") == "s3:TestEvent":
        # S3 sends this once when a notification configuration is saved; it names no object.
        return Summary().to_dict()
    records = parse_event(event)
    return handle_records(records, settings, s3=client("s3"), sfn=client("stepfunctions")).to_dict()
