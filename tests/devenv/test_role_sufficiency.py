"""The development environment's roles grant what the notebook and its Glue sessions do, and nothing a test can
remove goes unnoticed (the other side of least privilege: nothing missing).

Each role's needs are derived from what runs with it, not from the policy:

- the project's `src/pipeline.py` (what the example notebooks call) runs against moto while every boto3 call is
  recorded, and each call becomes the IAM requests it needs (tests/iam/aws_calls.py for S3, `_REQUESTS` here for
  the rest), with the calls Athena makes with the caller's credentials (its results, the tables' data, the
  catalog);
- the notebook's shell scripts are read for every `aws <service> <command>` and every git command that reaches
  the remote; each maps to its request, and a new invocation fails the test until it is mapped;
- what AWS does with the role: SageMaker writes the notebook's logs and clones an existing repository with its
  secret, and the Glue interactive sessions kernel (aws-glue-sessions) drives sessions with it;
- the documented journeys without code of ours: browsing the lake in Athena's query editor, following a run and
  its tuning job in the console, checking the endpoint.

Every request is then judged (tests/iam_checks.evaluate) against exactly the policy the component registers.
`NEEDED` states the actions each role turns out to need; a test removes each in turn and expects a denial.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from mlops_component import MlOpsPipeline, layout
from mlops_component.builders.notebook_bundle import bundle
from mlops_component.config import MlOpsConfig
from tests.conftest import SEED_EXAMPLE
from tests.devenv.test_examples import RUN_STATE_MACHINES, pipeline
from tests.iam.aws_calls import (
    ACCOUNT,
    REGION,
    Call,
    Request,
    denied,
    iam_requests,
    log_requests,
    object_arn,
    recording,
)
from tests.iam_checks import without_action
from tests.pulumi_mocks import run_program

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:github-token-AbCdEf"
SCRIPTS = Path(bundle.__file__).parent
RUN = "employee-attrition-3f9c2a1b0d4e"
NOTEBOOK_LOGS = "/aws/sagemaker/NotebookInstances"

STACKS: dict[str, dict[str, Any]] = {
    # Batch inference, the stores encrypted with a KMS key, a new CodeCommit repository, Glue sessions on.
    "batch": {"kms_key_arn": KEY, "dev_environment": {"enable_interactive_sessions": True}},
    # An endpoint, the team's own repository with its token in Secrets Manager.
    "endpoint": {
        "endpoint_or_batch_transform": "Create Model Endpoint Config",
        "dev_environment": {
            "git_repository_url": "https://github.com/acme/attrition.git",
            "git_secret_arn": SECRET,
        },
    },
}

# What each role turns out to need (the derived requests must name exactly these actions).
_NOTEBOOK = {
    "s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "states:StartExecution", "states:DescribeExecution", "states:GetExecutionHistory",
    "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
    "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:GetDataCatalog", "athena:ListDatabases",
    "athena:ListTableMetadata", "athena:GetTableMetadata",
    "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
    "glue:StartCrawler", "glue:GetCrawler",
    "sagemaker:DescribeHyperParameterTuningJob", "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
    "sagemaker:DescribeTrainingJob", "sagemaker:ListTags", "sagemaker:DescribeNotebookInstance",
    "sagemaker:StopNotebookInstance",
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
}  # fmt: skip
NEEDED: dict[str, set[str]] = {
    "batch notebook": _NOTEBOOK | {
        "codecommit:GitPull", "codecommit:GitPush", "kms:Decrypt", "kms:GenerateDataKey",
        "glue:GetPartitions", "glue:BatchGetPartition",
        "glue:CreateSession", "glue:TagResource", "glue:GetSession", "glue:GetTags", "glue:RunStatement",
        "glue:GetStatement", "glue:CancelStatement", "glue:StopSession", "glue:ListSessions", "iam:PassRole",
    },
    "endpoint notebook": _NOTEBOOK | {
        "secretsmanager:GetSecretValue", "sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint",
    },
    "batch glue session": {
        "s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
        "glue:GetDatabase", "glue:GetTable", "kms:Decrypt", "kms:GenerateDataKey",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
    },
}  # fmt: skip


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


# --- What the component registers ---------------------------------------------------------------------------------


class Stack:
    """One deployed stack's registered resources, as the roles' requests are derived from them."""

    def __init__(self, resources: list[Any]) -> None:
        self.resources = resources
        self.settings = json.loads(
            self._bundle_objects()[layout.BUNDLE_PREFIX + bundle.STACK_FILE]["content"]
        )

    def one(self, typ: str, **inputs: Any) -> dict[str, Any]:
        found = [
            r.inputs
            for r in self.resources
            if r.typ == typ and all(r.inputs.get(k) == v for k, v in inputs.items())
        ]
        assert len(found) == 1, (typ, inputs, len(found))
        return found[0]

    def policy(self, name: str) -> dict[str, Any]:
        [policy] = [json.loads(r.inputs["policy"]) for r in self.resources if r.name == name]
        return policy

    def _bundle_objects(self) -> dict[str, dict[str, Any]]:
        return {
            r.inputs["key"]: r.inputs
            for r in self.resources
            if r.typ == "aws:s3/bucketObjectv2:BucketObjectv2"
            and r.inputs["key"].startswith(layout.BUNDLE_PREFIX)
        }

    @property
    def bundle_keys(self) -> list[str]:
        return sorted(self._bundle_objects())

    @property
    def notebook(self) -> dict[str, Any]:
        return self.one("aws:sagemaker/notebookInstance:NotebookInstance")

    @property
    def results_location(self) -> str:
        workgroup = self.one("aws:athena/workgroup:Workgroup")
        return str(workgroup["configuration"]["resultConfiguration"]["outputLocation"])

    def table_location(self, table: str) -> tuple[str, bool]:
        """Where a lake table's data lies (its crawler's target) and whether it is partitioned (by run=)."""
        if table == "predictions":
            crawler = self.one("aws:glue/crawler:Crawler", name="mlops-test-predictions-crawler")
            return crawler["s3Targets"][0]["path"], True
        crawler = self.one("aws:glue/crawler:Crawler", name=self.settings["lake"]["crawler"])
        [path] = [
            t["path"]
            for t in crawler["s3Targets"]
            if table == crawler["tablePrefix"] + t["path"].rstrip("/").rsplit("/", 1)[1]
        ]
        return path, False


def deploy(overrides: dict[str, Any], project_dir: Path) -> Stack:
    """The stack the component registers with the dev environment on and `overrides`."""
    config = MlOpsConfig.model_validate(
        {**SEED_EXAMPLE, "enable_dev_environment": True, **overrides}, context={"base_dir": project_dir}
    )
    mocks, _ = run_program(lambda: MlOpsPipeline("mlops", config).bucket_names)
    return Stack(mocks.resources)


# --- The notebook's own code, against moto ------------------------------------------------------------------------


def _catalog(database: str, table: str, actions: tuple[str, ...], why: str) -> list[Request]:
    """Glue authorizes a table read against the catalog, the database and the table."""
    resources = ["catalog", f"database/{database}", f"table/{database}/{table}"]
    return [Request(a, _arn("glue", r), why=why) for a in actions for r in resources]


def _athena(stack: Stack, operation: str, params: dict[str, Any], reads: str | None) -> list[Request]:
    """An Athena call, and what Athena then does with the caller's credentials: it locates and writes the query's
    results in the workgroup's output location, reads the queried table from the catalog and its data from S3."""
    workgroup = _arn("athena", f"workgroup/{stack.settings['lake']['athena_workgroup']}")
    requests_ = [Request(f"athena:{operation}", workgroup, why=f"athena:{operation}")]
    bucket, prefix = _split(stack.results_location)
    results = object_arn(bucket, f"{prefix}0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b.csv")
    if operation == "StartQueryExecution":
        why = "Athena writes the results with the caller's credentials"
        requests_ += [
            Request("s3:GetBucketLocation", f"arn:aws:s3:::{bucket}", why=why),
            Request("s3:PutObject", results, why=why),
            Request("s3:PutObject", f"{results}.metadata", why=why),
            # Results are written in parts; a query that fails or is stopped abandons its upload.
            Request("s3:AbortMultipartUpload", results, why=why),
            # The query runs in a catalog (AwsDataCatalog), which Athena authorizes as GetDataCatalog.
            Request("athena:GetDataCatalog", _arn("athena", "datacatalog/AwsDataCatalog"), why="catalog"),
        ]
        assert reads, "say which table the query reads"
        location, partitioned = stack.table_location(reads)
        # On a partitioned table Athena's engine (Trino's Glue metastore) lists the partitions the query's filter
        # keeps with GetPartitions, then fetches them by name with BatchGetPartition.
        partition_reads = ("glue:GetPartitions", "glue:BatchGetPartition")
        actions = ("glue:GetDatabase", "glue:GetTable") + (partition_reads if partitioned else ())
        requests_ += _catalog(
            stack.settings["lake"]["database"], reads, actions, f"Athena plans a query on {reads}"
        )
        data_bucket, data_prefix = _split(location)
        why = f"Athena reads {reads} with the caller's credentials"
        requests_ += [
            Request("s3:ListBucket", f"arn:aws:s3:::{data_bucket}", (("s3:prefix", data_prefix),), why),
            Request(
                "s3:GetObject",
                object_arn(data_bucket, f"{data_prefix}{'run=' + RUN + '/' if partitioned else ''}part.csv"),
                why=why,
            ),
        ]
    if operation == "GetQueryResults":
        requests_.append(
            Request("s3:GetObject", results, why="Athena reads the results with the caller's credentials")
        )
    return requests_


