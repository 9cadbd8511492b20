"""The IAM requests behind the AWS calls code makes: recorded while the code runs against moto, then turned into
(action, resource, condition context) by the Service Authorization Reference's rules for each operation.

An operation missing from `iam_requests` fails the test that met it, so new calls cannot slip past the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.iam_checks import evaluate

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource, with the request's condition keys."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = field(default="", compare=False)

    @property
    def context_dict(self) -> dict[str, str]:
        return dict(self.context)


def denied(policy: dict[str, Any], requests: list[Request]) -> list[str]:
    """The requests `policy` does not allow, each with why the code makes it."""
    return [
        f"{r.action} on {r.resource} {r.context_dict or ''} ({r.why})"
        for r in requests
        if evaluate(policy, r.action, r.resource, r.context_dict) != "Allow"
    ]


Call = tuple[str, str, dict[str, Any], str | None]  # service, operation, parameters, error code


@contextmanager
def recording() -> Iterator[list[Call]]:
    """Every call any boto3 client makes meanwhile (stubbed clients included), with the error it got."""
    calls: list[Call] = []
    original = BaseClient._make_api_call

    def record(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        try:
            response = original(self, operation, params)
        except ClientError as error:
            calls.append((service, operation, dict(params), error.response.get("Error", {}).get("Code")))
            raise
        calls.append((service, operation, dict(params), None))
        return response

    with mock.patch.object(BaseClient, "_make_api_call", record):
        yield calls


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _read(bucket: str, key: str, version: str | None, why: str) -> Request:
    return Request("s3:GetObjectVersion" if version else "s3:GetObject", object_arn(bucket, key), why=why)


def _copy_source(params: dict[str, Any]) -> tuple[str, str, str | None]:
    source = params["CopySource"]
    if isinstance(source, dict):
        return source["Bucket"], source["Key"], source.get("VersionId")
    path, _, version = source.partition("?versionId=")
    bucket, _, key = path.partition("/")
    return bucket, key, version or None


_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _s3(operation: str, params: dict[str, Any], error: str | None, *, tells_missing: bool) -> list[Request]:
    why = f"s3:{operation}"
    bucket = params.get("Bucket", "")
    key = params.get("Key", "")
    if operation in ("GetObject", "HeadObject") and error in _NOT_FOUND and tells_missing:
        # S3 answers 404 for a missing key only to a caller allowed s3:ListBucket on the bucket, and such a
        # request carries no s3:prefix; otherwise it answers 403, which code that treats 404 as "absent" fails on.
        return [
            _read(bucket, key, params.get("VersionId"), why),
            Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", why=f"{why} on a missing key: 404, not 403"),
        ]
    if operation in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
        action = "s3:ListBucketVersions" if operation == "ListObjectVersions" else "s3:ListBucket"
        context = (("s3:prefix", params["Prefix"]),) if "Prefix" in params else ()
        return [Request(action, f"arn:aws:s3:::{bucket}", context, why)]
    if operation in ("GetObject", "HeadObject"):
        return [_read(bucket, key, params.get("VersionId"), why)]
    if operation in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        return [Request("s3:PutObject", object_arn(bucket, key), why=why)]
    if operation in ("CopyObject", "UploadPartCopy"):
        return [Request("s3:PutObject", object_arn(bucket, key), why=why), _read(*_copy_source(params), why)]
    if operation == "DeleteObject":
        action = "s3:DeleteObjectVersion" if params.get("VersionId") else "s3:DeleteObject"
        return [Request(action, object_arn(bucket, key), why=why)]
    if operation == "AbortMultipartUpload":
        return [Request("s3:AbortMultipartUpload", object_arn(bucket, key), why=why)]
    raise AssertionError(
        f"no IAM mapping for s3:{operation}; add it from the Service Authorization Reference"
    )


def _sagemaker_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def _sagemaker(operation: str, params: dict[str, Any], error: str | None) -> list[Request]:
    why = f"sagemaker:{operation}"
    if operation == "DescribeEndpoint":
        return [
            Request("sagemaker:DescribeEndpoint", _sagemaker_arn("endpoint", params["EndpointName"]), why=why)
        ]
    if operation in ("CreateEndpoint", "UpdateEndpoint"):
        endpoint = _sagemaker_arn("endpoint", params["EndpointName"])
        config = _sagemaker_arn("endpoint-config", params["EndpointConfigName"])
        action = f"sagemaker:{operation}"
        requests = [Request(action, endpoint, why=why), Request(action, config, why=why)]
        if params.get("Tags"):  # tagging on create is authorized as AddTags too
            requests.append(Request("sagemaker:AddTags", endpoint, why=why))
        return requests
    if operation == "DescribeHyperParameterTuningJob":
        arn = _sagemaker_arn("hyper-parameter-tuning-job", params["HyperParameterTuningJobName"])
        return [Request("sagemaker:DescribeHyperParameterTuningJob", arn, why=why)]
    if operation == "DescribeTrainingJob":
        arn = _sagemaker_arn("training-job", params["TrainingJobName"])
        return [Request("sagemaker:DescribeTrainingJob", arn, why=why)]
    if operation == "ListModelPackages":  # no resource-level permissions
        return [Request("sagemaker:ListModelPackages", "*", why=why)]
    if operation == "DescribeModelPackage":
        name = params["ModelPackageName"].split(":model-package/")[-1]
        return [Request("sagemaker:DescribeModelPackage", _sagemaker_arn("model-package", name), why=why)]
    if operation == "CreateModelPackage":
        # Authorized against the new version's ARN, `model-package/<group>/<version SageMaker assigns>`.
        arn = _sagemaker_arn("model-package", f"{params['ModelPackageGroupName']}/1")
        requests = [Request("sagemaker:CreateModelPackage", arn, why=why)]
        if params.get("Tags"):
            requests.append(Request("sagemaker:AddTags", arn, why=why))
        return requests
    raise AssertionError(f"no IAM mapping for sagemaker:{operation}")


def _states(operation: str, params: dict[str, Any], error: str | None) -> list[Request]:
    if operation == "StartExecution":
        return [Request("states:StartExecution", params["stateMachineArn"], why="states:StartExecution")]
    raise AssertionError(f"no IAM mapping for states:{operation}")


def iam_requests(calls: list[Call], *, tells_missing: bool = True) -> list[Request]:
    """The IAM authorizations the recorded calls need. `tells_missing`: the code tells a missing S3 key (404)
    from a forbidden one (403), as `functions.common.head_object_or_none` does."""
    requests: list[Request] = []
    for service, operation, params, error in calls:
        if service == "s3":
            requests += _s3(operation, params, error, tells_missing=tells_missing)
        elif service == "sagemaker":
            requests += _sagemaker(operation, params, error)
        else:
            assert service == "stepfunctions", f"no IAM mapping for the {service} service ({operation})"
            requests += _states(operation, params, error)
    return requests


def log_requests(group: str, stream: str, *, create_group: bool = False, why: str) -> list[Request]:
    """What writing a log stream needs: the Lambda runtime, Glue and SageMaker make these calls, not our code."""
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    stream_arn = f"{group_arn}:log-stream:{stream}"
    requests = [
        Request("logs:CreateLogStream", stream_arn, why=why),
        Request("logs:PutLogEvents", stream_arn, why=why),
    ]
    if create_group:
        requests.append(Request("logs:CreateLogGroup", f"{group_arn}:*", why=why))
    return requests
