"""The moto stores the ETL tests use, and small helpers to fill and read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FEATURES_BUCKET = "mlops-test-features"
EXTRACTS_BUCKET = "mlops-test-extracts"
TRAIN_KEY = "data/train/train.csv"
SCORE_KEY = "data/score/score.csv"


def land(
    s3: Any, path: Path, key: str, *, prefix: bytes = b"", replace: tuple[bytes, bytes] | None = None
) -> None:
    """Put a raw file into the feature store, optionally with a prefix (a byte order mark) or an edit."""
    data = path.read_bytes()
    if replace:
        data = data.replace(*replace)
    s3.put_object(Bucket=FEATURES_BUCKET, Key=key, Body=prefix + data)


def objects(s3: Any, bucket: str) -> dict[str, str]:
    """Every object in a bucket, by key, with its ETag."""
    listing = s3.list_objects_v2(Bucket=bucket)
    return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def body(s3: Any, key: str) -> bytes:
    """An extracts-store object's bytes."""
    return s3.get_object(Bucket=EXTRACTS_BUCKET, Key=key)["Body"].read()