def _other_requests(stack: Stack, call: Call, reads: str | None) -> list[Request]:
    """The IAM requests of the non-S3 calls `src/pipeline.py` makes (Service Authorization Reference)."""
    service, operation, params, _ = call
    why = f"{service}:{operation}"
    if service == "athena":
        return _athena(stack, operation, params, reads)
    if (service, operation) == ("stepfunctions", "StartExecution"):
        return [Request("states:StartExecution", params["stateMachineArn"], why=why)]
    if (service, operation) == ("stepfunctions", "DescribeExecution"):
        return [Request("states:DescribeExecution", params["executionArn"], why=why)]
    if service == "glue" and operation in ("StartCrawler", "GetCrawler"):
        return [Request(f"glue:{operation}", _arn("glue", f"crawler/{params['Name']}"), why=why)]
    if (service, operation) == ("sagemaker-runtime", "InvokeEndpoint"):
        return [
            Request(
                "sagemaker:InvokeEndpoint",
                _arn("sagemaker", f"endpoint/{params['EndpointName'].lower()}"),
                why=why,
            )
        ]
    raise AssertionError(
        f"no IAM mapping for {service}:{operation}; add it from the Service Authorization Reference"
    )


def _requests_of(stack: Stack, calls: list[Call], reads: str | None = None) -> list[Request]:
    requests_: list[Request] = []
    for call in calls:
        if call[0] == "s3":
            requests_ += iam_requests([call])
        else:
            requests_ += _other_requests(stack, call, reads)
    return requests_


