"""The trigger: the one router of starts. Every event that starts a workflow arrives here, and the rules that
decide what it starts are plain Python, tested in one place (docs/workflows.md, "What starts a run").

- S3 ObjectCreated notifications from the feature store. Only objects under the train and score prefixes count;
  "folder" placeholders and other keys are ignored.
  - Train data lands → the training workflow. Batch mode needs score data too: with none yet the train object
    waits, and the score object's landing starts the run. In endpoint mode a train object alone starts a run.
  - Score data lands (batch mode) → the deployment workflow scores it with the latest approved package, and
    never retrains. Only while the model package group holds no package at all (the pipeline's first run, with
    the train data landed first) does it start the training workflow on the newest train data instead, so the
    order in which the two files land does not matter. In endpoint mode score data starts nothing.
- `SageMaker Model Package State Change` events (EventBridge) for this stack's group. An approval deploys that
  package with the deployment workflow (batch mode: on the newest score data). The package's current state is
  read back (DescribeModelPackage), since events can arrive late or twice: a package that is no longer approved
  deploys nothing, and a package registered `Approved` by an automatic-mode training run is not deployed again,
  since that run deploys it itself (its `mlops:approval-mode` metadata says `automatic`). Rejected and pending
  packages start nothing.
- EventBridge Scheduler events `{"mlops-schedule": "retrain"|"score", "scheduled-time": ...}`: retraining on
  the newest train data, or scoring the newest score data with the latest approved package.
- S3 and EventBridge deliver events at least once. Every execution name is a digest of what the run works on
  (the data's bucket, keys and versions, or ETags in an unversioned bucket; the package and its last change; the
  scheduled time), so every delivery of the same start maps to the same name, and Step Functions never runs two
  executions with one name: a second StartExecution returns the running execution, or fails with
  ExecutionAlreadyExists once it has finished, which counts as "already started".
- An S3 event whose object version is no longer the current one (a late redelivery after a newer upload) is
  ignored, so old data never starts a run; the newer upload's own event does.

Execution inputs (each state machine reads exactly this):
- training: `{"train": {"bucket", "key", "version_id", "etag"}, "score": {...} | null}`;
- deployment: `{"modelPackageArn": "arn:...:model-package/<group>/<version>" | null, "score": {...} | null,
  "cause": "training" | "approval" | "score-landed" | "schedule" | "rollback"}` (null: the latest approved).
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
from functions.model_packages import APPROVED, describe_package, group_has_packages, parse_package_arn

log = get_logger(__name__)

Mode = Literal["batch", "endpoint"]
Kind = Literal["train", "score"]
_MODES: dict[str, Mode] = {"batch": "batch", "endpoint": "endpoint"}
_STATE_MACHINE_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}")
_GROUP_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
# The version id S3 reports for objects written before versioning was enabled or while it was suspended. Many
# objects share it, so it identifies nothing; the ETag does instead.
_NULL_VERSION = "null"


@dataclass(frozen=True)
class Settings:
    """The trigger's environment: the workflows it starts, the registry, the inference mode and the watched data."""

    state_machine_arn: str
    mode: Mode
    deployment_state_machine_arn: str
    model_package_group: str
    feature_bucket: str
    train_prefix: str = "data/train/"
    score_prefix: str = "data/score/"

    @classmethod
    def from_env(cls) -> Settings:
        """Read and check `STATE_MACHINE_ARN`, `DEPLOYMENT_STATE_MACHINE_ARN`, `MODEL_PACKAGE_GROUP`,
        `FEATURE_BUCKET`, `INFERENCE_MODE`, `TRAIN_PREFIX` and `SCORE_PREFIX`."""
        arns = {name: required_env(name) for name in ("STATE_MACHINE_ARN", "DEPLOYMENT_STATE_MACHINE_ARN")}
        for name, arn in arns.items():
            if not _STATE_MACHINE_ARN.fullmatch(arn):
                raise ConfigurationError(f"{name} {arn!r} is not a Step Functions state machine ARN")
        group = required_env("MODEL_PACKAGE_GROUP")
        if not _GROUP_NAME.fullmatch(group):
            raise ConfigurationError(f"MODEL_PACKAGE_GROUP {group!r} is not a model package group name")
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
        return cls(
            state_machine_arn=arns["STATE_MACHINE_ARN"],
            mode=mode,
            deployment_state_machine_arn=arns["DEPLOYMENT_STATE_MACHINE_ARN"],
            model_package_group=group,
            feature_bucket=required_env("FEATURE_BUCKET"),
            train_prefix=train,
            score_prefix=score,
        )

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


