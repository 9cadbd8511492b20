"""`mlops rollback` against moto: the model registry, the deployment records, the feature store and the deployment
workflow exist there as `pulumi up` names them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from mlops_component.tools.cli import main
from mlops_component.tools.rollback import RollbackError, choose_version

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
GROUP = "dev-models"
METADATA = f"dev-metadata-{ACCOUNT}-{REGION}"
FEATURES = f"dev-features-{ACCOUNT}-{REGION}"
DEPLOYMENT = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:dev-deployment"


def package_arn(version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/{version}"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with mock_aws():
        clients = {s: boto3.client(s, region_name=REGION) for s in ("sagemaker", "s3", "stepfunctions")}
        clients["sagemaker"].create_model_package_group(ModelPackageGroupName=GROUP)
        for bucket in (METADATA, FEATURES):
            clients["s3"].create_bucket(Bucket=bucket)
        clients["s3"].put_bucket_versioning(Bucket=FEATURES, VersioningConfiguration={"Status": "Enabled"})
        clients["stepfunctions"].create_state_machine(
            name="dev-deployment",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/states",
        )
        yield clients


def stack_file(folder: Path, **values: Any) -> str:
    path = folder / "Pulumi.dev.yaml"
    config = {"aws:region": REGION, "mlops:namePrefix": "dev", "mlops:jobName": "attrition", **values}
    path.write_text(yaml.safe_dump({"config": config}))
    return str(path)


def register(aws: dict[str, Any], *statuses: str) -> None:
    for status in statuses:
        aws["sagemaker"].create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/m@sha256:{'a' * 64}"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )


def deployed(aws: dict[str, Any], version: int, execution: str = "approval-0f3a") -> None:
    """A deployment record as the deployment workflow writes it."""
    record = {"execution": execution, "cause": "approval", "model_package_arn": package_arn(version)}
    aws["s3"].put_object(Bucket=METADATA, Key=f"deployments/{execution}.json", Body=json.dumps(record))


def land_score(aws: dict[str, Any]) -> dict[str, Any]:
    put = aws["s3"].put_object(Bucket=FEATURES, Key="data/score/score.csv", Body=b"EmployeeNumber\n2\n")
    return {
        "bucket": FEATURES,
        "key": "data/score/score.csv",
        "version_id": put["VersionId"],
        "etag": put["ETag"].strip('"'),
    }


def started(aws: dict[str, Any]) -> list[dict[str, Any]]:
    listed = aws["stepfunctions"].list_executions(stateMachineArn=DEPLOYMENT)["executions"]
    described = [aws["stepfunctions"].describe_execution(executionArn=e["executionArn"]) for e in listed]
    return [{"name": d["name"], "input": json.loads(d["input"])} for d in described]


def test_by_default_redeploys_the_approved_package_before_the_one_deployed_last(
    aws: dict[str, Any], project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register(aws, "Approved", "Rejected", "Approved", "Approved", "PendingManualApproval")  # versions 1-5
    # Version 4 was deployed, then an earlier rollback went back to 3: 3 is the one deployed last (written in
    # the same second, the key breaks the tie, as for the trigger's newest object).
    deployed(aws, 4, "a-training")
    deployed(aws, 3, "b-rollback")
    score = land_score(aws)

    assert main(["rollback", "--stack-file", stack_file(project_dir)]) == 0

    (run,) = started(aws)
    assert run["input"] == {"modelPackageArn": package_arn(1), "score": score, "cause": "rollback"}
    assert run["name"].startswith("rollback-v1-")
    out = capsys.readouterr().out
    assert (
        f"deploying version 1 ({package_arn(1)})" in out
        and f"scoring s3://{FEATURES}/data/score/score.csv" in out
    )


def test_with_no_deployment_recorded_the_approved_package_before_the_newest_approved(
    aws: dict[str, Any], project_dir: Path
) -> None:
    register(aws, "Approved", "Approved", "Rejected")
    land_score(aws)

    assert main(["rollback", "--stack-file", stack_file(project_dir)]) == 0

    assert started(aws)[0]["input"]["modelPackageArn"] == package_arn(1)


def test_a_given_version_is_deployed_and_endpoint_mode_needs_no_score_data(
    aws: dict[str, Any], project_dir: Path
) -> None:
    register(aws, "Approved", "Approved", "Approved")
    stack = stack_file(project_dir, **{"mlops:endpointOrBatchTransform": "Create Model Endpoint Config"})

    assert main(["rollback", "--stack-file", stack, "--version", "2"]) == 0

    (run,) = started(aws)
    assert run["input"] == {"modelPackageArn": package_arn(2), "score": None, "cause": "rollback"}


@pytest.mark.parametrize(
    ("arguments", "setup", "message"),
    [
        (["--version", "2"], "pending", f"version 2 is PendingManualApproval, not Approved: approve it first (aws sagemaker update-model-package --model-approval-status Approved --model-package-arn {package_arn(2)})"),
        (["--version", "9"], "pending", f"the group {GROUP} has no version 9"),
        ([], "only-one", "nothing to roll back to: no approved package before version 1 (deployed last)"),
        ([], "none-approved", "nothing to roll back to: the group has no approved package"),
        ([], "no-score", f"nothing to score under s3://{FEATURES}/data/score/"),
        ([], "bad-record", f"s3://{METADATA}/deployments/broken.json is not a deployment record naming a model package (model_package_arn); pass --version"),
    ],
)  # fmt: skip
def test_what_cannot_be_rolled_back_is_said_in_one_line(
    arguments: list[str],
    setup: str,
    message: str,
    aws: dict[str, Any],
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register(
        aws,
        *{"pending": ["Approved", "PendingManualApproval"], "none-approved": ["Rejected"]}.get(
            setup, ["Approved", "Approved"]
        ),
    )
    if setup == "only-one":
        deployed(aws, 1)
    if setup == "bad-record":
        aws["s3"].put_object(Bucket=METADATA, Key="deployments/broken.json", Body=b"{not json")
    if setup != "no-score":
        land_score(aws)

    assert main(["rollback", "--stack-file", stack_file(project_dir), *arguments]) == 1

    assert capsys.readouterr().err == f"mlops rollback: {message}\n"
    assert started(aws) == []


def test_aws_errors_are_one_line_too(
    aws: dict[str, Any], project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws["stepfunctions"].delete_state_machine(stateMachineArn=DEPLOYMENT)
    register(aws, "Approved", "Approved")
    land_score(aws)

    assert main(["rollback", "--stack-file", stack_file(project_dir)]) == 1

    err = capsys.readouterr().err
    assert err.startswith("mlops rollback: AWS refused: ") and "StateMachineDoesNotExist" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("approved", "deployed", "requested", "chosen"),
    [
        ({1: "a", 2: "b", 4: "d"}, 4, None, 2),
        (
            {1: "a", 2: "b", 4: "d"},
            3,
            None,
            2,
        ),  # the deployed package was rejected since: still the one before
        ({1: "a", 2: "b", 4: "d"}, None, None, 2),
        ({1: "a", 2: "b", 4: "d"}, 4, 4, 4),  # asked for explicitly: redeploy it
    ],
)
def test_choice_of_version(
    approved: dict[int, str], deployed: int | None, requested: int | None, chosen: int
) -> None:
    assert choose_version(approved, deployed, requested) == chosen


def test_choice_of_version_refuses_an_unapproved_request() -> None:
    with pytest.raises(RollbackError, match="version 3 is not an approved package"):
        choose_version({1: "a"}, None, 3)
