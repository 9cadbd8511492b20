"""The extracts store always holds one complete set from one run, whichever single S3 request fails.

A botocore hook fails the Nth request of a run, for every N until the run needs no more requests; after each
failed run the live keys must hold exactly the previous set or exactly the new one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from etl import transform
from etl.transform import STAGING_PREFIX
from mlops_component import layout
from tests.etl.stores import EXTRACTS_BUCKET, SCORE_KEY, TRAIN_KEY, land, objects
from tests.etl.test_transform_s3 import OUTPUTS, job

WRITES = {"PutObject", "CopyObject", "DeleteObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy"}


class FailNth:
    """A `before-call` hook that fails the Nth S3 request as S3 would (a 500 InternalError)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.requests: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.requests.append(model.name)
        if len(self.requests) == self.n:
            error = {"Error": {"Code": "InternalError", "Message": "injected failure"}}
            raise ClientError(error, model.name)  # type: ignore[arg-type]


Object = tuple[bytes, str, dict[str, str]]


def live(s3: Any) -> dict[str, Object]:
    """The extracts store's objects outside the scratch prefix: bytes, content type and user metadata."""
    keys = [key for key in objects(s3, EXTRACTS_BUCKET) if not key.startswith(STAGING_PREFIX)]
    found = {key: s3.get_object(Bucket=EXTRACTS_BUCKET, Key=key) for key in keys}
    return {key: (got["Body"].read(), got["ContentType"], got["Metadata"]) for key, got in found.items()}


def scratch(s3: Any) -> list[str]:
    return [key for key in objects(s3, EXTRACTS_BUCKET) if key.startswith(STAGING_PREFIX)]


def reset(s3: Any, raw: Any, *, previous_run: bool) -> None:
    """An extracts store holding the previous run's set (or nothing), and this run's changed inputs landed."""
    for key in objects(s3, EXTRACTS_BUCKET):
        s3.delete_object(Bucket=EXTRACTS_BUCKET, Key=key)
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    if previous_run:
        job(s3)
    land(s3, raw.train, TRAIN_KEY, replace=(b",Travel_Rarely,", b",Travel_Frequently,"))
    land(s3, raw.score, SCORE_KEY, replace=(b",Married,", b",Divorced,"))


def fail_each_request_in_turn(
    s3: Any, prepare: Any, run: Any, old: dict[str, Object], new: dict[str, Object]
) -> list[str]:
    """Fail request 1, 2, ... of `run` after `prepare`, until it needs no more; return the failed writes.

    After each failed run the live keys must hold exactly `old` or exactly `new`."""
    failed_writes = []
    n = 0
    while True:
        n += 1
        prepare()
        hook = FailNth(n)
        s3.meta.events.register("before-call.s3", hook)
        try:
            run()
            completed = True
        except SystemExit as stopped:
            completed = False
            message = str(stopped)
            # One line, naming the request's object and S3's error as S3 gave it (not boto3's wrapping of it).
            assert re.fullmatch(
                r"transform failed: cannot (read|write|list|remove) s3://[\w-]+/\S*: "
                "InternalError: injected failure",
                message,
            ), message
        finally:
            s3.meta.events.unregister("before-call.s3", hook)
        after = live(s3)
        failed = hook.requests[n - 1] if len(hook.requests) >= n else None
        assert after in (old, new), f"request {n} ({failed}) left a mixed set: {sorted(after)}"
        if failed != "DeleteObject":
            assert scratch(s3) == [], f"request {n} ({failed}) left scratch objects"
        if failed is None:
            assert completed and after == new
            return failed_writes
        if failed in WRITES:
            failed_writes.append(failed)
        # A failure before the last promotion step leaves the old set; the new set is never half there.
        assert completed or after == old or failed == "DeleteObject"


@pytest.mark.parametrize("previous_run", [True, False], ids=["replacing-a-set", "first-run"])
def test_any_single_failed_request_leaves_the_old_set_or_the_new_one(
    s3: Any, raw: Any, previous_run: bool
) -> None:
    reset(s3, raw, previous_run=previous_run)
    old = live(s3)
    job(s3)
    new = live(s3)
    assert set(new) == OUTPUTS and new != old and scratch(s3) == []

    failed_writes = fail_each_request_in_turn(
        s3, lambda: reset(s3, raw, previous_run=previous_run), lambda: job(s3), old, new
    )
    # Every stage was hit: staged uploads, backups and promotions (copies), clean-up (deletes).
    assert {"PutObject", "CopyObject", "DeleteObject"} <= set(failed_writes)
    # Replacing a set, the schema's bytes are the same: two files staged, backed up and promoted, four removed.
    # A first run stages and promotes all three and has nothing to back up.
    staged = 2 if previous_run else 3
    assert failed_writes.count("PutObject") == staged
    assert failed_writes.count("CopyObject") == (2 * staged if previous_run else staged)
    assert failed_writes.count("DeleteObject") == (2 * staged if previous_run else staged)