def _create_resources(stack: Stack) -> None:
    """What `pulumi up` and a first run leave behind, in moto, under the stack's names."""
    settings = stack.settings
    s3 = boto3.client("s3", region_name=REGION)
    for name in settings["buckets"].values():
        s3.create_bucket(Bucket=name)
    extract = b"EmployeeNumber,Attrition,Age\n1,1,41\n2,0,49\n"
    s3.put_object(
        Bucket=settings["buckets"]["extracts"], Key=settings["prefixes"]["train_extract"], Body=extract
    )
    record = {"objective": {"name": "accuracy", "value": 0.87}, "metrics": {"accuracy": 0.87}}
    s3.put_object(
        Bucket=settings["buckets"]["metadata"],
        Key=f"{settings['prefixes']['runs']}{RUN}.json",
        Body=json.dumps(record).encode(),
    )
    s3.put_object(
        Bucket=settings["buckets"]["output"],
        Key=f"{settings['prefixes']['predictions']}run={RUN}/score.csv",
        Body=b"1,0.91\n",
    )
    machine = settings["workflow"]["state_machine_arn"]
    boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=machine.rsplit(":", 1)[1],
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/states",
    )
    lake = settings["lake"]
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": lake["database"]})
    glue.create_crawler(Name=lake["crawler"], Role=f"arn:aws:iam::{ACCOUNT}:role/crawler", DatabaseName=lake["database"],
                        Targets={"S3Targets": [{"Path": stack.table_location("features_train")[0]}]})  # fmt: skip
    boto3.client("athena", region_name=REGION).create_work_group(
        Name=lake["athena_workgroup"],
        Configuration={"ResultConfiguration": {"OutputLocation": stack.results_location}},
    )


