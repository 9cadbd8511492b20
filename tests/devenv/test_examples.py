"""The example code the notebook's project starts with: `src/pipeline.py` and the generated notebooks.

The operations run against moto. The notebooks are validated against the nbformat schema, and their code
cells are executed in order, in a separate Python process with the notebook's working directory, as a kernel
would run them, against moto's server.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import nbformat
import pytest
import requests
from botocore.stub import Stubber
from moto import mock_aws

from mlops_component.builders.notebook_bundle import bundle, notebooks
from tests.devenv.conftest import ACCOUNT_ID, REGION, stack_for

TEMPLATE = Path(bundle.__file__).parent / "project"
MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-training"
# The ETL's training extract (docs/data-contract.md): a header, then id, label and the features.
TRAIN_EXTRACT = "EmployeeNumber,Attrition,Age,OverTime\n1,1,41,1\n2,0,49,0\n4,1,37,1\n"
# moto runs state machine definitions for real only when asked to.
RUN_STATE_MACHINES: Any = {"stepfunctions": {"execute_state_machine": True}}
INERT_STATE_MACHINES: Any = {"stepfunctions": {"execute_state_machine": False}}
RUN_RECORD = {
    "schema_version": 1,
    "objective": {"name": "accuracy", "value": 0.87, "type": "Maximize"},
    "metrics": {"accuracy": 0.87, "roc_auc": 0.91},
    "model_data_url": "s3://models/tuning/attrition-0a1b/output/model.tar.gz",
}


def load_pipeline() -> ModuleType:
    """The template's `src/pipeline.py`, imported from its file (its package is the user's project, `src`)."""
    spec = importlib.util.spec_from_file_location(
        "devenv_template_pipeline", TEMPLATE / "src" / "pipeline.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pipeline = load_pipeline()


def create_stack_resources(stack: bundle.NotebookStack, client: Callable[..., Any] = boto3.client) -> None:
    """What `pulumi up` and a first run leave behind, in the (moto) account `client` reaches."""
    s3 = client("s3", region_name=REGION)
    for bucket in stack.buckets.values():
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=stack.buckets["extracts"], Key="train/train.csv", Body=TRAIN_EXTRACT.encode())
    for run, accuracy in (("attrition-000000000001", 0.81), ("attrition-000000000002", 0.87)):
        record = {**RUN_RECORD, "metrics": {**RUN_RECORD["metrics"], "accuracy": accuracy}}
        s3.put_object(
            Bucket=stack.buckets["metadata"], Key=f"runs/{run}.json", Body=json.dumps(record).encode()
        )
    s3.put_object(
        Bucket=stack.buckets["output"],
        Key="predictions/run=attrition-000000000002/score.csv",
        Body=b"1,0.91\n2,0.12\n",
    )
    client("stepfunctions", region_name=REGION).create_state_machine(
        name="mlops-test-training",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/states",
    )
    glue = client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": stack.database_name})
    glue.create_crawler(
        Name=str(stack.crawler_name),
        Role=f"arn:aws:iam::{ACCOUNT_ID}:role/crawler",
        DatabaseName=stack.database_name,
        Targets={"S3Targets": [{"Path": f"s3://{stack.buckets['feature_store']}/data/train/"}]},
    )
    client("athena", region_name=REGION).create_work_group(
        Name=stack.athena_workgroup,
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{stack.buckets['output']}/athena-results/"}
        },
    )


def queue_results(endpoint_body: str, athena_rows: list[list[str]], moto_api: str) -> None:
    """What moto answers to the next endpoint call and Athena query."""
    requests.post(
        f"{moto_api}/moto-api/static/sagemaker/endpoint-results",
        json={"results": [{"Body": endpoint_body, "ContentType": "text/csv"}]},
        timeout=10,
    )
    rows = [{"Data": [{"VarCharValue": value} for value in row]} for row in athena_rows]
    requests.post(
        f"{moto_api}/moto-api/static/athena/query-results",
        json={"results": [{"rows": rows, "column_info": []}]},
        timeout=10,
    )


@pytest.fixture
def stack() -> Iterator[Any]:
    """The template's Stack for a batch stack with a workflow, on an in-process moto account."""
    settings = stack_for("https://example.com/x.git", state_machine_arn=MACHINE_ARN)
    with mock_aws(config=RUN_STATE_MACHINES):
        create_stack_resources(settings)
        yield pipeline.Stack(bundle.stack_settings(settings))