def execution_name(train: ObjectRef, score: ObjectRef | None, occasion: str | None = None) -> str:
    """A deterministic execution name for the pair: the train file's stem plus a digest of both identities
    (and of the schedule's `occasion`, for a scheduled retraining: one run per scheduled time).

    At most 80 characters of `[A-Za-z0-9_-]`. The same data always gives the same name, different data (another
    key, version or ETag) a different one.
    """
    identity: list[Any] = [train.identity(), score.identity() if score else None]
    if occasion is not None:
        identity.append(occasion)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", PurePosixPath(train.key).stem).strip("-_")[:32] or "run"
    return f"{stem}-{_digest(identity)}"


Cause = Literal["approval", "score-landed", "schedule", "rollback"]


def deployment_input(package_arn: str | None, score: ObjectRef | None, cause: Cause) -> dict[str, Any]:
    """The deployment workflow's input: deploy `package_arn` (None: the latest approved) on `score`."""
    return {"modelPackageArn": package_arn, "score": score.to_input() if score else None, "cause": cause}


def deployment_name(cause: Cause, score: ObjectRef | None, *identity: str) -> str:
    """A deterministic deployment execution name: the cause plus a digest of what it deploys on what."""
    return f"{cause}-{_digest([cause, *identity, score.identity() if score else None])}"


def _digest(identity: list[Any]) -> str:
    return hashlib.sha256(json.dumps(identity, separators=(",", ":")).encode()).hexdigest()[:40]


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

    def record(self, outcome: Literal["started", "duplicate"], entry: dict[str, Any]) -> None:
        """Record an execution this invocation started, or found already started."""
        (self.started if outcome == "started" else self.duplicates).append(entry)

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
    """Start training execution `name` on the pair, or find that it already exists."""
    entry = training_entry(name, train, score)
    return start_execution(sfn, state_machine_arn, name, execution_input(train, score), entry)


def training_entry(name: str, train: ObjectRef, score: ObjectRef | None) -> dict[str, Any]:
    """How the summary and the log describe training execution `name`."""
    return {"execution_name": name, "train": train.uri, "score": score.uri if score else None}


def deployment_entry(
    name: str, package_arn: str | None, score: ObjectRef | None, cause: Cause
) -> dict[str, Any]:
    """How the summary and the log describe deployment execution `name`."""
    return {
        "execution_name": name,
        "workflow": "deployment",
        "cause": cause,
        "model_package": package_arn or "latest approved",
        "score": score.uri if score else None,
    }


def start_deployment(
    sfn: Any, settings: Settings, name: str, package_arn: str | None, score: ObjectRef | None, cause: Cause
) -> tuple[Literal["started", "duplicate"], dict[str, Any]]:
    """Start deployment execution `name`, or find that it already exists."""
    entry = deployment_entry(name, package_arn, score, cause)
    document = deployment_input(package_arn, score, cause)
    return start_execution(sfn, settings.deployment_state_machine_arn, name, document, entry)


