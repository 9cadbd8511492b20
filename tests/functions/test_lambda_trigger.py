"""The trigger against moto S3 and Step Functions, with real-shaped S3 notifications from `tests/events/`."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions import common, trigger
from functions.common import AwsCallFailed, ConfigurationError, InvalidEvent
from tests.functions.lambda_events import ACCOUNT, load_event

BUCKET = "mlops-test-features-123456789012-us-east-1"  # the bucket the fixtures name
TRAIN_KEY = "data/train/employee attrition (2024).csv"  # s3_put_train.json's key, decoded
SCORE_KEY = "data/score/score.csv"
NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


# --- Fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture
def sfn(aws: None) -> Any:
    return common.client("stepfunctions")


@pytest.fixture
def state_machine(sfn: Any) -> str:
    response = sfn.create_state_machine(
        name="mlops-test-training",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/mlops-test-states",
    )
    return str(response["stateMachineArn"])


@pytest.fixture
def feature_store(s3: Any) -> str:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return BUCKET


@pytest.fixture
def batch_mode(monkeypatch: pytest.MonkeyPatch, state_machine: str, feature_store: str) -> str:
    monkeypatch.setenv("STATE_MACHINE_ARN", state_machine)
    monkeypatch.setenv("INFERENCE_MODE", "batch")
    return state_machine


@pytest.fixture
def endpoint_mode(monkeypatch: pytest.MonkeyPatch, state_machine: str, feature_store: str) -> str:
    monkeypatch.setenv("STATE_MACHINE_ARN", state_machine)
    monkeypatch.setenv("INFERENCE_MODE", "endpoint")
    return state_machine


def land(s3: Any, key: str, body: bytes, bucket: str = BUCKET) -> dict[str, Any]:
    """Put an object, as a user landing data would; returns PutObject's response."""
    return dict(s3.put_object(Bucket=bucket, Key=key, Body=body))


def notification(
    fixture: str, put: dict[str, Any], *, key: str | None = None, bucket: str = BUCKET
) -> dict[str, Any]:
    """The fixture's notification, for the object version `put` created. S3 URL-encodes the key (`+` for space);
    without `key`, the fixture's own encoded key is kept."""
    event = load_event(fixture)
    record = event["Records"][0]["s3"]
    record["bucket"]["name"], record["bucket"]["arn"] = bucket, f"arn:aws:s3:::{bucket}"
    if key is not None:
        record["object"]["key"] = quote_plus(key, safe="/")
    record["object"]["eTag"] = put["ETag"].strip('"')
    if "VersionId" in put:
        record["object"]["versionId"] = put["VersionId"]
    else:
        record["object"].pop("versionId", None)
    return event