# --- src/pipeline.py --------------------------------------------------------------------------------------------


def test_land_data_uploads_to_the_prefix_the_trigger_watches(stack: Any, tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    train.write_text("EmployeeNumber,Attrition\n1,Yes\n")
    uri = pipeline.land_data(str(train), "train", stack=stack)
    assert uri == f"s3://{stack.bucket('feature_store')}/data/train/train.csv"
    assert pipeline.latest_landed("train", stack=stack) == "data/train/train.csv"
    assert pipeline.latest_landed("score", stack=stack) is None


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [("train.csv", "features", "kind must be one of"), ("train.parquet", "train", "not a .csv file")],
)
def test_land_data_rejects_what_the_pipeline_cannot_read(
    stack: Any, tmp_path: Path, name: str, kind: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(pipeline.PipelineError, match=message):
        pipeline.land_data(str(path), kind, stack=stack)
    with pytest.raises(pipeline.PipelineError, match="is not a file"):
        pipeline.land_data(str(tmp_path / "missing.csv"), stack=stack)


def test_start_run_sends_the_latest_landed_files_in_the_triggers_input_shape(
    stack: Any, tmp_path: Path
) -> None:
    for kind in ("train", "score"):
        path = tmp_path / f"{kind}.csv"
        path.write_text("EmployeeNumber\n1\n")
        pipeline.land_data(str(path), kind, stack=stack)
    arn = pipeline.start_run(stack=stack)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn.describe_execution(executionArn=arn)
    assert json.loads(execution["input"]) == {
        "train": {"bucket": stack.bucket("feature_store"), "key": "data/train/train.csv"},
        "score": {"bucket": stack.bucket("feature_store"), "key": "data/score/score.csv"},
    }
    assert execution["name"].startswith("notebook-")
    assert pipeline.wait_for_run(arn, poll_seconds=0, stack=stack)["status"] == "SUCCEEDED"


def test_start_run_explains_what_is_missing(stack: Any) -> None:
    with pytest.raises(pipeline.PipelineError, match="no train data under s3://"):
        pipeline.start_run(stack=stack)
    no_workflow = pipeline.Stack({**stack.settings, "workflow": {"state_machine_arn": None}})
    with pytest.raises(pipeline.PipelineError, match="land data with land_data"):
        pipeline.start_run(stack=no_workflow)


def test_read_metrics_reads_the_latest_run_record_or_a_named_one(stack: Any) -> None:
    assert pipeline.run_records(stack=stack) == ["attrition-000000000001", "attrition-000000000002"]
    latest = pipeline.read_metrics(stack=stack)
    assert latest["run"] == "attrition-000000000002"
    assert latest["metrics"]["accuracy"] == 0.87
    assert pipeline.read_metrics("attrition-000000000001", stack=stack)["metrics"]["accuracy"] == 0.81
    with pytest.raises(pipeline.PipelineError, match="no record of run 'nope'"):
        pipeline.read_metrics("nope", stack=stack)


def test_labelled_examples_follow_both_extract_layouts(stack: Any) -> None:
    labels, rows = pipeline.labelled_examples(2, stack=stack)
    assert labels == ["1", "0"]
    assert rows == [["1", "41", "1"], ["2", "49", "0"]]  # id and features: the label is not sent
    # The built-in algorithm's layout: no header, no id, label first.
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=stack.bucket("extracts"), Key="train/train.csv", Body=b"1,41,1\n0,49,0\n"
    )
    assert pipeline.labelled_examples(5, stack=stack) == (["1", "0"], [["41", "1"], ["49", "0"]])


