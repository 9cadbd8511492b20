"""Fixtures for the ETL tests: generated raw files, and a moto S3 holding the feature and extracts stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_component.tools import sample_data
from tests.etl.stores import EXTRACTS_BUCKET, FEATURES_BUCKET


@pytest.fixture(scope="session")
def raw(tmp_path_factory: pytest.TempPathFactory) -> sample_data.SampleFiles:
    """Generated raw files: 3,000 training rows and 750 scoring rows."""
    return sample_data.write_sample_data(tmp_path_factory.mktemp("raw"), 3000, seed=11)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 client with an empty feature store and extracts store."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=FEATURES_BUCKET)
        client.create_bucket(Bucket=EXTRACTS_BUCKET)
        yield client
