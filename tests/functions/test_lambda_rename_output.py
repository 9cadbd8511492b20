"""Rename batch output against moto S3: every `.out` file of the run becomes `.csv`, and each original goes only
after a verified copy."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from functions import rename_output
from functions.common import InvalidEvent, TransientAwsError
from functions.rename_output import CopyVerificationFailed, OutputCollision, OutputNotFound, RenamePlan
from tests.functions.lambda_events import load_event

OUTPUT_BUCKET = "mlops-test-output-123456789012-us-east-1"  # sfn_rename_output.json's bucket
RUN_PREFIX = "predictions/run=employee-attrition-3f9c2a1b0d4e"
PREDICTIONS = b"1001,0.12\n1002,0.87\n1003,0.44\n"


@pytest.fixture
def output_store(s3: Any) -> str:
    s3.create_bucket(Bucket=OUTPUT_BUCKET)
    return OUTPUT_BUCKET


def keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=OUTPUT_BUCKET).get("Contents", []))


def body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read())


def fail_on(
    s3: Any,
    operation: str,
    code: str = "InternalError",
    when: Callable[[dict[str, Any]], bool] = lambda p: True,
) -> None:
    """Make `operation` fail on the real (moto) client, as S3 would on a bad day."""

    def fail(params: dict[str, Any], **_: Any) -> None:
        if when(params):
            raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)

    s3.meta.events.register(f"before-parameter-build.s3.{operation}", fail)


def test_renames_the_transform_output(output_store: str, s3: Any, context: Any) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)
    s3.put_object(Bucket=OUTPUT_BUCKET, Key="predictions/run=older/score.csv", Body=b"older run")

    result = rename_output.handler(load_event("sfn_rename_output.json"), context)

    assert result == {
        "bucket": OUTPUT_BUCKET,
        "prefix": f"{RUN_PREFIX}/",
        "keys": [f"{RUN_PREFIX}/score.csv"],
    }
    assert keys(s3) == [f"{RUN_PREFIX}/score.csv", "predictions/run=older/score.csv"]
    assert body(s3, f"{RUN_PREFIX}/score.csv") == PREDICTIONS
    assert s3.head_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv")["ContentType"] == "text/csv"


def test_every_part_of_a_run_is_renamed_and_other_runs_are_left_alone(
    output_store: str, s3: Any, context: Any
) -> None:
    parts = {f"{RUN_PREFIX}/part-{n:05d}.csv.out": b"%d,0.5\n" % n for n in range(3)}
    for key, data in parts.items():
        s3.put_object(Bucket=OUTPUT_BUCKET, Key=key, Body=data)
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}-other/part-00000.csv.out", Body=b"other run")

    result = rename_output.handler(load_event("sfn_rename_output.json"), context)

    renamed = [key.removesuffix(".out") for key in parts]
    assert result == {"bucket": OUTPUT_BUCKET, "prefix": f"{RUN_PREFIX}/", "keys": renamed}
    assert keys(s3) == sorted([*renamed, f"{RUN_PREFIX}-other/part-00000.csv.out"])
    assert [body(s3, key) for key in renamed] == list(parts.values())


def test_a_retry_after_some_parts_were_renamed_renames_the_rest(
    output_store: str, s3: Any, context: Any
) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/part-00000.csv", Body=b"1,0.5\n")
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/part-00001.csv.out", Body=b"2,0.5\n")

    result = rename_output.handler(load_event("sfn_rename_output.json"), context)

    assert result["keys"] == [f"{RUN_PREFIX}/part-00000.csv", f"{RUN_PREFIX}/part-00001.csv"]
    assert keys(s3) == result["keys"]


@pytest.mark.parametrize(
    ("output", "renamed"),
    [
        ("score.csv.out", "score.csv"),
        ("batch.txt.out", "batch.csv"),
        ("scores.out", "scores.csv"),
        ("may 2024.v2.tsv.out", "may 2024.v2.csv"),
        ("predict.out.out", "predict.csv"),
        ("nested/part-00001.csv.out", "nested/part-00001.csv"),
    ],
)
@pytest.mark.parametrize("prefix", [RUN_PREFIX, f"{RUN_PREFIX}/", "predictions/run=APEX"])
def test_any_input_file_name_and_either_prefix_form(
    output_store: str, s3: Any, context: Any, output: str, renamed: str, prefix: str
) -> None:
    folder = f"{prefix.rstrip('/')}/"
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{folder}{output}", Body=PREDICTIONS)

    result = rename_output.handler({"bucket": OUTPUT_BUCKET, "prefix": prefix}, context)

    assert result["keys"] == [f"{folder}{renamed}"]
    assert keys(s3) == [f"{folder}{renamed}"]


def test_two_outputs_that_would_get_one_name_rename_nothing(output_store: str, s3: Any, context: Any) -> None:
    for name in ("a.txt.out", "a.csv.out"):
        s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/{name}", Body=PREDICTIONS)
    with pytest.raises(OutputCollision, match=r"a\.csv\.out and .*a\.txt\.out would both become .*/a\.csv;"):
        rename_output.handler(load_event("sfn_rename_output.json"), context)
    assert keys(s3) == [f"{RUN_PREFIX}/a.csv.out", f"{RUN_PREFIX}/a.txt.out"]


def test_retry_after_success_is_idempotent(output_store: str, s3: Any, context: Any) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)
    event = load_event("sfn_rename_output.json")

    first = rename_output.handler(event, context)
    second = rename_output.handler(event, context)

    assert (
        first
        == second
        == {"bucket": OUTPUT_BUCKET, "prefix": f"{RUN_PREFIX}/", "keys": [f"{RUN_PREFIX}/score.csv"]}
    )
    assert keys(s3) == [f"{RUN_PREFIX}/score.csv"] and body(s3, f"{RUN_PREFIX}/score.csv") == PREDICTIONS


def test_retry_after_copy_but_before_delete_completes(output_store: str, s3: Any, context: Any) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)
    s3.put_object(
        Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv", Body=PREDICTIONS[:10]
    )  # an earlier attempt

    rename_output.handler(load_event("sfn_rename_output.json"), context)

    assert keys(s3) == [f"{RUN_PREFIX}/score.csv"] and body(s3, f"{RUN_PREFIX}/score.csv") == PREDICTIONS


def test_missing_output_is_a_clear_error_and_nothing_is_deleted(
    output_store: str, s3: Any, context: Any
) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}-other/score.csv.out", Body=PREDICTIONS)

    with pytest.raises(OutputNotFound) as raised:
        rename_output.handler(load_event("sfn_rename_output.json"), context)

    assert str(raised.value) == (
        f"no batch transform output (*.out) and nothing renamed under s3://{OUTPUT_BUCKET}/{RUN_PREFIX}/; check "
        "that the transform wrote to this prefix"
    )
    assert keys(s3) == [f"{RUN_PREFIX}-other/score.csv.out"]


def test_failed_copy_leaves_the_original_in_place(output_store: str, s3: Any, context: Any) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)
    fail_on(s3, "CopyObject")

    with pytest.raises(
        TransientAwsError, match=r"s3 copy .*score\.csv\.out -> .*score\.csv failed: InternalError"
    ):
        rename_output.handler(load_event("sfn_rename_output.json"), context)

    assert (
        keys(s3) == [f"{RUN_PREFIX}/score.csv.out"] and body(s3, f"{RUN_PREFIX}/score.csv.out") == PREDICTIONS
    )


def test_failed_multipart_copy_leaves_the_original_and_no_partial_copy(output_store: str, s3: Any) -> None:
    data = os.urandom(6 * 1024**2)
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=data)
    fail_on(s3, "UploadPartCopy", when=lambda params: params["PartNumber"] == 2)
    small_parts = TransferConfig(multipart_threshold=5 * 1024**2, multipart_chunksize=5 * 1024**2)

    with pytest.raises(TransientAwsError):
        rename_output.rename_output(
            s3,
            RenamePlan(OUTPUT_BUCKET, f"{RUN_PREFIX}/score.csv.out", f"{RUN_PREFIX}/score.csv"),
            small_parts,
        )

    assert keys(s3) == [f"{RUN_PREFIX}/score.csv.out"]
    assert (
        s3.list_multipart_uploads(Bucket=OUTPUT_BUCKET).get("Uploads", []) == []
    )  # aborted, not left behind


def test_large_output_is_copied_in_parts(output_store: str, s3: Any) -> None:
    # Above the multipart threshold boto3's managed copy uses UploadPartCopy, which is what lifts CopyObject's 5 GB
    # limit. The threshold is lowered here so that a 6 MiB object exercises that path.
    data = os.urandom(6 * 1024**2)
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=data)
    calls: list[str] = []
    s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    small_parts = TransferConfig(multipart_threshold=5 * 1024**2, multipart_chunksize=5 * 1024**2)

    (plan,) = rename_output.plan_renames(OUTPUT_BUCKET, [f"{RUN_PREFIX}/score.csv.out"])
    rename_output.rename_output(s3, plan, small_parts)

    assert calls.count("UploadPartCopy") == 2 and "CopyObject" not in calls
    assert body(s3, f"{RUN_PREFIX}/score.csv") == data
    assert keys(s3) == [f"{RUN_PREFIX}/score.csv"]


def test_copy_that_does_not_match_is_removed_and_the_original_kept(
    output_store: str, s3: Any, context: Any
) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)

    heads: list[str] = []  # after-call handlers do not see the request parameters, so note the key first
    s3.meta.events.register(
        "before-parameter-build.s3.HeadObject", lambda params, **_: heads.append(params["Key"])
    )

    def truncate_copy_size(parsed: dict[str, Any], **_: Any) -> None:
        if heads[-1].endswith("score.csv"):
            parsed["ContentLength"] = 3

    s3.meta.events.register("after-call.s3.HeadObject", truncate_copy_size)

    with pytest.raises(
        CopyVerificationFailed, match=r"had 3 bytes, the original .* has 30; removed the copy"
    ):
        rename_output.handler(load_event("sfn_rename_output.json"), context)

    assert keys(s3) == [f"{RUN_PREFIX}/score.csv.out"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"prefix": RUN_PREFIX}, "bucket is missing"),
        ({"bucket": OUTPUT_BUCKET}, "prefix is missing"),
        ({"bucket": OUTPUT_BUCKET, "prefix": 5}, "prefix must be a string, got an integer (5)"),
        ({"bucket": "", "prefix": RUN_PREFIX}, "bucket must not be empty"),
        ({"bucket": OUTPUT_BUCKET, "prefix": ""}, "prefix must name the run's folder"),
        ({"bucket": OUTPUT_BUCKET, "prefix": "//"}, "prefix '//' must be a key prefix inside the bucket"),
        ({"bucket": OUTPUT_BUCKET, "prefix": f"s3://{OUTPUT_BUCKET}/{RUN_PREFIX}"}, f"prefix 's3://{OUTPUT_BUCKET}/{RUN_PREFIX}' must be a key prefix inside the bucket"),
    ],
)  # fmt: skip
def test_malformed_input_fails_and_touches_nothing(
    output_store: str, s3: Any, context: Any, event: dict[str, Any], message: str
) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)

    with pytest.raises(InvalidEvent, match="^" + re.escape(message)):
        rename_output.handler(event, context)
    assert keys(s3) == [f"{RUN_PREFIX}/score.csv.out"]


def test_plan_is_pure() -> None:
    assert rename_output.plan_renames("b", ["p/q/x.csv", "p/q/batch.txt.out", "p/q/part-00000.csv.out"]) == [
        RenamePlan("b", "p/q/batch.txt.out", "p/q/batch.csv"),
        RenamePlan("b", "p/q/part-00000.csv.out", "p/q/part-00000.csv"),
    ]


# --- Two invocations on one run (a Step Functions retry while the first attempt still runs) ------------------------


def test_an_output_renamed_meanwhile_by_another_attempt_counts_as_done(
    output_store: str, s3: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # Listed as `.out`, then renamed by the other attempt before this one reached it.
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv", Body=PREDICTIONS)
    plan = RenamePlan(OUTPUT_BUCKET, f"{RUN_PREFIX}/score.csv.out", f"{RUN_PREFIX}/score.csv")

    assert rename_output.rename_output(s3, plan) == {
        "bucket": OUTPUT_BUCKET,
        "key": f"{RUN_PREFIX}/score.csv",
    }

    assert keys(s3) == [f"{RUN_PREFIX}/score.csv"] and body(s3, f"{RUN_PREFIX}/score.csv") == PREDICTIONS
    (line,) = log_lines()
    assert (line["message"], line["source"], line["destination"]) == (
        "already renamed",
        f"s3://{OUTPUT_BUCKET}/{RUN_PREFIX}/score.csv.out",
        f"s3://{OUTPUT_BUCKET}/{RUN_PREFIX}/score.csv",
    )


def test_an_output_that_vanished_without_a_rename_is_an_error(output_store: str, s3: Any) -> None:
    plan = RenamePlan(OUTPUT_BUCKET, f"{RUN_PREFIX}/score.csv.out", f"{RUN_PREFIX}/score.csv")

    with pytest.raises(OutputNotFound) as raised:
        rename_output.rename_output(s3, plan)

    assert str(raised.value) == (
        f"batch transform output s3://{OUTPUT_BUCKET}/{RUN_PREFIX}/score.csv.out does not exist "
        f"(nor s3://{OUTPUT_BUCKET}/{RUN_PREFIX}/score.csv)"
    )


def test_each_rename_is_logged_with_its_size(
    output_store: str, s3: Any, context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)

    rename_output.handler(load_event("sfn_rename_output.json"), context)

    (renamed,) = [line for line in log_lines() if line["message"] == "renamed"]
    assert renamed["source"] == f"s3://{OUTPUT_BUCKET}/{RUN_PREFIX}/score.csv.out"
    assert renamed["destination"] == f"s3://{OUTPUT_BUCKET}/{RUN_PREFIX}/score.csv"
    assert renamed["bytes"] == len(PREDICTIONS)


def test_outputs_over_copy_objects_5_gb_limit_are_copied_in_parts(
    output_store: str, s3: Any, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CopyObject refuses sources over 5 GB; above the threshold boto3's managed copy uses UploadPartCopy instead.
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{RUN_PREFIX}/score.csv.out", Body=PREDICTIONS)
    configs: list[TransferConfig] = []
    copy = s3.copy

    def recording(*args: Any, **kwargs: Any) -> None:
        configs.append(kwargs["Config"])
        copy(*args, **kwargs)

    monkeypatch.setattr(s3, "copy", recording)

    rename_output.handler(load_event("sfn_rename_output.json"), context)

    (config,) = configs
    assert config.multipart_threshold <= 5 * 1024**3