def start_execution(
    sfn: Any, state_machine_arn: str, name: str, document: dict[str, Any], entry: dict[str, Any]
) -> tuple[Literal["started", "duplicate"], dict[str, Any]]:
    """Start execution `name` with input `document`; `entry` describes it in the summary and the log."""
    with aws_errors(f"states:StartExecution {state_machine_arn} (name {name})"):
        try:
            response = sfn.start_execution(
                stateMachineArn=state_machine_arn,
                name=name,
                # A redelivery builds the same document, so the same input: StartExecution then returns the
                # running execution rather than failing (its idempotency needs name and input to match).
                input=json.dumps(document),
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


def handle_records(
    records: list[S3Record], settings: Settings, *, s3: Any, sfn: Any, sagemaker: Any | None = None
) -> Summary:
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
        if kind == "score" and group_has_packages(
            sagemaker or client("sagemaker"), settings.model_package_group
        ):
            # Score data alone never retrains: it is scored with the latest approved package.
            name = deployment_name("score-landed", current)
            if name in seen:  # two records of one event naming the same object version
                summary.duplicates.append(deployment_entry(name, None, current, "score-landed"))
            else:
                seen.add(name)
                summary.record(*start_deployment(sfn, settings, name, None, current, "score-landed"))
            continue
        _start_training_on(current, kind, settings, summary, seen, s3=s3, sfn=sfn)
    return summary


def _start_training_on(
    current: ObjectRef, kind: Kind, settings: Settings, summary: Summary, seen: set[str], *, s3: Any, sfn: Any
) -> None:
    """Start the training workflow on landed `current` (batch mode: with the newest object of the other kind)."""
    counterpart: ObjectRef | None = None
    if settings.mode == "batch":
        other: Kind = "score" if kind == "train" else "train"
        counterpart = newest_object(s3, current.bucket, settings.prefix(other))
        if counterpart is None:
            summary.ignore(
                current.uri, f"waiting for {other} data: nothing under {settings.prefix(other)} yet"
            )
            return
    train, score = (current, counterpart) if kind == "train" else (counterpart, current)
    assert train is not None  # in endpoint mode kind is always "train"
    name = execution_name(train, score)
    if name in seen:  # two records of one event naming the same pair
        summary.duplicates.append(training_entry(name, train, score))
        return
    seen.add(name)
    summary.record(*start_run(sfn, settings.state_machine_arn, name, train, score))


def _stale_reason(record: S3Record, current: ObjectRef) -> str | None:
    """Why the event's object is no longer the current one, or None if it still is."""
    if record.version_id and record.version_id != _NULL_VERSION:
        if record.version_id != current.version_id:
            return f"stale event: version {record.version_id} is no longer current ({current.version_id})"
    elif record.etag and _strip_etag(record.etag) != current.etag:
        return "stale event: the object has been overwritten since"
    return None


# --- Model package approvals ----------------------------------------------------------------------------------------

PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


@dataclass(frozen=True)
class PackageEvent:
    """What a `SageMaker Model Package State Change` event says (its detail is DescribeModelPackage-shaped)."""

    arn: str
    group: str
    approval_status: str


def parse_package_event(event: Mapping[str, Any]) -> PackageEvent:
    """The package an EventBridge model package state change names; InvalidEvent names what is missing."""
    detail = event_field(event, "detail", dict, path="")
    arn = event_field(detail, "ModelPackageArn", str, path="detail")
    if parse_package_arn(arn) is None:
        raise InvalidEvent(f"detail.ModelPackageArn {arn!r} is not a versioned model package ARN")
    return PackageEvent(
        arn=arn,
        group=event_field(detail, "ModelPackageGroupName", str, path="detail"),
        # Absent on a package created without an approval status: it is not approved.
        approval_status=optional_field(detail, "ModelApprovalStatus", str, path="detail") or "",
    )


def handle_package_event(
    package_event: PackageEvent, settings: Settings, *, s3: Any, sfn: Any, sagemaker: Any
) -> Summary:
    """An approval deploys that package; anything else, or an approval that is no longer current, does nothing."""
    summary = Summary()
    arn = package_event.arn
    if package_event.group != settings.model_package_group:
        summary.ignore(
            arn, f"group {package_event.group} is not this stack's group {settings.model_package_group}"
        )
        return summary
    if package_event.approval_status != APPROVED:
        summary.ignore(
            arn, f"{package_event.approval_status or 'no approval status'}: only an approval deploys"
        )
        return summary
    package = describe_package(sagemaker, arn)
    if package.approval_status != APPROVED:
        summary.ignore(
            arn, f"no longer approved (now {package.approval_status}): a later change superseded this event"
        )
        return summary
    if package.approval_mode == "automatic":
        summary.ignore(arn, f"registered Approved by training run {package.run}, which deploys it itself")
        return summary
    score: ObjectRef | None = None
    if settings.mode == "batch":
        score = newest_object(s3, settings.feature_bucket, settings.score_prefix)
        if score is None:
            summary.ignore(
                arn, f"approved, but nothing to score under {settings.score_prefix} yet: deployed nothing"
            )
            return summary
    name = deployment_name("approval", score, package.arn, package.last_modified)
    summary.record(*start_deployment(sfn, settings, name, package.arn, score, "approval"))
    return summary


# --- Schedules -------------------------------------------------------------------------------------------------------

SCHEDULE_KEY = "mlops-schedule"
SCHEDULED_TIME_KEY = "scheduled-time"
Schedule = Literal["retrain", "score"]
_SCHEDULES: dict[str, Schedule] = {"retrain": "retrain", "score": "score"}


def parse_schedule(event: Mapping[str, Any]) -> tuple[Schedule, str | None]:
    """Which schedule fired, and the time it was scheduled for (None when invoked without one)."""
    raw = event_field(event, SCHEDULE_KEY, str, path="")
    schedule = _SCHEDULES.get(raw)
    if schedule is None:
        raise InvalidEvent(f"{SCHEDULE_KEY} must be 'retrain' or 'score', got {raw!r}")
    return schedule, optional_field(event, SCHEDULED_TIME_KEY, str, path="")


def handle_schedule(
    schedule: Schedule, occasion: str | None, settings: Settings, *, s3: Any, sfn: Any
) -> Summary:
    """Retrain on the newest train data, or score the newest score data with the latest approved package.

    One run per scheduled time: the scheduled time is part of the execution name, so Scheduler's retries of one
    invocation start one run, and the next occurrence starts another even on unchanged data.
    """
    summary = Summary()
    label = f"schedule {schedule}" + (f" at {occasion}" if occasion else "")
    bucket = settings.feature_bucket
    if schedule == "score" and settings.mode == "endpoint":
        summary.ignore(label, "scheduled scoring applies to batch mode only")
        return summary
    score = newest_object(s3, bucket, settings.score_prefix) if settings.mode == "batch" else None
    if settings.mode == "batch" and score is None:
        summary.ignore(label, f"nothing to score under {s3_uri(bucket, settings.score_prefix)} yet")
        return summary
    if schedule == "score":
        name = deployment_name("schedule", score, occasion or "")
        summary.record(*start_deployment(sfn, settings, name, None, score, "schedule"))
        return summary
    train = newest_object(s3, bucket, settings.train_prefix)
    if train is None:
        summary.ignore(label, f"nothing to train on under {s3_uri(bucket, settings.train_prefix)} yet")
        return summary
    name = execution_name(train, score, occasion)
    summary.record(*start_run(sfn, settings.state_machine_arn, name, train, score))
    return summary


# --- The entry point -------------------------------------------------------------------------------------------------


def route(event: Mapping[str, Any], settings: Settings) -> Summary:
    """Hand the event to the rule for its kind; an event of no known kind is an InvalidEvent saying what was expected."""
    if event.get("Event") == "s3:TestEvent":
        # S3 sends this once when a notification configuration is saved; it names no object.
        return Summary()
    if "Records" in event:
        records = parse_event(event)
        return handle_records(records, settings, s3=client("s3"), sfn=client("stepfunctions"))
    if SCHEDULE_KEY in event:
        schedule, occasion = parse_schedule(event)
        return handle_schedule(schedule, occasion, settings, s3=client("s3"), sfn=client("stepfunctions"))
    if event.get("source") == "aws.sagemaker":
        detail_type = event.get("detail-type")
        if detail_type != PACKAGE_STATE_CHANGE:
            raise InvalidEvent(
                f"detail-type is {detail_type!r}; this function handles {PACKAGE_STATE_CHANGE!r} only"
            )
        return handle_package_event(
            parse_package_event(event),
            settings,
            s3=client("s3"),
            sfn=client("stepfunctions"),
            sagemaker=client("sagemaker"),
        )
    keys = ", ".join(sorted(map(str, event))) or "none"
    raise InvalidEvent(
        "not an event this function handles: expected an S3 notification (Records), an EventBridge "
        f"{PACKAGE_STATE_CHANGE!r} (source aws.sagemaker) or a schedule ({SCHEDULE_KEY}); got keys: {keys}"
    )


@lambda_handler
def handler(event: dict[str, Any]) -> dict[str, Any]:
    """Lambda entry point (`functions.trigger.handler`)."""
    settings = Settings.from_env()
    return route(event, settings).to_dict()