def test_removing_parts_and_a_holdout_is_all_or_nothing_too(s3: Any, raw: Any) -> None:
    """The previous set has three score parts and a validation holdout; this one has neither."""
    shaped = ("--score_parts", "3", "--validation", "true")

    def prepare() -> None:
        reset(s3, raw, previous_run=False)
        job(s3, extra=shaped)

    prepare()
    old = live(s3)
    job(s3)
    new = live(s3)
    assert {"score/part-00002.csv", "validation/validation.csv"} <= set(old) and set(new) == OUTPUTS
    failed_writes = fail_each_request_in_turn(s3, prepare, lambda: job(s3), old, new)
    # Staged: train and score. Backed up: train (score/score.csv is new) and the four keys removed. Promoted: two.
    assert failed_writes.count("PutObject") == 2
    assert failed_writes.count("CopyObject") == 5 + 2
    # Removed: three parts and the holdout, then the seven scratch objects.
    assert failed_writes.count("DeleteObject") == 4 + 7


def test_a_missing_destination_bucket_is_one_line_naming_it(s3: Any, raw: Any) -> None:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    with pytest.raises(SystemExit) as stopped:
        job(s3, destination="no-such-extracts-bucket")
    assert re.fullmatch(
        r"transform failed: cannot (read|write|list) s3://no-such-extracts-bucket/\S+: the bucket no-such-extracts-bucket does "
        r"not exist",
        str(stopped.value),
    ), stopped.value
    with pytest.raises(SystemExit) as stopped:
        job(s3, destination="no-such-extracts-bucket", train_key="")
    assert str(stopped.value).endswith(
        "from a training run: the bucket no-such-extracts-bucket does not exist"
    )


def test_the_scratch_prefix_is_the_one_the_job_may_write_and_no_reader_lists() -> None:
    assert STAGING_PREFIX == layout.ETL_STAGING_PREFIX and STAGING_PREFIX in layout.EXTRACT_PREFIXES
    readers = [layout.TRAIN_CHANNEL_PREFIX, layout.VALIDATION_CHANNEL_PREFIX, layout.SCORE_EXTRACT_PREFIX]
    assert not any(STAGING_PREFIX.startswith(prefix) for prefix in readers)


def test_a_lost_connection_while_publishing_is_one_line_and_the_old_set_stays(s3: Any, raw: Any) -> None:
    reset(s3, raw, previous_run=True)
    old = live(s3)

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=f"https://{EXTRACTS_BUCKET}.s3.amazonaws.com")

    s3.meta.events.register("before-call.s3.PutObject", unreachable)
    with pytest.raises(SystemExit) as stopped:
        job(s3)

    assert re.fullmatch(
        rf"transform failed: cannot write s3://{EXTRACTS_BUCKET}/{STAGING_PREFIX}\S+: Could not connect to the "
        r"endpoint URL: \S+",
        str(stopped.value),
    ), stopped.value
    assert live(s3) == old


def staging_run(s3: Any) -> tuple[str, set[str], datetime, datetime]:
    """Run the job; return its scratch folder's run name, the `new|old/<key>` it staged, and when it ran."""
    keys: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        keys.append(params.get("Key", ""))

    s3.meta.events.register("provide-client-params.s3.*", record)
    started = datetime.now(UTC).replace(microsecond=0)
    try:
        job(s3)
    finally:
        s3.meta.events.unregister("provide-client-params.s3.*", record)
    staged = [key for key in keys if key.startswith(STAGING_PREFIX)]
    found = [re.fullmatch(r"etl-runs/(\d{8}T\d{6}Z-[0-9a-f]{8})/((new|old)/.+)", key) for key in staged]
    assert staged and all(found), staged
    (run,) = {match[1] for match in found if match}
    return run, {match[2] for match in found if match}, started, datetime.now(UTC)