def executions(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """Every execution of the state machine, with its parsed input."""
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
    return [{"name": d["name"], "status": d["status"], "input": json.loads(d["input"])} for d in described]


def ref(put: dict[str, Any], key: str, bucket: str = BUCKET) -> dict[str, Any]:
    """An object as the execution input describes it."""
    return {"bucket": bucket, "key": key, "version_id": put.get("VersionId"), "etag": put["ETag"].strip('"')}


# --- Batch mode: both files, either order -----------------------------------------------------------------------


def test_train_first_waits_then_score_starts_the_pair(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    train = land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")
    first = trigger.handler(notification("s3_put_train.json", train), context)

    assert first["started"] == []
    assert first["ignored"] == [
        {
            "object": f"s3://{BUCKET}/{TRAIN_KEY}",
            "reason": "waiting for score data: nothing under data/score/ yet",
        }
    ]
    assert executions(sfn, batch_mode) == []

    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    second = trigger.handler(notification("s3_multipart_score.json", score), context)

    (run,) = executions(sfn, batch_mode)
    assert run["input"] == {"train": ref(train, TRAIN_KEY), "score": ref(score, SCORE_KEY)}
    assert NAME.fullmatch(run["name"]) and run["name"].startswith("employee-attrition-2024-")
    assert second["started"][0]["execution_name"] == run["name"]
    assert second["started"][0]["execution_arn"].endswith(f":{run['name']}")


def test_score_first_waits_then_train_starts_the_same_pair(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    first = trigger.handler(notification("s3_multipart_score.json", score), context)
    assert first["ignored"][0]["reason"] == "waiting for train data: nothing under data/train/ yet"

    train = land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")
    trigger.handler(notification("s3_put_train.json", train), context)

    (run,) = executions(sfn, batch_mode)
    assert run["input"] == {"train": ref(train, TRAIN_KEY), "score": ref(score, SCORE_KEY)}


@pytest.mark.parametrize("order", [("train", "score"), ("score", "train")])
def test_both_files_present_when_both_events_arrive_start_one_run(
    batch_mode: str, s3: Any, sfn: Any, context: Any, order: tuple[str, str]
) -> None:
    # The race the old trigger lost: both files land before either event is handled.
    train = land(s3, TRAIN_KEY, b"train")
    score = land(s3, SCORE_KEY, b"score")
    events = {
        "train": notification("s3_put_train.json", train),
        "score": notification("s3_multipart_score.json", score),
    }
    summaries = [trigger.handler(events[kind], context) for kind in order]

    (run,) = executions(sfn, batch_mode)
    assert run["input"] == {"train": ref(train, TRAIN_KEY), "score": ref(score, SCORE_KEY)}
    assert [s["started"][0]["execution_name"] for s in summaries] == [run["name"], run["name"]]


def test_newest_counterpart_is_used_and_folder_placeholders_are_skipped(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, "data/score/", b"")  # a console-created "folder"
    land(s3, "data/score/zz-older.csv", b"old")
    time.sleep(1.1)  # S3's LastModified has one-second resolution
    newest = land(s3, "data/score/aa-newest.csv", b"new")
    train = land(s3, TRAIN_KEY, b"train")

    trigger.handler(notification("s3_put_train.json", train), context)

    (run,) = executions(sfn, batch_mode)
    assert run["input"]["score"] == ref(newest, "data/score/aa-newest.csv")


# --- At-least-once delivery and stale events --------------------------------------------------------------------


def test_duplicate_delivery_starts_one_execution(batch_mode: str, s3: Any, sfn: Any, context: Any) -> None:
    land(s3, SCORE_KEY, b"score")
    event = notification("s3_put_train.json", land(s3, TRAIN_KEY, b"train"))

    summaries = [trigger.handler(event, context) for _ in range(3)]

    (run,) = executions(sfn, batch_mode)
    # While the run is going, StartExecution with the same name and input returns the running execution.
    assert {s["started"][0]["execution_name"] for s in summaries} == {run["name"]}


def test_redelivery_after_the_run_finished_is_a_duplicate_not_a_new_run(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"score")
    event = notification("s3_put_train.json", land(s3, TRAIN_KEY, b"train"))
    first = trigger.handler(event, context)
    sfn.stop_execution(executionArn=first["started"][0]["execution_arn"])

    again = trigger.handler(event, context)

    assert again["started"] == []
    assert again["duplicates"][0]["execution_name"] == first["started"][0]["execution_name"]
    assert len(executions(sfn, batch_mode)) == 1


def test_two_records_for_one_pair_in_one_event_start_once(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"score")
    event = notification("s3_put_train.json", land(s3, TRAIN_KEY, b"train"))
    event["Records"].append(event["Records"][0])

    summary = trigger.handler(event, context)

    assert len(summary["started"]) == 1 and len(summary["duplicates"]) == 1
    assert len(executions(sfn, batch_mode)) == 1


def test_late_event_for_an_overwritten_version_is_ignored(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"score")
    old = land(s3, TRAIN_KEY, b"old train")
    new = land(s3, TRAIN_KEY, b"new train")

    late = trigger.handler(notification("s3_put_train.json", old), context)

    assert late["started"] == []
    assert late["ignored"][0]["reason"] == (
        f"stale event: version {old['VersionId']} is no longer current ({new['VersionId']})"
    )
    assert executions(sfn, batch_mode) == []

    trigger.handler(notification("s3_put_train.json", new), context)
    (run,) = executions(sfn, batch_mode)
    assert run["input"]["train"]["version_id"] == new["VersionId"]


def test_a_new_version_of_the_same_key_starts_a_new_run(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"score")
    trigger.handler(notification("s3_put_train.json", land(s3, TRAIN_KEY, b"monday")), context)
    trigger.handler(notification("s3_put_train.json", land(s3, TRAIN_KEY, b"tuesday")), context)

    runs = executions(sfn, batch_mode)
    assert len(runs) == 2 and runs[0]["name"] != runs[1]["name"]


def test_event_for_a_deleted_object_is_ignored(batch_mode: str, s3: Any, sfn: Any, context: Any) -> None:
    land(s3, SCORE_KEY, b"score")
    event = notification("s3_put_train.json", land(s3, TRAIN_KEY, b"train"))
    s3.delete_object(Bucket=BUCKET, Key=TRAIN_KEY)

    summary = trigger.handler(event, context)

    assert summary["ignored"][0]["reason"] == "the object no longer exists"
    assert executions(sfn, batch_mode) == []


def test_unversioned_bucket_uses_etags_for_staleness_and_names(
    monkeypatch: pytest.MonkeyPatch, state_machine: str, s3: Any, sfn: Any, context: Any
) -> None:
    bucket = "existing-team-data"  # a feature_store_override bucket without versioning
    s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv("STATE_MACHINE_ARN", state_machine)
    monkeypatch.setenv("INFERENCE_MODE", "batch")
    score = land(s3, SCORE_KEY, b"score", bucket)
    old = land(s3, "data/train/train.csv", b"old", bucket)
    new = land(s3, "data/train/train.csv", b"new", bucket)

    late = trigger.handler(notification("s3_put_unversioned.json", old, bucket=bucket), context)
    assert late["ignored"][0]["reason"] == "stale event: the object has been overwritten since"

    current = notification("s3_put_unversioned.json", new, bucket=bucket)
    trigger.handler(current, context)
    trigger.handler(current, context)  # redelivered

    (run,) = executions(sfn, state_machine)
    assert run["input"] == {
        "train": ref(new, "data/train/train.csv", bucket),
        "score": ref(score, SCORE_KEY, bucket),
    }
    assert run["input"]["train"]["version_id"] is None


# --- What does not start a run ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("s3_put_outside_prefix.json", "outside the data prefixes (data/train/, data/score/)"),
        ("s3_put_folder.json", "a folder placeholder (data/train/, data/score/)"),
        ("s3_delete_marker_train.json", "ObjectRemoved:DeleteMarkerCreated is not an ObjectCreated event"),
    ],
)
def test_objects_that_are_not_data_are_ignored_without_calling_aws(
    monkeypatch: pytest.MonkeyPatch, aws: None, context: Any, fixture: str, reason: str
) -> None:
    # No bucket and no state machine exist: any AWS call would fail the invocation.
    monkeypatch.setenv("STATE_MACHINE_ARN", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:absent")
    monkeypatch.setenv("INFERENCE_MODE", "batch")

    event = load_event(fixture)
    (record,) = event["Records"]
    obj = f"s3://{record['s3']['bucket']['name']}/{unquote_plus(record['s3']['object']['key'])}"

    summary = trigger.handler(event, context)

    assert summary["started"] == [] and summary["duplicates"] == []
    assert summary["ignored"] == [{"object": obj, "reason": reason}]  # names the object, for the operator


def test_s3_test_event_is_ignored(batch_mode: str, sfn: Any, context: Any) -> None:
    assert trigger.handler(load_event("s3_test_event.json"), context) == {
        "started": [],
        "duplicates": [],
        "ignored": [],
    }
    assert executions(sfn, batch_mode) == []


# --- Endpoint mode ---------------------------------------------------------------------------------------------------


def test_endpoint_mode_starts_on_train_alone_and_ignores_score(
    endpoint_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    score = trigger.handler(notification("s3_multipart_score.json", land(s3, SCORE_KEY, b"score")), context)
    assert score["ignored"][0]["reason"] == "score data does not start runs in endpoint mode"
    assert executions(sfn, endpoint_mode) == []

    train = land(s3, TRAIN_KEY, b"train")
    trigger.handler(notification("s3_put_train.json", train), context)

    (run,) = executions(sfn, endpoint_mode)
    assert run["input"] == {"train": ref(train, TRAIN_KEY), "score": None}


def test_custom_prefixes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, endpoint_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    monkeypatch.setenv("TRAIN_PREFIX", "incoming/train")  # no trailing slash: normalised
    put = land(s3, "incoming/train/jan.csv", b"train")
    trigger.handler(notification("s3_put_train.json", put, key="incoming/train/jan.csv"), context)

    (run,) = executions(sfn, endpoint_mode)
    assert run["input"]["train"]["key"] == "incoming/train/jan.csv"


def test_url_encoded_keys_are_decoded(endpoint_mode: str, s3: Any, sfn: Any, context: Any) -> None:
    key = "data/train/a+b & c/ü 100%.csv"  # a literal plus, an ampersand, a non-ASCII letter, a percent sign
    put = land(s3, key, b"train")
    event = notification("s3_put_train.json", put, key=key)
    assert event["Records"][0]["s3"]["object"]["key"] == "data/train/a%2Bb+%26+c/%C3%BC+100%25.csv"

    trigger.handler(event, context)

    (run,) = executions(sfn, endpoint_mode)
    assert run["input"]["train"]["key"] == key


# --- Malformed events and configuration ---------------------------------------------------------------------------


def _with(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = load_event("s3_put_train.json")
    mutate(event)
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"detail-type": "Object Created"}, "not an event this function handles: expected an S3 notification (Records), an EventBridge 'SageMaker Model Package State Change' (source aws.sagemaker) or a schedule (mlops-schedule); got keys: detail-type"),
        ({"Records": {"s3": {}}}, "Records must be a JSON list, got a JSON object"),
        ({"Records": ["data/train/x.csv"]}, "Records[0] must be a JSON object"),
        (_with(lambda e: e["Records"][0]["s3"]["object"].update(key=42)), "Records[0].s3.object.key must be a string, got an integer (42)"),
        (_with(lambda e: e["Records"][0]["s3"].pop("bucket")), "Records[0].s3.bucket is missing"),
        (_with(lambda e: e["Records"][0]["s3"]["object"].update(versionId=7)), "Records[0].s3.object.versionId must be a string, got an integer (7)"),
        (_with(lambda e: e["Records"][0].update(eventSource="aws:sqs")), "Records[0].eventSource is 'aws:sqs'; this function handles S3 notifications only"),
        (["not", "an", "object"], "the event must be a JSON object, got a JSON list"),
    ],
)  # fmt: skip
def test_malformed_events_fail_with_a_clear_error(
    batch_mode: str,
    sfn: Any,
    context: Any,
    log_lines: Callable[[], list[dict[str, Any]]],
    event: Any,
    message: str,
) -> None:
    with pytest.raises(InvalidEvent) as raised:
        trigger.handler(event, context)

    assert str(raised.value) == message
    assert executions(sfn, batch_mode) == []
    error = log_lines()[-1]
    assert (error["level"], error["error_type"], error["message"]) == ("ERROR", "InvalidEvent", message)


