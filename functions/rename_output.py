"""Rename batch transform output: every `<prefix>/<input file>.out` becomes `<prefix>/<input stem>.csv`.

Batch Transform names each output after its input file plus `.out` (`score.csv` -> `score.csv.out`, and with
several instances one per score part: `part-00000.csv` -> `part-00000.csv.out`, ...); the crawler and Athena
want `.csv`. The function lists the run's prefix, so it renames every part whatever their number. The stem is
the input's name without its extension, whatever it is called: `score.csv` -> `score.csv`, `batch.txt` ->
`batch.csv`, `scores` -> `scores.csv`.

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


class OutputCollision(FunctionError):
    """Two outputs would be renamed to the same `.csv` key; nothing was renamed."""


def output_destination(key: str) -> str:
    """The `.csv` key a transform output `<folder>/<name>.out` is renamed to: `<folder>/<stem of name>.csv`."""
    path = PurePosixPath(key.removesuffix(OUTPUT_SUFFIX))
    folder = "" if str(path.parent) == "." else f"{path.parent}/"
    return f"{folder}{path.stem}.csv"


def check_prefix(prefix: str) -> str:
    """The run's folder, `<prefix>/`; it must be a non-empty key prefix, since everything under it is renamed."""
    if prefix.startswith(("s3://", "/")):
        raise InvalidEvent(
            f"prefix {prefix!r} must be a key prefix inside the bucket, e.g. 'predictions/run=x/'"
        )
    if not prefix:  # a prefix of slashes alone starts with "/", refused above
        raise InvalidEvent("prefix must name the run's folder, e.g. 'predictions/run=x/'; it is empty")
    return prefix.rstrip("/") + "/"


def plan_renames(bucket: str, keys: list[str]) -> list[RenamePlan]:
    """The renames for the keys listed under a run's folder: one per `.out` object, in key order."""
    plans = [
        RenamePlan(bucket, key, output_destination(key))
        for key in sorted(keys)
        if key.endswith(OUTPUT_SUFFIX)
    ]
    targets: dict[str, str] = {}
    for plan in plans:
        if plan.destination_key in targets:
            raise OutputCollision(
                f"{s3_uri(bucket, targets[plan.destination_key])} and {s3_uri(bucket, plan.source_key)} would both "
                f"become {s3_uri(bucket, plan.destination_key)}; nothing was renamed"
            )
        targets[plan.destination_key] = plan.source_key
    return plans


def list_run(s3: Any, bucket: str, folder: str) -> list[str]:
    """Every key under the run's folder."""
    with aws_errors(f"s3:ListObjectsV2 {s3_uri(bucket, folder)}"):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def rename_run(
    s3: Any, bucket: str, prefix: str, transfer: TransferConfig = DEFAULT_TRANSFER
) -> dict[str, Any]:
    """Rename every output under the run's folder; return `{"bucket", "prefix", "keys"}`, the `.csv` keys.

    Already renamed outputs (a retry) count as done; a folder with neither outputs nor `.csv` files fails.
    """
    folder = check_prefix(prefix)
    listed = list_run(s3, bucket, folder)
    plans = plan_renames(bucket, listed)
    done = {key for key in listed if key.endswith(".csv")}
    if not plans and not done:
        raise OutputNotFound(
            f"no batch transform output (*{OUTPUT_SUFFIX}) and nothing renamed under {s3_uri(bucket, folder)}; check "
            "that the transform wrote to this prefix"
        )
    for plan in plans:
        done.add(rename_output(s3, plan, transfer)["key"])
    return {"bucket": bucket, "prefix": folder, "keys": sorted(done)}


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
        raise OutputNotFound(f"batch transform output {source} does not exist (nor {destination})")

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


def parse_event(event: Mapping[str, Any]) -> tuple[str, str]:
    """The bucket and run prefix a `{"bucket", "prefix"}` event asks to rename (other fields are ignored)."""
    bucket = field(event, "bucket", str, path="")
    if not bucket:
        raise InvalidEvent("bucket must not be empty")
    prefix = field(event, "prefix", str, path="")
    check_prefix(prefix)
    return bucket, prefix


@lambda_handler
def handler(event: dict[str, Any]) -> dict[str, Any]:
    """Lambda entry point (`functions.rename_output.handler`)."""
    bucket, prefix = parse_event(event)
    return rename_run(client("s3"), bucket, prefix)
