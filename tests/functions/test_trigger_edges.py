"""The trigger's edges, driven through its Lambda entry point with S3 notifications as S3 sends them: folder
placeholders, suspended versioning, empty names, overlapping prefixes, readable execution names, and what a
duplicate delivery reports."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import pytest

from functions import common, trigger
from functions.common import ConfigurationError, InvalidEvent
from tests.functions.lambda_events import ACCOUNT, REGION

STORE = "mlops-edge-features"
SCORE = "data/score/score.csv"
TRAIN = "data/train/train.csv"


@dataclass(frozen=True)
class Pipeline:
    """The feature store and the training state machine the trigger starts, in moto."""

    s3: Any
    sfn: Any
    arn: str

    def land(self, key: str, body: bytes = b"1,2\n") -> dict[str, Any]:
        """Write an object as a user would; returns PutObject's response."""
        return dict(self.s3.put_object(Bucket=STORE, Key=key, Body=body))

    def runs(self) -> list[dict[str, Any]]:
        """Every execution's name and parsed input."""
        listed = self.sfn.list_executions(stateMachineArn=self.arn)["executions"]
        described = [self.sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
        return [{"name": d["name"], "input": json.loads(d["input"])} for d in described]


def s3_record(key: str, put: dict[str, Any], *, version: str | None = None) -> dict[str, Any]:
    """One ObjectCreated record as S3 writes it: the key URL-encoded, the ETag unquoted, the version if any."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": 4, "eTag": put["ETag"].strip('"')}
    if version or put.get("VersionId"):
        obj["versionId"] = version or put["VersionId"]
    obj["sequencer"] = "0062E99A88DC407460"
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2024-06-03T08:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "mlops-edge-trigger",
            "bucket": {"name": STORE, "arn": f"arn:aws:s3:::{STORE}"},
            "object": obj,
        },
    }


def invoke(*records: dict[str, Any]) -> dict[str, Any]:
    context = type("Context", (), {"aws_request_id": "edge-request", "function_name": "mlops-edge-trigger"})()
    return trigger.handler({"Records": list(records)}, context)


def _pipeline(monkeypatch: pytest.MonkeyPatch, mode: str, versioning: str | None) -> Pipeline:
    s3, sfn = common.client("s3"), common.client("stepfunctions")
    s3.create_bucket(Bucket=STORE)
    if versioning:
        s3.put_bucket_versioning(Bucket=STORE, VersioningConfiguration={"Status": versioning})
    arn = sfn.create_state_machine(
        name="mlops-edge-training",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}
        ),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/mlops-edge-states",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("INFERENCE_MODE", mode)
    return Pipeline(s3, sfn, arn)


@pytest.fixture
def batch(aws: None, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    return _pipeline(monkeypatch, "batch", "Enabled")


@pytest.fixture
def endpoint(aws: None, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    return _pipeline(monkeypatch, "endpoint", "Enabled")


# --- Folder placeholders are never data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrives", "placeholder", "waiting_for"),
    [(TRAIN, "data/score/", "score"), (SCORE, "data/train/", "train")],
)
def test_a_folder_placeholder_is_not_the_other_file(
    batch: Pipeline, arrives: str, placeholder: str, waiting_for: str
) -> None:
    # A console-created "folder" is an empty object named like the prefix; it must not become the pair's data.
    batch.land(placeholder, b"")

    summary = invoke(s3_record(arrives, batch.land(arrives)))

    assert summary["started"] == []
    assert summary["ignored"] == [
        {
            "object": f"s3://{STORE}/{arrives}",
            "reason": f"waiting for {waiting_for} data: nothing under {placeholder} yet",
        }
    ]
    assert batch.runs() == []


def test_a_placeholder_created_after_the_score_file_does_not_replace_it(batch: Pipeline) -> None:
    score = batch.land(SCORE)
    time.sleep(1.1)  # S3's LastModified has one-second resolution: the placeholder is the newest object

    batch.land("data/score/", b"")

    invoke(s3_record(TRAIN, batch.land(TRAIN)))

    (run,) = batch.runs()
    assert run["input"]["score"]["key"] == SCORE
    assert run["input"]["score"]["version_id"] == score["VersionId"]


# --- Suspended versioning: the version id "null" identifies nothing ----------------------------------------------


def test_with_versioning_suspended_an_overwrite_is_caught_by_the_etag(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _pipeline(monkeypatch, "batch", "Suspended")
    store.land(SCORE)
    old = store.land(TRAIN, b"monday")
    new = store.land(TRAIN, b"tuesday")
    # Objects written while versioning is suspended carry the version id "null" in their notifications.

    late = invoke(s3_record(TRAIN, old, version="null"))
    current = invoke(s3_record(TRAIN, new, version="null"))

    assert late["ignored"][0]["reason"] == "stale event: the object has been overwritten since"
    (run,) = store.runs()
    assert current["started"][0]["execution_name"] == run["name"]
    assert run["input"]["train"]["etag"] == new["ETag"].strip('"')


def test_in_an_unversioned_store_the_same_bytes_under_another_key_are_another_run(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _pipeline(monkeypatch, "endpoint", None)

    for key in ("data/train/2024/january.csv", "data/train/2025/january.csv"):  # one name, one content
        invoke(s3_record(key, store.land(key, b"same rows")))

    runs = store.runs()
    assert sorted(run["input"]["train"]["key"] for run in runs) == [
        "data/train/2024/january.csv",
        "data/train/2025/january.csv",
    ]


# --- Events that name no object ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("emptied", ["bucket", "object"])
def test_an_empty_bucket_name_or_key_is_refused_before_anything_starts(batch: Pipeline, emptied: str) -> None:
    batch.land(SCORE)
    good = s3_record(TRAIN, batch.land(TRAIN))
    bad = json.loads(json.dumps(good))
    bad["s3"][emptied]["name" if emptied == "bucket" else "key"] = ""

    with pytest.raises(InvalidEvent) as raised:
        invoke(good, bad)

    assert str(raised.value) == "Records[1]: bucket name and object key must not be empty"
    assert batch.runs() == []


def test_a_score_prefix_that_contains_the_train_prefix_is_refused(
    batch: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every train object would also be a score object.
    monkeypatch.setenv("SCORE_PREFIX", "data/")
    with pytest.raises(
        ConfigurationError, match="TRAIN_PREFIX 'data/train/' and SCORE_PREFIX 'data/' must not"
    ):
        invoke(s3_record(TRAIN, batch.land(TRAIN)))
    assert batch.runs() == []


def test_an_ignored_object_is_logged_with_the_reason(
    batch: Pipeline, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    invoke(s3_record(TRAIN, batch.land(TRAIN)))

    (line,) = [entry for entry in log_lines() if entry["message"] == "ignored"]
    assert line["object"] == f"s3://{STORE}/{TRAIN}"
    assert line["reason"] == "waiting for score data: nothing under data/score/ yet"


# --- Execution names a person can read --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "stem"),
    [
        ("data/train/(2024) attrition!.csv", "2024-attrition"),
        ("data/train/__march__.csv", "march"),
        ("data/train/(((.csv", "run"),
        ("data/train/Xmas 2024.csv", "Xmas-2024"),
    ],
)
def test_the_execution_name_is_the_file_stem_without_stray_separators(
    endpoint: Pipeline, key: str, stem: str
) -> None:
    summary = invoke(s3_record(key, endpoint.land(key)))

    (run,) = endpoint.runs()
    assert re.fullmatch(rf"{stem}-[0-9a-f]+", run["name"]), run["name"]
    assert summary["started"][0]["execution_name"] == run["name"]
    assert run["input"]["train"]["key"] == key


# --- Duplicates: what the invocation reports ---------------------------------------------------------------------------


def test_a_record_repeated_in_one_event_is_reported_as_a_duplicate_of_the_run(endpoint: Pipeline) -> None:
    record = s3_record(TRAIN, endpoint.land(TRAIN))

    summary = invoke(record, record)

    (run,) = endpoint.runs()
    assert [entry["execution_name"] for entry in summary["started"]] == [run["name"]]
    assert summary["duplicates"] == [
        {"execution_name": run["name"], "train": f"s3://{STORE}/{TRAIN}", "score": None}
    ]


def test_a_redelivery_after_the_run_ended_is_logged_as_already_started(
    batch: Pipeline, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    batch.land(SCORE)
    record = s3_record(TRAIN, batch.land(TRAIN))
    first = invoke(record)
    batch.sfn.stop_execution(executionArn=first["started"][0]["execution_arn"])
    log_lines()

    again = invoke(record)

    (line,) = [entry for entry in log_lines() if entry["message"] == "already started"]
    assert line["execution_name"] == first["started"][0]["execution_name"]
    assert line["score"] == f"s3://{STORE}/{SCORE}"
    assert again["duplicates"] == [
        {
            "execution_name": first["started"][0]["execution_name"],
            "train": f"s3://{STORE}/{TRAIN}",
            "score": f"s3://{STORE}/{SCORE}",
        }
    ]


# --- Several records in one event: one that starts nothing does not stop the rest -----------------------------------


def test_every_record_of_an_event_is_handled_whatever_the_ones_before_it_did(endpoint: Pipeline) -> None:
    removed = s3_record("data/train/removed.csv", endpoint.land("data/train/removed.csv"))
    removed["eventName"] = "ObjectRemoved:Delete"
    deleted = s3_record("data/train/deleted.csv", endpoint.land("data/train/deleted.csv"))
    endpoint.s3.delete_object(Bucket=STORE, Key="data/train/deleted.csv")
    overwritten = s3_record("data/train/b.csv", endpoint.land("data/train/b.csv", b"old"))
    first = s3_record("data/train/a.csv", endpoint.land("data/train/a.csv"))
    records = [
        removed,
        s3_record("notes/readme.txt", endpoint.land("notes/readme.txt")),
        s3_record(SCORE, endpoint.land(SCORE)),  # score data: ignored in endpoint mode
        deleted,
        overwritten,
        first,
        first,  # the same pair again: a duplicate
        s3_record("data/train/b.csv", endpoint.land("data/train/b.csv", b"new")),
    ]

    summary = invoke(*records)

    assert len(summary["ignored"]) == 5 and len(summary["duplicates"]) == 1
    started = sorted(run["input"]["train"]["key"] for run in endpoint.runs())
    assert started == ["data/train/a.csv", "data/train/b.csv"]
    assert len(summary["started"]) == 2


def test_a_custom_score_prefix_is_where_the_pair_s_score_file_is_found(
    batch: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORE_PREFIX", "incoming/score/")
    batch.land(SCORE)  # under the default prefix: not score data here
    batch.land("incoming/score/may.csv")

    invoke(s3_record(TRAIN, batch.land(TRAIN)))

    (run,) = batch.runs()
    assert run["input"]["score"]["key"] == "incoming/score/may.csv"
