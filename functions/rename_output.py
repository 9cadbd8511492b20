"""Rename batch transform output: `<prefix>/<score file>.out` becomes `<prefix>/<score stem>.csv`.

Batch Transform names its output after the input file plus `.out` (`score.csv` -> `score.csv.out`); the crawler
and Athena want `.csv`. The stem is the score file's name without its extension, whatever it is called:
`score.csv` -> `score.csv`, `batch.txt` -> `batch.csv`, `scores` -> `scores.csv`.

The order makes every failure safe: copy with boto3's managed copy (multipart above the threshold, so outputs
over 5 GB work), check the copy's size against the original (a wrong copy is removed), and only then delete the
original. A retry after
any step succeeds: if the `.out` is gone and the `.csv` exists, the rename already happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from boto3.s3.transfer import TransferConfig

from functions.common import (
    FunctionError,
    InvalidEvent,
    aws_errors,
    client,
    field,
    get_logger,
    head_object_or_none,
    lambda_handler,
    s3_uri,
)
from functions.common import fields as log_fields

log = get_logger(__name__)

OUTPUT_SUFFIX = ".out"
# boto3's defaults (multipart above 8 MiB, 8 MiB parts), spelled out because the rename depends on them.
DEFAULT_TRANSFER = TransferConfig(multipart_threshold=8 * 1024**2, multipart_chunksize=8 * 1024**2)


class OutputNotFound(FunctionError):
    """Neither the transform's `.out` file nor an already renamed `.csv` exists."""


class CopyVerificationFailed(FunctionError):
    """The copy does not match the original; the original is kept."""


@dataclass(frozen=True)
class RenamePlan:
    """The object to rename and its new key, in one bucket."""

    bucket: str
    source_key: str
    destination_key: str


def plan_rename(bucket: str, prefix: str, score_key: str) -> RenamePlan:
    """Where the transform wrote its output for `score_key` under `prefix`, and the `.csv` key it becomes."""
    if prefix.startswith(("s3://", "/")):
        raise InvalidEvent(
            f"prefix {prefix!r} must be a key prefix inside the bucket, e.g. 'predictions/run=x/'"
        )
    score_name = PurePosixPath(score_key).name
    if not score_name or score_key.endswith("/"):
        raise InvalidEvent(f"score_key {score_key!r} does not name a file")
    folder = prefix.rstrip("/")
    base = f"{folder}/" if folder else ""
    return RenamePlan(
        bucket=bucket,
        source_key=f"{base}{score_name}{OUTPUT_SUFFIX}",
        destination_key=f"{base}{PurePosixPath(score_name).stem}.csv",
    )


def _object_size(s3: Any, bucket: str, key: str) -> int | None:
    """The object's size in bytes, or None if it does not exist."""
    head = head_object_or_none(s3, bucket, key)
    return None if head is None else int(head["ContentLength"])


def rename_output(s3: Any, plan: RenamePlan, transfer: TransferConfig = DEFAULT_TRANSFER) -> dict[str, str]:
    """Copy, verify, then delete the original. Returns the renamed object's `{"bucket", "key"}`."""
    source, destination = s3_uri(plan.bucket, plan.source_key), s3_uri(plan.bucket, plan.destination_key)
    result = {"bucket": plan.bucket, "key": plan.destination_key}

    size = _object_size(s3, plan.bucket, plan.source_key)
    if size is None:
        if _object_size(s3, plan.bucket, plan.destination_key) is not None:
            log.info("already renamed", extra=log_fields(source=source, destination=destination))
            return result
        raise OutputNotFound(
            f"batch transform output {source} does not exist (nor {destination}); check that the transform "
            "wrote to this prefix and that score_key names the file it scored"
        )

    with aws_errors(f"s3 copy {source} -> {destination}"):
        s3.copy(
            CopySource={"Bucket": plan.bucket, "Key": plan.source_key},
            Bucket=plan.bucket,
            Key=plan.destination_key,
            ExtraArgs={"ContentType": "text/csv", "MetadataDirective": "REPLACE"},
            Config=transfer,
        )
    copied = _object_size(s3, plan.bucket, plan.destination_key)
    if copied != size:
        # A wrong copy must not be left for the crawler to publish; the original stays for the retry.
        with aws_errors(f"s3:DeleteObject {destination}"):
            s3.delete_object(Bucket=plan.bucket, Key=plan.destination_key)
        raise CopyVerificationFailed(
            f"copy {destination} had {copied} bytes, the original {source} has {size}; removed the copy and "
            "kept the original"
        )
    with aws_errors(f"s3:DeleteObject {source}"):
        s3.delete_object(Bucket=plan.bucket, Key=plan.source_key)
    log.info("renamed", extra=log_fields(source=source, destination=destination, bytes=size))
    return result


def parse_event(event: Mapping[str, Any]) -> RenamePlan:
    """The rename a `{"bucket", "prefix", "score_key"}` event asks for."""
    bucket = field(event, "bucket", str, path="")
    if not bucket:
        raise InvalidEvent("bucket must not be empty")
    return plan_rename(bucket, field(event, "prefix", str, path=""), field(event, "score_key", str, path=""))


@lambda_handler
def handler(event: dict[str, Any]) -> dict[str, str]:
    """Lambda entry point (`functions.rename_output.handler`)."""
    return rename_output(client("s3"), parse_event(event))