def _failed_upload(s3: Any) -> Callable[..., None]:
    """A part upload that fails, as a dropped connection makes it."""

    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "RequestTimeout", "Message": "idle connection"}}, "UploadPart")

    s3.meta.events.register("before-call.s3.UploadPart", fail)
    return fail


def pipeline_requests(stack: Stack, tmp_path: Path) -> list[Request]:
    """Every operation of `src/pipeline.py` the stack offers, as the example notebooks and the terminal use them."""
    _create_resources(stack)
    ops = pipeline.Stack(stack.settings)
    train = tmp_path / "train.csv"
    train.write_text("EmployeeNumber,Attrition\n1,Yes\n")
    with recording() as calls:
        pipeline.land_data(str(train), "train", stack=ops)
        if ops.is_batch:
            pipeline.land_data(str(train), "score", stack=ops)
        # A large file is uploaded in parts; when one fails, the upload is aborted, so no parts stay billed.
        large = tmp_path / "large.csv"
        large.write_bytes(b"1,2\n" * (3 * 1024 * 1024))
        s3 = boto3.client("s3", region_name=REGION)
        _failed_upload(s3)
        with pytest.raises(boto3.exceptions.S3UploadFailedError):
            pipeline.land_data(str(large), "train", stack=ops, s3=s3)
        execution = pipeline.start_run(stack=ops)
        assert pipeline.wait_for_run(execution, poll_seconds=0, stack=ops)["status"] == "SUCCEEDED"
        assert pipeline.read_metrics(stack=ops)["run"] == RUN
        with pytest.raises(pipeline.PipelineError, match="no record of run"):
            pipeline.read_metrics(
                "never-ran", stack=ops
            )  # a 404, not a 403: the message says what is missing
        pipeline.labelled_examples(2, stack=ops)
        if ops.is_batch:
            assert pipeline.read_predictions(stack=ops) == [("1", 0.91)]
        else:
            _queue("http://motoapi.amazonaws.com", endpoint="0.91\n")
            assert pipeline.call_endpoint([["41"]], stack=ops) == [0.91]
        assert pipeline.crawl_lake(wait=False, stack=ops) == "RUNNING"
        _scratch_files(s3, ops)
    derived = _requests_of(stack, calls)
    with recording() as calls:
        pipeline.query("SELECT attrition, COUNT(*) FROM features_train GROUP BY 1", stack=ops)
    derived += _requests_of(stack, calls, reads="features_train")
    with recording() as calls:
        _query_stopped_at_its_timeout(ops)
    return derived + _requests_of(stack, calls, reads="features_train")


def _scratch_files(s3: Any, ops: Any) -> None:
    """Scratch data under the feature store's sandbox/ (docs/dev-environment.md), which no trigger watches: written,
    listed, read back and deleted."""
    bucket, key = ops.bucket("feature_store"), f"{ops.prefix('sandbox')}notes/sample.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=b"id\n1\n")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=ops.prefix("sandbox"))["Contents"]
    assert [o["Key"] for o in listed] == [key]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"id\n1\n"
    s3.delete_object(Bucket=bucket, Key=key)


def _queue(moto_api: str, *, endpoint: str) -> None:
    requests.post(f"{moto_api}/moto-api/static/sagemaker/endpoint-results",
                  json={"results": [{"Body": endpoint, "ContentType": "text/csv"}]}, timeout=10)  # fmt: skip


def _query_stopped_at_its_timeout(ops: Any) -> None:
    """A query still running at its timeout is stopped, so it stops scanning (and billing)."""
    athena = boto3.client("athena", region_name=REGION)
    stubber = Stubber(athena)
    stubber.add_response(
        "start_query_execution", {"QueryExecutionId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"}
    )
    stubber.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
    stubber.add_response("stop_query_execution", {})
    with stubber, pytest.raises(pipeline.PipelineError, match="stopped it"):
        pipeline.query("SELECT * FROM features_train", timeout_seconds=0, stack=ops, athena=athena)


# --- The notebook's scripts ---------------------------------------------------------------------------------------

_AWS_CLI = re.compile(
    r'(?:^|[\s(])(?:aws|"\$aws_cli"|"\$MLOPS_AWS_CLI"|\'\$MLOPS_AWS_CLI\')\s+([a-z0-9-]+)\s+([a-z0-9-]+)',
    re.M,
)
_GIT_REMOTE = re.compile(r"\bgit\b(?:\s+-C\s+\S+)?\s+(clone|fetch|pull|push|ls-remote)\b")
# `aws configure set` and CodeCommit's credential helper only write or sign locally.
_LOCAL = {("configure", "set"), ("codecommit", "credential-helper")}