def test_one_bad_record_fails_the_whole_event_before_any_run_starts(
    batch_mode: str, s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"score")
    event = notification("s3_put_train.json", land(s3, TRAIN_KEY, b"train"))
    bad = json.loads(json.dumps(event["Records"][0]))
    del bad["s3"]["object"]["key"]
    event["Records"].append(bad)

    with pytest.raises(InvalidEvent, match=r"Records\[1\]\.s3\.object\.key is missing"):
        trigger.handler(event, context)
    assert executions(sfn, batch_mode) == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STATE_MACHINE_ARN": ""}, "environment variable STATE_MACHINE_ARN is not set"),
        ({"STATE_MACHINE_ARN": "mlops-test-training"}, "is not a Step Functions state machine ARN"),
        ({"INFERENCE_MODE": "Batch Transform"}, "INFERENCE_MODE must be 'batch' or 'endpoint', got 'Batch Transform'"),
        ({"TRAIN_PREFIX": "data/", "SCORE_PREFIX": "data/score/"}, "must not overlap"),
    ],
)  # fmt: skip
def test_bad_configuration_is_named(
    monkeypatch: pytest.MonkeyPatch, batch_mode: str, context: Any, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        trigger.handler(load_event("s3_put_train.json"), context)


def test_aws_errors_name_the_call_and_the_cause(
    monkeypatch: pytest.MonkeyPatch, batch_mode: str, s3: Any, context: Any
) -> None:
    missing = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:deleted-meanwhile"
    monkeypatch.setenv("STATE_MACHINE_ARN", missing)
    land(s3, SCORE_KEY, b"score")
    event = notification("s3_put_train.json", land(s3, TRAIN_KEY, b"train"))

    with pytest.raises(AwsCallFailed) as raised:
        trigger.handler(event, context)

    assert str(raised.value).startswith(f"states:StartExecution {missing} (name employee-attrition-2024-")
    assert "StateMachineDoesNotExist" in str(raised.value)


def test_every_log_line_is_json_with_the_request_id(
    batch_mode: str, s3: Any, context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    land(s3, SCORE_KEY, b"score")
    summary = trigger.handler(notification("s3_put_train.json", land(s3, TRAIN_KEY, b"train")), context)

    lines = log_lines()
    assert [line["message"] for line in lines] == ["invoked", "started", "succeeded"]
    assert {line["request_id"] for line in lines} == {context.aws_request_id}
    assert lines[1]["execution_name"] == summary["started"][0]["execution_name"]
    assert lines[2]["result"] == summary


# --- The execution name -----------------------------------------------------------------------------------------------

_keys = st.text(min_size=1, max_size=300).map(lambda s: f"data/train/{s}")
_versions = st.one_of(
    st.none(), st.just("null"), st.text(alphabet="abcdefABCDEF0123456789._", min_size=1, max_size=32)
)


@given(key=_keys, version=_versions, etag=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32))
def test_execution_names_are_valid_and_deterministic(key: str, version: str | None, etag: str) -> None:
    train = trigger.ObjectRef(BUCKET, key, version, etag)
    score = trigger.ObjectRef(BUCKET, SCORE_KEY, "v1", "e" * 32)

    name = trigger.execution_name(train, score)

    assert NAME.fullmatch(name)
    assert name == trigger.execution_name(trigger.ObjectRef(BUCKET, key, version, etag), score)
    assert name != trigger.execution_name(train, trigger.ObjectRef(BUCKET, SCORE_KEY, "v2", "e" * 32))
    assert name != trigger.execution_name(train, None)


def test_version_id_wins_over_etag_and_null_versions_fall_back_to_etag() -> None:
    def name(version: str | None, etag: str) -> str:
        return trigger.execution_name(trigger.ObjectRef(BUCKET, TRAIN_KEY, version, etag), None)

    assert name("v1", "a" * 32) == name("v1", "b" * 32)  # same version: same data, whatever S3 says of it
    assert name(None, "a" * 32) != name(None, "b" * 32)
    assert name("null", "a" * 32) != name("null", "b" * 32)  # versioning suspended: "null" is no identity
