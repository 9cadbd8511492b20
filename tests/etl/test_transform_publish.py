"""The extracts store always holds one complete set from one run, whichever single S3 request fails.

A botocore hook fails the Nth request of a run, for every N until the run needs no more requests; after each
failed run the live keys must hold exactly the previous set or exactly the new one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

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


def live(s3: Any) -> dict[str, bytes]:
    """The extracts store's objects outside the scratch prefix, with their bytes."""
    keys = [key for key in objects(s3, EXTRACTS_BUCKET) if not key.startswith(STAGING_PREFIX)]
    return {key: s3.get_object(Bucket=EXTRACTS_BUCKET, Key=key)["Body"].read() for key in keys}


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
    s3: Any, prepare: Any, run: Any, old: dict[str, bytes], new: dict[str, bytes]
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
            assert message.startswith("transform failed: cannot ") and "\n" not in message, message
            assert "injected failure" in message or "InternalError" in message, message
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