def script_commands() -> tuple[set[tuple[str, str]], set[str]]:
    """Every AWS CLI command (service, command) and git remote command in the notebook's scripts."""
    aws: set[tuple[str, str]] = set()
    git: set[str] = set()
    for script in [*SCRIPTS.glob("bin/*.sh"), SCRIPTS / "lifecycle" / "hook.sh"]:
        text = script.read_text()
        aws |= {(m[1], m[2]) for m in _AWS_CLI.finditer(text)}
        git |= {m[1] for m in _GIT_REMOTE.finditer(text)}
    return aws - _LOCAL, git


def script_requests(stack: Stack) -> list[Request]:
    """The lifecycle hook fetches the bundle its tag names; the idle stop reads and stops this notebook; git reaches
    the project repository through the notebook's role (CodeCommit) or the secret's token (another host)."""
    name = stack.notebook["name"]
    notebook = _arn("sagemaker", f"notebook-instance/{name.lower()}")
    bundle_bucket, bundle_prefix = _split(stack.notebook["tags"][bundle.BUNDLE_TAG])
    cli: dict[tuple[str, str], list[Request]] = {
        ("sagemaker", "list-tags"): [Request("sagemaker:ListTags", notebook, why="hook.sh finds the bundle")],
        ("s3", "cp"): [
            Request("s3:ListBucket", f"arn:aws:s3:::{bundle_bucket}", (("s3:prefix", bundle_prefix),), "hook.sh fetches the bundle"),
            *(Request("s3:GetObject", object_arn(bundle_bucket, key), why="hook.sh fetches the bundle") for key in stack.bundle_keys),
        ],
        ("sagemaker", "describe-notebook-instance"): [Request("sagemaker:DescribeNotebookInstance", notebook, why="autostop.sh")],
        ("sagemaker", "stop-notebook-instance"): [Request("sagemaker:StopNotebookInstance", notebook, why="autostop.sh")],
        ("secretsmanager", "get-secret-value"): [],
    }  # fmt: skip
    found, git = script_commands()
    assert found == set(cli), f"map the scripts' new AWS CLI commands: {found ^ set(cli)}"
    assert git == {"clone", "ls-remote", "push"}, git
    requests_ = [r for requests_ in cli.values() for r in requests_]
    secret = stack.settings["repository"]["secret_arn"]
    if secret:
        requests_.append(Request("secretsmanager:GetSecretValue", secret, why="git-credential-secret.sh"))
    else:
        repository = _arn("codecommit", stack.one("aws:codecommit/repository:Repository")["repositoryName"])
        requests_ += [
            Request("codecommit:GitPull", repository, why=f"git {c}") for c in ("clone", "ls-remote")
        ]
        requests_.append(Request("codecommit:GitPush", repository, why="git push"))
    return requests_


# --- What AWS does with the role, and the documented journeys without code of ours ----------------------------------


def sagemaker_requests(stack: Stack) -> list[Request]:
    """SageMaker ships the lifecycle scripts' and Jupyter's logs with the role (the CloudWatch agent looks up its
    stream first), and clones an existing repository with the role's access to its secret."""
    name = stack.notebook["name"]
    requests_ = [
        Request(
            "logs:DescribeLogStreams", _arn("logs", f"log-group:{NOTEBOOK_LOGS}:*"), why="CloudWatch agent"
        )
    ]
    for stream in ("LifecycleConfigOnCreate", "LifecycleConfigOnStart", "jupyter.log"):
        requests_ += log_requests(NOTEBOOK_LOGS, f"{name}/{stream}", create_group=True, why="notebook logs")
    secret = stack.settings["repository"]["secret_arn"]
    if secret:
        requests_.append(
            Request("secretsmanager:GetSecretValue", secret, why="SageMaker clones the repository")
        )
    return requests_