def test_call_endpoint_sends_csv_and_returns_one_probability_per_row(stack: Any) -> None:
    endpoint_stack = pipeline.Stack(
        {**stack.settings, "inference": "endpoint", "endpoint_name": "training-endpoint"}
    )
    queue_results("0.91\n0.12\n", [], "http://motoapi.amazonaws.com")
    assert pipeline.call_endpoint([[1, 41, 1], [2, 49, 0]], stack=endpoint_stack) == [0.91, 0.12]
    assert pipeline.to_csv([[1, 41.5, "a"]]) == "1,41.5,a\n"
    with pytest.raises(pipeline.PipelineError, match="no endpoint"):
        pipeline.call_endpoint([[1]], stack=stack)
    with pytest.raises(pipeline.PipelineError, match="no rows"):
        pipeline.call_endpoint([], stack=endpoint_stack)


def test_call_endpoint_notices_an_answer_of_the_wrong_length(stack: Any) -> None:
    endpoint_stack = pipeline.Stack({**stack.settings, "endpoint_name": "training-endpoint"})
    queue_results("0.5\n", [], "http://motoapi.amazonaws.com")
    with pytest.raises(pipeline.PipelineError, match="answered 1 line"):
        pipeline.call_endpoint([[1], [2]], stack=endpoint_stack)


def test_read_predictions_parses_the_batch_output(stack: Any) -> None:
    assert pipeline.read_predictions(stack=stack) == [("1", 0.91), ("2", 0.12)]
    with pytest.raises(pipeline.PipelineError, match="no predictions"):
        pipeline.read_predictions("attrition-9", stack=stack)


def test_read_predictions_reads_every_part_of_a_run_in_order(stack: Any) -> None:
    """A run scored on three instances has a file per score part; the parts in name order are the rows in order."""
    s3 = boto3.client("s3", region_name=REGION)
    folder = "predictions/run=attrition-000000000003/"
    for part, body in ((2, b"5,0.5\n"), (0, b"1,0.1\n2,0.2\n"), (1, b"3,0.3\n4,0.4\n")):
        s3.put_object(Bucket=stack.bucket("output"), Key=f"{folder}part-{part:05d}.csv", Body=body)
    expected = [(str(n), n / 10) for n in range(1, 6)]
    assert pipeline.read_predictions(stack=stack) == expected
    assert pipeline.read_predictions("attrition-000000000003", stack=stack) == expected
    assert pipeline.read_predictions("attrition-000000000002", stack=stack) == [("1", 0.91), ("2", 0.12)]


def stubbed_glue(*states: tuple[str, str | None]) -> tuple[Any, Stubber]:
    """A glue client that answers start_crawler, then get_crawler with each (State, LastCrawl status)."""
    glue = boto3.client("glue", region_name=REGION)
    stubber = Stubber(glue)
    stubber.add_response("start_crawler", {}, {"Name": "mlops-test-feature-store"})
    for state, last in states:
        crawler: dict[str, Any] = {"Name": "mlops-test-feature-store", "State": state}
        if last:
            crawler["LastCrawl"] = {
                "Status": last,
                "ErrorMessage": "Insufficient Lake Formation permission(s)",
            }
        stubber.add_response("get_crawler", {"Crawler": crawler}, {"Name": "mlops-test-feature-store"})
    stubber.activate()
    return glue, stubber


def test_crawl_lake_waits_for_the_crawl_it_started(stack: Any) -> None:
    glue, stubber = stubbed_glue(("RUNNING", "SUCCEEDED"), ("STOPPING", "SUCCEEDED"), ("READY", "SUCCEEDED"))
    assert pipeline.crawl_lake(poll_seconds=0, stack=stack, glue=glue) == "SUCCEEDED"
    stubber.assert_no_pending_responses()
    glue, _ = stubbed_glue(("RUNNING", None), ("READY", "FAILED"))
    with pytest.raises(pipeline.PipelineError, match="crawl FAILED: Insufficient Lake Formation"):
        pipeline.crawl_lake(poll_seconds=0, stack=stack, glue=glue)
    glue, _ = stubbed_glue(("RUNNING", None), ("RUNNING", None))
    with pytest.raises(pipeline.PipelineError, match="still RUNNING after 0 minutes"):
        pipeline.crawl_lake(poll_seconds=0, timeout_minutes=0, stack=stack, glue=glue)