def test_each_run_stages_under_its_own_utc_start_time_and_random_suffix(s3: Any, raw: Any) -> None:
    """`etl-runs/<YYYYMMDDTHHMMSSZ>-<8 hex>/`: runs sort by start time, and two runs in the same second still
    get their own scratch folders."""
    runs = []
    for _ in range(2):
        reset(s3, raw, previous_run=True)
        run, staged, started, ended = staging_run(s3)
        # The changed inputs change both extracts, not the schema: the only keys staged and backed up.
        assert staged == {
            f"{side}/{key}" for side in ("new", "old") for key in (transform.TRAIN_KEY, transform.SCORE_KEY)
        }
        assert started <= datetime.strptime(run[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) <= ended
        runs.append(run)
    assert runs[0] != runs[1]


@contextlib.contextmanager
def failing_requests(s3: Any, operation: str, failing: Any) -> Iterator[None]:
    """Fail each `operation` request whose parameters `failing` picks, as S3 would (a 500 InternalError)."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        if failing(params):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected failure"}}, operation)

    s3.meta.events.register(f"provide-client-params.s3.{operation}", hook)
    try:
        yield
    finally:
        s3.meta.events.unregister(f"provide-client-params.s3.{operation}", hook)


def run_failing_the_second_promotion(s3: Any) -> list[str]:
    """Run the job with its second copy onto a live key failing; return the live keys it copied onto."""
    promotions: list[str] = []

    def second_promotion(params: dict[str, Any]) -> bool:
        if params["Key"].startswith(STAGING_PREFIX):
            return False
        promotions.append(params["Key"])
        return len(promotions) == 2

    with failing_requests(s3, "CopyObject", second_promotion), pytest.raises(SystemExit):
        job(s3)
    return promotions


def test_the_log_names_each_key_removed_the_set_put_back_and_scratch_left_behind(
    s3: Any, raw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="mlops.etl")
    store = f"s3://{EXTRACTS_BUCKET}"

    def logged(level: str) -> list[str]:
        messages = [r.getMessage() for r in caplog.records if r.name == "mlops.etl" and r.levelname == level]
        caplog.clear()
        return messages

    # A set with score parts and a holdout, replaced by one without: each key removed is named.
    reset(s3, raw, previous_run=False)
    job(s3, extra=("--score_parts", "2", "--validation", "true"))
    caplog.clear()
    job(s3)
    removed = [m for m in logged("INFO") if m.startswith("removed ")]
    assert removed == [
        f"removed {store}/{key} (not part of this set)"
        for key in ("score/part-00000.csv", "score/part-00001.csv", "validation/validation.csv")
    ]

    # The second promotion fails: the first is undone, and the log says the set is as it was.
    reset(s3, raw, previous_run=True)
    promotions = run_failing_the_second_promotion(s3)
    assert logged("ERROR") == [
        "the extract set was put back as it was before this run",
        f"transform failed: cannot write {store}/{promotions[1]}: InternalError: injected failure",
    ]

    # Cleaning up fails: the new set stands, and the scratch object left behind is named.
    reset(s3, raw, previous_run=True)
    with failing_requests(s3, "DeleteObject", lambda params: params["Key"].startswith(STAGING_PREFIX)):
        job(s3)
    left = logged("WARNING")
    assert len(left) == 4 and all(
        re.fullmatch(
            rf"left a scratch object behind \(no reader uses it\): cannot remove {store}/{STAGING_PREFIX}\S+: "
            "InternalError: injected failure",
            message,
        )
        for message in left
    ), left


def test_a_failed_run_puts_each_object_back_with_its_content_type_and_metadata(s3: Any, raw: Any) -> None:
    """Even one this job did not write that way: a backup and its restore keep what the object had."""
    reset(s3, raw, previous_run=True)
    s3.copy_object(
        Bucket=EXTRACTS_BUCKET,
        Key=transform.TRAIN_KEY,
        CopySource={"Bucket": EXTRACTS_BUCKET, "Key": transform.TRAIN_KEY},
        MetadataDirective="REPLACE",
        ContentType="text/plain",
        Metadata={"sha256": "0" * 64, "written-by": "an earlier release"},
    )
    old = live(s3)
    promotions = run_failing_the_second_promotion(s3)
    assert promotions[0] == transform.TRAIN_KEY and live(s3) == old
    assert old[transform.TRAIN_KEY][1:] == (
        "text/plain",
        {"sha256": "0" * 64, "written-by": "an earlier release"},
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            {"Code": "SlowDown", "Message": "Please reduce your request rate."},
            "SlowDown: Please reduce your request rate.",
        ),
        ({"Code": "SlowDown"}, "SlowDown"),
        ({"Code": "", "Message": "no code"}, "no code"),
        ({"Message": "no code"}, "no code"),
        (
            {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist"},
            "the bucket b does not exist",
        ),
    ],
)
def test_an_s3_error_reads_as_its_code_and_message(error: dict[str, str], reason: str) -> None:
    assert transform._client_error(ClientError({"Error": error}, "PutObject"), "b") == reason  # type: ignore[arg-type]