def console_requests(stack: Stack, execution: str) -> list[Request]:
    """Browsing the lake in Athena's query editor (workgroup, catalog, databases, tables, then a query on the
    partitioned predictions table), following a run and its tuning job, and checking the endpoint."""
    lake = stack.settings["lake"]
    catalog = _arn("athena", "datacatalog/AwsDataCatalog")
    why = "Athena's query editor"
    requests_ = [
        Request("athena:GetWorkGroup", _arn("athena", f"workgroup/{lake['athena_workgroup']}"), why=why)
    ]
    requests_ += [
        Request(f"athena:{a}", catalog, why=why)
        for a in ("GetDataCatalog", "ListDatabases", "ListTableMetadata", "GetTableMetadata")
    ]
    requests_ += [Request("glue:GetDatabases", _arn("glue", "catalog"), why="athena:ListDatabases")]
    requests_ += _catalog(lake["database"], "*", ("glue:GetTables",), "athena:ListTableMetadata")
    requests_ += _catalog(lake["database"], "features_train", ("glue:GetTable",), "athena:GetTableMetadata")
    if stack.settings["inference"] == "batch":
        requests_ += _athena(stack, "StartQueryExecution", {}, "predictions")
    run = execution.split(":execution:", 1)[1]
    requests_.append(
        Request("states:GetExecutionHistory", _arn("states", f"execution:{run}"), why="following a run")
    )
    tuning = _arn("sagemaker", f"hyper-parameter-tuning-job/{RUN}")
    why = "the run's tuning job, named in its record"
    requests_ += [Request("sagemaker:DescribeHyperParameterTuningJob", tuning, why=why),
                  Request("sagemaker:ListTrainingJobsForHyperParameterTuningJob", tuning, why=why),
                  Request("sagemaker:DescribeTrainingJob", _arn("sagemaker", f"training-job/{RUN}-001-0a1b2c3d"), why=why)]  # fmt: skip
    if stack.settings["endpoint_name"]:
        endpoint = _arn("sagemaker", f"endpoint/{stack.settings['endpoint_name'].lower()}")
        requests_.append(Request("sagemaker:DescribeEndpoint", endpoint, why="is the endpoint InService"))
    return requests_


# What the Glue interactive sessions kernel (aws-glue-sessions 1.0.9) calls with the notebook's role: a session is
# created (tagged with its owner, which Glue authorizes as TagResource too), polled until ready, given each cell as
# a statement and polled for its result; an interrupt cancels a statement; %status reads the session and its
# tags, %list_sessions lists them and %stop_session stops it. ListSessions has no resource to scope it to.
GLUE_KERNEL = ("CreateSession", "TagResource", "GetSession", "RunStatement", "GetStatement", "CancelStatement",
               "GetTags", "StopSession")  # fmt: skip


def glue_kernel_requests(stack: Stack) -> list[Request]:
    role = stack.settings["glue_sessions"]["role_arn"]
    if not role:
        return []
    session = _arn("glue", "session/8a9b0c1d-2e3f-4a5b-6c7d-8e9f0a1b2c3d")
    requests_ = [Request(f"glue:{a}", session, why="Glue sessions kernel") for a in GLUE_KERNEL]
    requests_.append(Request("glue:ListSessions", "*", why="%list_sessions"))
    return [
        *requests_,
        Request("iam:PassRole", role, (("iam:PassedToService", "glue.amazonaws.com"),), "CreateSession"),
    ]