def test_crawl_and_query_the_lake(stack: Any) -> None:
    assert pipeline.crawl_lake(wait=False, stack=stack) == "RUNNING"
    # A second call while that crawl runs joins it instead of failing.
    assert pipeline.crawl_lake(wait=False, stack=stack) == "RUNNING"
    queue_results(
        "", [["attrition", "employees"], ["0", "1233"], ["1", "237"]], "http://motoapi.amazonaws.com"
    )
    rows = pipeline.query(
        "SELECT attrition, COUNT(*) AS employees FROM features_train GROUP BY 1", stack=stack
    )
    assert rows == [{"attrition": "0", "employees": "1233"}, {"attrition": "1", "employees": "237"}]
    execution = boto3.client("athena", region_name=REGION).list_query_executions(
        WorkGroup=stack.settings["lake"]["athena_workgroup"]
    )
    assert execution["QueryExecutionIds"]


def test_the_stack_file_is_required_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pipeline.STACK_FILE_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(pipeline.PipelineError, match="no stack settings at"):
        pipeline.Stack.load()


def test_the_command_line_prints_errors_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(pipeline.STACK_FILE_ENV, str(tmp_path / "missing.json"))
    assert pipeline.main(["metrics"]) == 1
    assert capsys.readouterr().err.startswith("error: no stack settings at")


# --- The notebooks ------------------------------------------------------------------------------------------------


def all_notebooks(**changes: Any) -> dict[str, dict[str, Any]]:
    settings = stack_for("https://example.com/x.git", **changes)
    documents = bundle.generated_documents(settings)
    return {
        key.rsplit("/", 1)[-1]: json.loads(text) for key, text in documents.items() if key.endswith(".ipynb")
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            [
                "01-land-data",
                "02-start-a-run",
                "03-read-metrics",
                "04-read-predictions",
                "05-explore-the-lake",
            ],
        ),
        (
            {"batch": False, "glue_session_role_arn": "arn:aws:iam::123456789012:role/s"},
            [
                "01-land-data",
                "02-start-a-run",
                "03-read-metrics",
                "04-call-the-endpoint",
                "05-explore-the-lake",
                "06-glue-interactive-session",
            ],
        ),
    ],
)
def test_notebooks_are_valid_nbformat_and_fit_the_stack(changes: dict[str, Any], expected: list[str]) -> None:
    found = all_notebooks(**changes)
    assert sorted(found) == [f"{name}.ipynb" for name in expected]
    assert list(found) == notebooks.notebook_names(
        batch=changes.get("batch", True), glue_sessions="glue_session_role_arn" in changes
    )
    for document in found.values():
        nbformat.validate(nbformat.from_dict(document))


def test_the_glue_notebook_runs_the_seeds_walk_through_on_a_session_and_stops_it() -> None:
    glue = all_notebooks(glue_session_role_arn="arn:aws:iam::123456789012:role/s")[
        "06-glue-interactive-session.ipynb"
    ]
    assert glue["metadata"]["kernelspec"]["name"] == "glue_pyspark"
    code = [cell["source"] for cell in glue["cells"] if cell["cell_type"] == "code"]
    assert code[0].startswith("%idle_timeout 30\n%glue_version 5.0")
    assert 'database="mlops_test_lake", table_name="features_train"' in code[2]
    assert "s3://mlops-test-feature-store/sandbox/attrition-by-department/" in code[3]
    assert code[-1] == "%stop_session"
    for source in code[1:-1]:
        ast.parse(source)  # plain Python, apart from the magics


RUNNER = """
import ast, json, sys
outputs = []
for number, source in enumerate(json.load(open(sys.argv[1]))):
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f"cell {number}", "exec"), globals())
    value = eval(compile(ast.Expression(last.value), f"cell {number}", "eval"), globals()) if last else None
    outputs.append(repr(value))
print(json.dumps(outputs))
"""


def execute(document: dict[str, Any], project: Path, env: dict[str, str]) -> list[str]:
    """Run a notebook's code cells in order in `project/notebooks`, as a kernel would; each cell's value."""
    cells = [cell["source"] for cell in document["cells"] if cell["cell_type"] == "code"]
    (project / "cells.json").write_text(json.dumps(cells))
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(project / "cells.json")],
        cwd=project / "notebooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture
