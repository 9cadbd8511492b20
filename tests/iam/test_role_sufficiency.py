"""Every role grants what its code calls, and nothing a test can remove goes unnoticed.

Each role's needs are derived, not listed: the Lambda handlers and the ETL script run against moto (SageMaker
answers through a Stubber where moto does not model it) while every AWS call they make is recorded, and each call
becomes the IAM requests the Service Authorization Reference says it needs (tests/iam/aws_calls.py). What runs
outside our code is added from where it is decided: the log streams the Lambda runtime and Glue write, and the
S3 locations, logs and image the SageMaker jobs of the deployed definition use. Each request is then judged by
a policy evaluator (tests/iam_checks.evaluate) against exactly the policy the component registers for that role
(read from the Pulumi program's resources). `NEEDED` states the actions each role turns out to need; a test
removes each in turn and expects a denial.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from etl.transform import main as run_etl
from functions import common, endpoint, register_model, rename_output, run_metadata, trigger
from mlops_component.builders import naming
from mlops_component.builders.state_machines import deployment_workflow as dw
from mlops_component.builders.state_machines import processing_pipeline
from mlops_component.builders.state_machines import training_workflow as wf
from mlops_component.components.pipeline import MlOpsPipeline
from mlops_component.config import MlOpsConfig
from mlops_component.tools import sample_data
from tests.conftest import SEED_EXAMPLE
from tests.functions.lambda_events import load_api_response
from tests.iam.aws_calls import (
    ACCOUNT,
    REGION,
    Request,
    denied,
    iam_requests,
    log_requests,
    object_arn,
    recording,
)
from tests.iam_checks import without_action
from tests.pulumi_mocks import run_program

ENDPOINT_MODE = {"endpoint_or_batch_transform": "Create Model Endpoint Config"}
RUN = "employee-attrition-3f9c2a1b0d4e"
LAMBDA_STREAM = "2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef"

# What each role turns out to need (the derived requests must name exactly these actions).
NEEDED: dict[str, set[str]] = {
    "trigger": {"s3:ListBucket", "s3:GetObject", "states:StartExecution", "sagemaker:ListModelPackages",
                "sagemaker:DescribeModelPackage", "logs:CreateLogStream", "logs:PutLogEvents"},
    "run_metadata": {"sagemaker:DescribeHyperParameterTuningJob", "sagemaker:DescribeTrainingJob",
                     "s3:PutObject", "logs:CreateLogStream", "logs:PutLogEvents"},
    "register_model": {"sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage",
                       "sagemaker:CreateModelPackage", "s3:GetObject", "s3:PutObject",
                       "logs:CreateLogStream", "logs:PutLogEvents"},
    "rename_output": {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                      "logs:CreateLogStream", "logs:PutLogEvents"},
    "endpoint": {"sagemaker:DescribeEndpoint", "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
                 "sagemaker:AddTags", "logs:CreateLogStream", "logs:PutLogEvents"},
    "etl": {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject",
            "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
    "sagemaker": {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "logs:CreateLogGroup",
                  "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "cloudwatch:PutMetricData",
                  "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
                  "ecr:GetAuthorizationToken"},
    "processing": {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "logs:CreateLogGroup",
                   "logs:CreateLogStream", "logs:PutLogEvents", "cloudwatch:PutMetricData", "ecr:BatchGetImage",
                   "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:GetAuthorizationToken"},
    "crawler": {"s3:ListBucket", "s3:GetObject", "glue:GetDatabase", "glue:GetTables", "glue:GetTable",
                "glue:CreateTable", "glue:UpdateTable", "glue:GetPartitions", "glue:BatchGetPartition",
                "glue:BatchCreatePartition", "glue:BatchUpdatePartition", "logs:CreateLogGroup",
                "logs:CreateLogStream", "logs:PutLogEvents"},
}  # fmt: skip
# The catalog calls of the predictions crawler over its first crawl and a later one (AWS's crawler, not our code, so
# they are stated here rather than recorded), on the resources IAM authorizes each against besides the catalog.
# First crawl: find the database, compare the folder with its tables (CombineCompatibleSchemas), create the table
# and its partitions. Later crawl, after a batch with a new column: widen the table (UPDATE_IN_DATABASE), list and
# look up the partitions it already has, add the new ones, and rewrite the old ones to the table's schema
# (AddOrUpdateBehavior InheritFromTable). Deleted folders are only logged, so nothing is deleted.
CRAWLER_CATALOG = {
    "glue:GetDatabase": ("database/{db}",),
    "glue:GetTables": ("database/{db}", "table/{db}/predictions"),
    "glue:GetTable": ("table/{db}/predictions",),
    "glue:CreateTable": ("database/{db}", "table/{db}/predictions"),
    "glue:UpdateTable": ("table/{db}/predictions",),
    "glue:GetPartitions": ("table/{db}/predictions",),
    "glue:BatchGetPartition": ("table/{db}/predictions",),
    "glue:BatchCreatePartition": ("table/{db}/predictions",),
    "glue:BatchUpdatePartition": ("table/{db}/predictions",),
}


# --- What the component registers ---------------------------------------------------------------------------------


def _registered(make_config: Callable[..., Any], overrides: dict[str, Any]) -> list[Any]:
    mocks, _ = run_program(lambda: MlOpsPipeline("mlops", make_config(**overrides)).bucket_names)
    return mocks.resources


@pytest.fixture(scope="module")
def stacks(shared_project_dir: Path) -> dict[str, list[Any]]:
    def make(**overrides: Any) -> Any:
        return MlOpsConfig.model_validate(
            {**SEED_EXAMPLE, **overrides}, context={"base_dir": shared_project_dir}
        )

    return {
        "batch": _registered(make, {}),
        # Also trained with a validation channel: its roles must read and write the holdout too.
        "endpoint": _registered(make, {**ENDPOINT_MODE, "use_validation_channel": True}),
        "processing": _registered(make, {"enable_processing_pipeline": True}),
    }


def _one(resources: list[Any], typ: str, **inputs: Any) -> dict[str, Any]:
    found = [
        r.inputs for r in resources if r.typ == typ and all(r.inputs.get(k) == v for k, v in inputs.items())
    ]
    assert len(found) == 1, (typ, inputs, len(found))
    return found[0]


def _policy_of(resources: list[Any], role_arn: str) -> dict[str, Any]:
    """The inline policy the component attaches to the role `role_arn` names (its only policy)."""
    role = role_arn.rsplit("/", 1)[-1]
    return json.loads(_one(resources, "aws:iam/rolePolicy:RolePolicy", role=f"{role}-id")["policy"])


def _function(resources: list[Any], module: str) -> dict[str, Any]:
    return _one(resources, "aws:lambda/function:Function", handler=f"functions.{module}.handler")


def _states(resources: list[Any], machine: str) -> dict[str, Any]:
    """The States of the registered `training` or `deployment` state machine."""
    registered = _one(resources, "aws:sfn/stateMachine:StateMachine", name=f"mlops-test-{machine}")
    states: dict[str, Any] = json.loads(registered["definition"])["States"]
    return states


# --- Running the code against moto --------------------------------------------------------------------------------


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    common.reset_clients()
    with mock_aws():
        yield
    common.reset_clients()


def _lambda(function: dict[str, Any], handler: Callable[..., Any], event: dict[str, Any]) -> list[Request]:
    """Run a handler with the function's own environment; its calls plus the runtime's log writes."""
    context = SimpleNamespace(
        aws_request_id="8f5e2c1a-3b4d-4e6f-9a0b-1c2d3e4f5a6b", function_name=function["name"]
    )
    environment = function.get("environment", {}).get("variables", {})
    with mock.patch.dict(os.environ, environment), recording() as calls:
        handler(event, context)
    group = function["loggingConfig"]["logGroup"]
    return iam_requests(calls) + log_requests(group, LAMBDA_STREAM, why="Lambda runtime logs")


def _stub(service: str) -> Stubber:
    client = boto3.client(service, region_name=REGION)
    stubber = Stubber(client)
    stubber.activate()
    common.set_client(service, client)
    return stubber


def trigger_requests(resources: list[Any]) -> list[Request]:
    """Every route: score data before any model (trains), an approval (deploys it), score data once a package
    exists (deploys the latest approved) and a scheduled retraining."""
    function = _function(resources, "trigger")
    environment = function["environment"]["variables"]
    bucket = _one(resources, "aws:s3/bucketNotification:BucketNotification")["bucket"]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for variable in ("STATE_MACHINE_ARN", "DEPLOYMENT_STATE_MACHINE_ARN"):
        sfn.create_state_machine(
            name=environment[variable].rsplit(":", 1)[-1],
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/states",
        )
    s3.put_object(Bucket=bucket, Key="data/train/train.csv", Body=b"id,a\n1,2\n")

    def score_landed(body: bytes) -> dict[str, Any]:
        put = s3.put_object(Bucket=bucket, Key="data/score/score.csv", Body=body)
        return {"Records": [{
            "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "awsRegion": REGION,
            "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                   "object": {"key": "data/score/score.csv", "size": 9, "eTag": put["ETag"].strip('"'),
                              "versionId": put["VersionId"], "sequencer": "0A1B2C3D4E5F678901"}},
        }]}  # fmt: skip

    requests = _lambda(function, trigger.handler, score_landed(b"id,a\n1,2\n"))
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    group = environment["MODEL_PACKAGE_GROUP"]
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    package = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/m@sha256:{'a' * 64}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    approval = {
        "source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change",
        "detail": {"ModelPackageArn": package, "ModelPackageGroupName": group, "ModelApprovalStatus": "Approved"},
    }  # fmt: skip
    requests += _lambda(function, trigger.handler, approval)
    requests += _lambda(function, trigger.handler, score_landed(b"id,a\n3,4\n"))
    requests += _lambda(
        function, trigger.handler, {"mlops-schedule": "retrain", "scheduled-time": "2026-12-01T02:00:00Z"}
    )
    started = {r.resource for r in requests if r.action == "states:StartExecution"}
    assert started == {environment["STATE_MACHINE_ARN"], environment["DEPLOYMENT_STATE_MACHINE_ARN"]}, started
    return requests


def run_metadata_requests(resources: list[Any]) -> list[Request]:
    function = _function(resources, "run_metadata")
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=function["environment"]["variables"]["METADATA_BUCKET"]
    )
    sagemaker = _stub("sagemaker")
    tuning = load_api_response("sagemaker/describe_hyper_parameter_tuning_job.json")
    sagemaker.add_response("describe_hyper_parameter_tuning_job", tuning)
    sagemaker.add_response("describe_training_job", load_api_response("sagemaker/describe_training_job.json"))
    requests = _lambda(
        function, run_metadata.handler, {"TuningJobName": tuning["HyperParameterTuningJobName"]}
    )
    sagemaker.assert_no_pending_responses()
    return requests


def register_model_requests(resources: list[Any]) -> list[Request]:
    function = _function(resources, "register_model")
    variables = function["environment"]["variables"]
    s3 = boto3.client("s3", region_name=REGION)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=variables["MODEL_PACKAGE_GROUP"])
    models = naming.bucket_name("mlops-test", "models", ACCOUNT, REGION)
    key = f"tuning/{RUN}/{RUN}-002-5c9a1f3e/output/model.tar.gz"
    for bucket in (models, variables["METADATA_BUCKET"]):
        s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model-quality.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    s3.put_object(Bucket=models, Key=key, Body=buffer.getvalue())
    event = {
        "RunName": RUN,
        "Run": {
            "model_data_url": f"s3://{models}/{key}",
            "best_training_job": f"{RUN}-002-5c9a1f3e",
            "objective": {"name": "accuracy", "value": 0.87},
            "metrics": {"accuracy": 0.87},
        },
    }
    # The second run is Step Functions' retry after a lost response: it finds the package registered.
    requests = _lambda(function, register_model.handler, event) + _lambda(
        function, register_model.handler, event
    )
    packages = sagemaker.list_model_packages(ModelPackageGroupName=variables["MODEL_PACKAGE_GROUP"])
    assert len(packages["ModelPackageSummaryList"]) == 1
    return requests


def rename_output_requests(resources: list[Any]) -> list[Request]:
    function = _function(resources, "rename_output")
    payload = _states(resources, "deployment")[dw.RENAME_OUTPUT]["Parameters"]["Payload"]
    bucket = payload["bucket"]
    prefix = f"predictions/run={RUN}/"
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    for part in range(3):  # one output per score part, as three transform instances write them
        s3.put_object(Bucket=bucket, Key=f"{prefix}part-{part:05d}.csv.out", Body=b"1,0.5\n")
    event = {"bucket": bucket, "prefix": prefix}
    # The second run is Step Functions' retry after a lost response: the output is already renamed.
    return _lambda(function, rename_output.handler, event) + _lambda(function, rename_output.handler, event)


def endpoint_requests(resources: list[Any]) -> list[Request]:
    function = _function(resources, "endpoint")
    name = _states(resources, "deployment")[dw.DEPLOY_ENDPOINT]["Parameters"]["Payload"]["EndpointName"]
    event = {"EndpointName": name, "EndpointConfigName": RUN}
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"
    in_service = {**load_api_response("sagemaker/describe_endpoint_in_service.json"), "EndpointName": name}
    sagemaker = _stub("sagemaker")
    # The first run creates the endpoint, a later one updates it: both paths' calls.
    sagemaker.add_client_error(
        "describe_endpoint", "ValidationException", f'Could not find endpoint "{arn}".'
    )
    sagemaker.add_response("create_endpoint", {"EndpointArn": arn})
    sagemaker.add_response("describe_endpoint", in_service)
    sagemaker.add_response("update_endpoint", {"EndpointArn": arn})
    requests = _lambda(function, endpoint.handler, event) + _lambda(function, endpoint.handler, event)
    sagemaker.assert_no_pending_responses()
    return requests


def etl_requests(resources: list[Any], tmp_path: Path) -> list[Request]:
    job = _one(resources, "aws:glue/job:Job")
    arguments = job["defaultArguments"]
    raw = sample_data.write_sample_data(tmp_path, 200, seed=3)
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (arguments["--source_bucket"], arguments["--destination_bucket"]):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=arguments["--source_bucket"], Key="data/train/train.csv", Body=raw.train.read_bytes()
    )
    s3.put_object(
        Bucket=arguments["--source_bucket"], Key="data/score/score.csv", Body=raw.score.read_bytes()
    )
    argv = ["transform.py", "--train_key", "data/train/train.csv", "--score_key", "data/score/score.csv"]
    argv += [item for name, value in arguments.items() if name in ("--source_bucket", "--destination_bucket",
             "--inference_type", "--output_layout") for item in (name, value)]  # fmt: skip
    with recording() as calls:
        # Score and train parts and a holdout, then a set without them, which removes them: every request the
        # job makes.
        shaped = ["--score_parts", "3", "--validation", "true", "--train_parts", "2"]
        run_etl([*argv, *shaped], s3=boto3.client("s3", region_name=REGION))
        run_etl(argv, s3=boto3.client("s3", region_name=REGION))
    # A Python shell job's driver writes to Glue's output and error groups, creating them if they are missing.
    family = "/aws-glue/python-jobs" if job["command"]["name"] == "pythonshell" else "/aws-glue/jobs"
    logs = [
        r for group in ("output", "error")
        for r in log_requests(f"{family}/{group}", "jr_0123456789abcdef", create_group=True, why="Glue job logs")
    ]  # fmt: skip
    # `_upload` treats any error on HEAD as "not there yet", so a 403 for a missing key serves it as well as a 404.
    requests = iam_requests(calls, tells_missing=False)
    # boto3's upload_file and copy switch to a multipart upload at 8 MB (s3transfer's default threshold) and
    # abort it when a part fails; the sample is too small to show it, a real extract is not.
    requests += [
        Request("s3:AbortMultipartUpload", r.resource, why="a failed part of a large extract")
        for r in requests
        if r.action == "s3:PutObject"
    ]
    # Glue itself downloads the job's script with the job's role before running it.
    script = job["command"]["scriptLocation"].removeprefix("s3://").partition("/")
    requests.append(
        Request("s3:GetObject", object_arn(script[0], script[2]), why="Glue fetches the job's script")
    )
    return requests + logs


def _sagemaker_upload(uri: str, why: str) -> list[Request]:
    """SageMaker uploads a large model or output in parts and aborts the upload when a part fails, so no billed
    parts are left behind (AWS's S3 policy for execution roles grants s3:AbortMultipartUpload with PutObject)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return [Request(a, object_arn(bucket, key), why=why) for a in ("s3:PutObject", "s3:AbortMultipartUpload")]


def sagemaker_requests(resources: list[Any], endpoint_mode: bool) -> list[Request]:
    """What SageMaker does as the execution role for the jobs the deployed definition starts."""
    job = _states(resources, "training")[wf.TUNE]["Parameters"]["TrainingJobDefinition"]
    states = _states(resources, "deployment")
    requests: list[Request] = []

    for channel in job["InputDataConfig"]:
        requests += _read_prefix(
            channel["DataSource"]["S3DataSource"]["S3Uri"], f"channel {channel['ChannelName']}"
        )
    model = f"{job['OutputDataConfig']['S3OutputPath']}{RUN}/{RUN}-001-0a1b2c3d/output/model.tar.gz"
    requests += _sagemaker_upload(model, "training job output")
    requests += log_requests("/aws/sagemaker/TrainingJobs", f"{RUN}-001-0a1b2c3d/algo-1-1700000000",
                             create_group=True, why="training job logs")  # fmt: skip
    # SageMaker looks up a job's streams before it writes (CreateTrainingJob's documented execution-role permissions).
    requests.append(Request("logs:DescribeLogStreams", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:*",
                            why="training job log streams"))  # fmt: skip
    requests.append(Request("cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", "/aws/sagemaker/TrainingJobs"),),
                            "training job metrics"))  # fmt: skip
    bucket, _, key = model.removeprefix("s3://").partition("/")
    requests.append(Request("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", why="the model SageMaker loads"))
    requests += _image_pull(job["AlgorithmSpecification"]["TrainingImage"])
    if endpoint_mode:
        name = states[dw.DEPLOY_ENDPOINT]["Parameters"]["Payload"]["EndpointName"]
        requests += log_requests(f"/aws/sagemaker/Endpoints/{name}", "AllTraffic/i-0123456789abcdef0",
                                 create_group=True, why="endpoint logs")  # fmt: skip
    else:
        transform = states[dw.BATCH_TRANSFORM]["Parameters"]
        requests += _read_prefix(
            transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"], "transform input"
        )
        output = transform["TransformOutput"]["S3OutputPath.$"].split("'")[1].replace("{}", RUN)
        requests += _sagemaker_upload(f"{output}/score.csv.out", "transform output")
        requests += log_requests("/aws/sagemaker/TransformJobs", f"{RUN}/i-0123456789abcdef0-1700000000",
                                 create_group=True, why="transform job logs")  # fmt: skip
    return requests