def glue_session_requests(stack: Stack) -> list[Request]:
    """The Glue notebook's Spark code, as the session's role: read `features_train` from the catalog and its data,
    compare it with the ETL's training extract, write a summary to the sandbox (overwrite mode deletes the last
    one; a failed part upload is aborted), and Glue's logs of the session."""
    lake = stack.settings["lake"]
    requests_ = _catalog(
        lake["database"], "features_train", ("glue:GetDatabase", "glue:GetTable"), "from_catalog"
    )
    data_bucket, data_prefix = _split(stack.table_location("features_train")[0])
    extracts, extract = stack.settings["buckets"]["extracts"], stack.settings["prefixes"]["train_extract"]
    sandbox = f"{stack.settings['prefixes']['sandbox']}attrition-by-department/"
    feature = stack.settings["buckets"]["feature_store"]
    requests_ += [
        Request(
            "s3:ListBucket", f"arn:aws:s3:::{data_bucket}", (("s3:prefix", data_prefix),), "reading the table"
        ),
        Request("s3:GetObject", object_arn(data_bucket, f"{data_prefix}train.csv"), why="reading the table"),
        Request(
            "s3:ListBucket", f"arn:aws:s3:::{extracts}", (("s3:prefix", extract),), "reading the extract"
        ),
        Request("s3:GetObject", object_arn(extracts, extract), why="reading the extract"),
        Request(
            "s3:ListBucket", f"arn:aws:s3:::{feature}", (("s3:prefix", sandbox),), "overwriting the sandbox"
        ),
        Request(
            "s3:DeleteObject",
            object_arn(feature, f"{sandbox}part-00000.parquet"),
            why="overwriting the sandbox",
        ),
        Request(
            "s3:PutObject", object_arn(feature, f"{sandbox}part-00000.parquet"), why="writing the sandbox"
        ),
        Request(
            "s3:AbortMultipartUpload",
            object_arn(feature, f"{sandbox}part-00000.parquet"),
            why="a failed part",
        ),
        Request(
            "s3:GetObject",
            object_arn(feature, f"{sandbox}part-00000.parquet"),
            why="reading the summary back",
        ),
    ]
    for group in ("output", "error"):
        requests_ += log_requests(
            f"/aws-glue/sessions/{group}",
            "8a9b0c1d-2e3f-4a5b-6c7d-8e9f0a1b2c3d",
            create_group=True,
            why="session logs",
        )
    return requests_


def _with_kms(stack: Stack, requests_: list[Request]) -> list[Request]:
    """With a KMS key, every store (and Athena's results) is SSE-KMS: S3 decrypts what the caller reads and asks
    for a data key for what it writes, with the caller's credentials."""
    key = stack.one("aws:athena/workgroup:Workgroup")["configuration"]["resultConfiguration"][
        "encryptionConfiguration"
    ].get("kmsKeyArn")
    if not key:
        return requests_
    kms = {"s3:GetObject": "kms:Decrypt", "s3:PutObject": "kms:GenerateDataKey"}
    buckets = set(stack.settings["buckets"].values())
    extra = [Request(kms[r.action], key, why=f"SSE-KMS: {r.why}") for r in requests_
             if r.action in kms and r.resource.split(":::", 1)[1].split("/", 1)[0] in buckets]  # fmt: skip
    return requests_ + extra


# --- The checks --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def derive(
    shared_project_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], tuple[dict[str, Any], list[Request]]]:
    """`derive(role)`: the role's registered policy and the requests made with it, derived once per role (in the
    first test that asks, so that each role's first test also builds its policy)."""
    derived: dict[str, tuple[dict[str, Any], list[Request]]] = {}

    def run(role: str) -> tuple[dict[str, Any], list[Request]]:
        if role not in derived:
            stack = deploy(STACKS[role.split(" ", 1)[0]], shared_project_dir)
            with pytest.MonkeyPatch.context() as env:
                for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                    env.setenv(name, "testing")
                env.setenv("AWS_DEFAULT_REGION", REGION)
                with mock_aws(config=RUN_STATE_MACHINES):
                    derived[role] = _derive(stack, role, tmp_path_factory.mktemp("notebook"))
        return derived[role]

    return run


def _derive(stack: Stack, role: str, tmp_path: Path) -> tuple[dict[str, Any], list[Request]]:
    if role.endswith("glue session"):
        return stack.policy("mlops-devenv-glue-session-policy"), _with_kms(
            stack, glue_session_requests(stack)
        )
    requests_ = pipeline_requests(stack, tmp_path)
    [execution] = {r.resource for r in requests_ if r.action == "states:DescribeExecution"}
    requests_ += script_requests(stack) + sagemaker_requests(stack) + console_requests(stack, execution)
    requests_ += glue_kernel_requests(stack)
    return stack.policy("mlops-devenv-notebook-policy"), _with_kms(stack, requests_)


@pytest.mark.parametrize("role", NEEDED)
def test_the_role_grants_every_request_the_notebook_and_its_sessions_make(derive, role: str) -> None:
    policy, requests_ = derive(role)
    assert {r.action for r in requests_} == NEEDED[role]
    assert denied(policy, requests_) == []


@pytest.mark.parametrize(
    ("role", "action"), [(role, action) for role in NEEDED for action in sorted(NEEDED[role])]
)
def test_removing_a_needed_action_denies_a_request(derive, role: str, action: str) -> None:
    policy, requests_ = derive(role)
    assert denied(without_action(policy, action), requests_), f"{role} works without {action}"
