"""The SageMaker scikit-learn image lookup: registry account per region, the tag, a clear error elsewhere."""

from __future__ import annotations

import re

import pytest

from mlops_component.builders.framework_images import (
    SKLEARN_REGISTRY_ACCOUNTS,
    UnknownRegionError,
    sklearn_image_uri,
)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
        ("eu-west-1", "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
        (
            "ap-southeast-2",
            "783357654285.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        ),
        (
            "us-gov-west-1",
            "414596584902.dkr.ecr.us-gov-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        ),
        # China's regions have their own domain.
        (
            "cn-north-1",
            "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-scikit-learn:1.2-1-cpu-py3",
        ),
    ],
)
def test_known_regions(region: str, expected: str) -> None:
    assert sklearn_image_uri(region, "1.2-1") == expected


def test_the_version_becomes_the_tag() -> None:
    assert sklearn_image_uri("us-west-2", "1.0-1").endswith("/sagemaker-scikit-learn:1.0-1-cpu-py3")


def test_every_registry_is_an_account_id() -> None:
    assert len(SKLEARN_REGISTRY_ACCOUNTS) >= 30
    for region, account in SKLEARN_REGISTRY_ACCOUNTS.items():
        assert re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", region), region
        assert re.fullmatch(r"\d{12}", account), region


def test_an_unknown_region_says_what_to_set() -> None:
    with pytest.raises(UnknownRegionError) as raised:
        sklearn_image_uri("xx-nowhere-1", "1.2-1")
    message = str(raised.value)
    assert "'xx-nowhere-1'" in message
    assert "processing.framework_image_uri" in message
    assert "us-east-1" in message  # the known regions are listed
