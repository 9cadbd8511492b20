"""Where the SageMaker scikit-learn framework image lives in each region: the processing pipeline's script image.

SageMaker publishes its framework images in one ECR registry (an AWS-owned account) per region, under the
repository `sagemaker-scikit-learn` with tags `<version>-cpu-py3`. The accounts below are those of the SageMaker
Python SDK's `image_uri_config/sklearn.json`, which uses the same account for every scikit-learn version in a
region. Processing jobs pull these images with SageMaker's own credentials, so the execution role needs no ECR
permissions for them.
"""

from __future__ import annotations

SKLEARN_REPOSITORY = "sagemaker-scikit-learn"

SKLEARN_REGISTRY_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


class UnknownRegionError(ValueError):
    """No scikit-learn image registry is known for the region; the message says how to go on."""


def ecr_domain(region: str) -> str:
    """The ECR registry host suffix of a region: China's regions have their own DNS suffix."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def sklearn_image_uri(region: str, version: str) -> str:
    """The SageMaker scikit-learn CPU image of `version` (e.g. `1.2-1`) in `region`."""
    account = SKLEARN_REGISTRY_ACCOUNTS.get(region)
    if account is None:
        raise UnknownRegionError(
            f"no SageMaker scikit-learn image registry is known for region {region!r}; set "
            "processing.framework_image_uri to the image to run the pre- and post-processing scripts on "
            f"(known regions: {', '.join(sorted(SKLEARN_REGISTRY_ACCOUNTS))})"
        )
    return f"{account}.dkr.ecr.{region}.{ecr_domain(region)}/{SKLEARN_REPOSITORY}:{version}-cpu-py3"