def _read_prefix(uri: str, why: str) -> list[Request]:
    """An S3Prefix input: SageMaker lists the prefix, then reads each object under it."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    key = f"{prefix}part.csv" if prefix.endswith("/") else prefix
    return [
        Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", (("s3:prefix", prefix),), why),
        Request("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", why=why),
    ]


def _image_pull(image: str) -> list[Request]:
    """Pulling an image from this account's ECR; SageMaker pulls AWS's own images with its own credentials."""
    if not image.startswith(f"{ACCOUNT}.dkr.ecr."):
        return []
    repository = image.split("/", 1)[1].split("@")[0].split(":")[0]
    repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}"
    actions = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
    return [Request(a, repo_arn, why=f"pulling {image}") for a in actions] + [
        Request("ecr:GetAuthorizationToken", "*", why=f"pulling {image}")
    ]


def processing_requests(resources: list[Any]) -> list[Request]:
    """What the three processing jobs do as their role with the stack's defaults: read their inputs, code or
    model, write their outputs, log, and pull the inference image."""
    machine = _one(resources, "aws:sfn/stateMachine:StateMachine", name="mlops-test-processing")
    states = json.loads(machine["definition"])["States"]
    requests: list[Request] = []
    outputs: dict[str, str] = {}
    for job in processing_pipeline.JOBS:
        defaults = states[job.defaults_state]["Parameters"]

        def uri(location: dict[str, str]) -> str:
            if "S3Uri" in location:
                return location["S3Uri"]
            source = location["S3Uri.$"]
            if source.startswith("States.Format"):
                return source.split("'")[1].replace("{}", RUN)
            return outputs[source.split(".")[2]]  # $.jobs.<previous job>.OutputUri.S3Uri

        outputs[job.key] = uri(defaults["OutputUri"])
        for field in ("InputUri", job.extra_input):
            requests += _read_prefix(uri(defaults[field]), f"{job.key} {field}")
        requests += _sagemaker_upload(f"{outputs[job.key]}part.csv", f"{job.key} output")
        stream = f"{RUN}-{job.name_suffix}/algo-1-1700000000"
        requests += log_requests(
            "/aws/sagemaker/ProcessingJobs", stream, create_group=True, why=f"{job.key} logs"
        )
        requests.append(Request("cloudwatch:PutMetricData", "*",
                                (("cloudwatch:namespace", "/aws/sagemaker/ProcessingJobs"),), f"{job.key} metrics"))  # fmt: skip
        requests += _image_pull(defaults["ImageUri"])
    return requests


def crawler_requests(resources: list[Any]) -> list[Request]:
    """What the predictions crawler does as its role: read its targets, maintain its table, log."""
    crawler = _one(resources, "aws:glue/crawler:Crawler")
    requests: list[Request] = []
    for target in crawler["s3Targets"]:
        requests += _read_prefix(target["path"], "crawled prefix")
    for action, resources in CRAWLER_CATALOG.items():
        for resource in ("catalog", *resources):
            arn = f"arn:aws:glue:{REGION}:{ACCOUNT}:{resource.format(db=crawler['databaseName'])}"
            requests.append(Request(action, arn, why="crawler catalog"))
    requests += log_requests("/aws-glue/crawlers", crawler["name"], create_group=True, why="crawler logs")
    return requests


# --- The checks --------------------------------------------------------------------------------------------------

ROLES = {
    # role: (stack, the registered resource whose role it is, how its requests are derived)
    "trigger": "batch",
    "run_metadata": "batch",
    "register_model": "batch",
    "rename_output": "batch",
    "endpoint": "endpoint",
    "etl": "batch",
    "sagemaker": "batch",
    "sagemaker-endpoint": "endpoint",
    "processing": "processing",
    "crawler": "batch",
}


@pytest.fixture
def derive(
    stacks: dict[str, list[Any]], moto_env: None, tmp_path: Path
) -> Callable[[str], tuple[dict[str, Any], list[Request]]]:
    """`derive(role)`: the role's registered policy and the requests its code and jobs make."""

    def run(role: str) -> tuple[dict[str, Any], list[Request]]:
        resources = stacks[ROLES[role]]
        if role in ("trigger", "run_metadata", "register_model", "rename_output", "endpoint"):
            role_arn = _function(resources, role)["role"]
            derived = globals()[f"{role}_requests"](resources)
        elif role == "processing":
            role_arn = (
                f"arn:aws:iam::{ACCOUNT}:role/"
                + _one(
                    resources,
                    "aws:iam/role:Role",
                    description="Runs the processing pipeline's SageMaker Processing jobs",
                )["name"]
            )
            derived = processing_requests(resources)
        elif role == "crawler":
            role_arn = _one(resources, "aws:glue/crawler:Crawler")["role"]
            derived = crawler_requests(resources)
        elif role == "etl":
            role_arn = _one(resources, "aws:glue/job:Job")["roleArn"]
            derived = etl_requests(resources, tmp_path)
        else:
            role_arn = _states(resources, "training")[wf.TUNE]["Parameters"]["TrainingJobDefinition"][
                "RoleArn"
            ]
            derived = sagemaker_requests(resources, endpoint_mode=role == "sagemaker-endpoint")
        return _policy_of(resources, role_arn), derived

    return run


@pytest.mark.parametrize("role", ROLES)
def test_the_role_grants_every_request_its_code_makes(derive, role: str) -> None:
    policy, requests = derive(role)
    assert {r.action for r in requests} == NEEDED[role.removesuffix("-endpoint")]
    assert denied(policy, requests) == []


@pytest.mark.parametrize(
    ("role", "action"),
    [(role, action) for role in ROLES for action in sorted(NEEDED[role.removesuffix("-endpoint")])],
)
def test_removing_a_needed_action_denies_a_request(derive, role: str, action: str) -> None:
    policy, requests = derive(role)
    assert denied(without_action(policy, action), requests), f"{role} works without {action}"