def notebook_project(
    tmp_path: Path, moto_url: str, aws: dict[str, Any]
) -> Iterator[tuple[Path, dict[str, str], Any]]:
    """The scaffolded project with data in data/raw, a stack file, and the stack's resources on moto's server."""
    settings = stack_for("https://example.com/x.git", state_machine_arn=MACHINE_ARN)
    project = tmp_path / "project"
    laid_out = bundle.write_bundle(tmp_path / "bundle", settings)
    subprocess.run(["cp", "-R", str(laid_out / "project"), str(project)], check=True)
    (project / "data" / "raw").mkdir(parents=True)
    (project / "data" / "raw" / "train.csv").write_text("EmployeeNumber,Attrition\n1,Yes\n")
    (project / "data" / "raw" / "score.csv").write_text("EmployeeNumber\n2\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MLOPS_STACK_FILE": str(laid_out / bundle.STACK_FILE),
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    requests.post(f"{moto_url}/moto-api/config", json=RUN_STATE_MACHINES, timeout=10)
    on_server = functools.partial(
        boto3.client, endpoint_url=moto_url, aws_access_key_id="t", aws_secret_access_key="t"
    )
    create_stack_resources(settings, client=on_server)
    try:
        yield project, env, settings
    finally:
        # The server shares this process's moto backends: leave state machines inert for the tests that follow.
        requests.post(f"{moto_url}/moto-api/config", json=INERT_STATE_MACHINES, timeout=10)


@contextmanager
def crawls_finishing(moto_url: str) -> Iterator[None]:
    """Glue finishing crawls while a notebook waits: moto moves a crawl on when its crawls are listed."""
    glue = boto3.client(
        "glue", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    done = threading.Event()

    def advance() -> None:
        while not done.wait(0.5):
            glue.list_crawls(CrawlerName="mlops-test-feature-store")

    worker = threading.Thread(target=advance, daemon=True)
    worker.start()
    try:
        yield
    finally:
        done.set()
        worker.join()


def test_notebooks_01_to_05_run_top_to_bottom(
    notebook_project: tuple[Path, dict[str, str], Any], moto_url: str
) -> None:
    project, env, settings = notebook_project
    found = {
        path.name: json.loads(path.read_text()) for path in sorted((project / "notebooks").glob("*.ipynb"))
    }

    landed = execute(found["01-land-data.ipynb"], project, env)
    assert landed[1:] == [
        repr(f"s3://{settings.buckets['feature_store']}/data/{kind}/{kind}.csv")
        for kind in ("train", "score")
    ]

    started = execute(found["02-start-a-run.ipynb"], project, env)
    assert started[1].startswith(
        repr(f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:mlops-test-training:notebook-")[:-1]
    )
    assert "'status': 'SUCCEEDED'" in started[-1]

    metrics = execute(found["03-read-metrics.ipynb"], project, env)
    assert "'run': 'attrition-000000000002'" in metrics[1]
    assert "0.87" in metrics[2] and "0.81" in metrics[2]  # one row per run

    predictions = execute(found["04-read-predictions.ipynb"], project, env)
    assert "0.91" in predictions[1]

    queue_results("", [["attrition", "employees"], ["1", "237"]], moto_url)
    with crawls_finishing(moto_url):
        lake = execute(found["05-explore-the-lake.ipynb"], project, env)
    assert lake[1] == repr("COMPLETED")  # moto's name for a successful crawl
    assert "237" in lake[-1]


def test_the_endpoint_notebook_scores_training_rows(
    notebook_project: tuple[Path, dict[str, str], Any], moto_url: str
) -> None:
    project, env, settings = notebook_project
    endpoint = replace(settings, batch=False, endpoint_name="training-endpoint")
    (Path(env["MLOPS_STACK_FILE"])).write_text(json.dumps(bundle.stack_settings(endpoint)))
    document = json.loads(
        bundle.generated_documents(endpoint)["project/notebooks/04-call-the-endpoint.ipynb"]
    )
    queue_results("0.91\n0.12\n0.77\n", [], moto_url)
    outputs = execute(document, project, env)
    assert outputs[-1] == repr([("1", 0.91), ("0", 0.12), ("1", 0.77)])
