"""Operations on the deployed MLOps pipeline, for the notebooks in `notebooks/` and for the terminal.

The names of everything the stack created (buckets, state machine, endpoint, catalog) come from the stack
settings file the notebook's lifecycle script writes at every start (`/opt/mlops/stack.json`; set
`MLOPS_STACK_FILE` to use another). Every function takes optional boto3 clients, so they can be tested or
pointed elsewhere.

    python -m src.pipeline land data/raw/train.csv --kind train
    python -m src.pipeline start
    python -m src.pipeline metrics
    python -m src.pipeline invoke data/processed/sample.csv
    python -m src.pipeline query "SELECT COUNT(*) FROM features_train"
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3

STACK_FILE_ENV = "MLOPS_STACK_FILE"
DEFAULT_STACK_FILE = "/opt/mlops/stack.json"
KINDS = ("train", "score")


class PipelineError(RuntimeError):
    """Something this stack cannot do, or a step that failed; the message says which and why."""


@dataclass(frozen=True)
class Stack:
    """The deployed stack's names, from the settings file."""

    settings: dict[str, Any]

    @classmethod
    def load(cls, path: str | None = None) -> Stack:
        """Read the stack settings (`MLOPS_STACK_FILE`, else the lifecycle script's file)."""
        location = Path(path or os.environ.get(STACK_FILE_ENV) or DEFAULT_STACK_FILE)
        try:
            return cls(json.loads(location.read_text()))
        except FileNotFoundError:
            raise PipelineError(
                f"no stack settings at {location}: the notebook's lifecycle script writes them at start "
                f"(set {STACK_FILE_ENV} to use another file)"
            ) from None

    @property
    def region(self) -> str:
        return str(self.settings["region"])

    @property
    def is_batch(self) -> bool:
        return self.settings["inference"] == "batch"

    def bucket(self, store: str) -> str:
        """A store's bucket name: feature_store, extracts, models, metadata or output."""
        return str(self.settings["buckets"][store])

    def prefix(self, name: str) -> str:
        """An S3 prefix of the data contract: train, score, sandbox, runs or predictions."""
        return str(self.settings["prefixes"][name])

    def client(self, service: str) -> Any:
        """A boto3 client in the stack's region."""
        return boto3.client(service, region_name=self.region)


def _stack(stack: Stack | None) -> Stack:
    return stack or Stack.load()


def _objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under a prefix, oldest first."""
    objects: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects.extend(page.get("Contents", []))
    return sorted(objects, key=lambda item: (item["LastModified"], item["Key"]))


# --- Land data ----------------------------------------------------------------------------------------------------


def land_data(path: str, kind: str = "train", *, stack: Stack | None = None, s3: Any = None) -> str:
    """Upload a CSV file to the feature store's `data/<kind>/` prefix and return its S3 URI.

    Landing a train file (and, for batch inference, a score file) is what starts a pipeline run: the stack's
    trigger watches these prefixes.
    """
    stack = _stack(stack)
    if kind not in KINDS:
        raise PipelineError(f"kind must be one of {KINDS}, not {kind!r}")
    source = Path(path)
    if not source.is_file():
        raise PipelineError(f"{source} is not a file")
    if source.suffix.lower() != ".csv":
        raise PipelineError(f"{source} is not a .csv file; the pipeline reads CSV")
    bucket, key = stack.bucket("feature_store"), stack.prefix(kind) + source.name
    (s3 or stack.client("s3")).upload_file(str(source), bucket, key)
    return f"s3://{bucket}/{key}"


def latest_landed(kind: str, *, stack: Stack | None = None, s3: Any = None) -> str | None:
    """The key of the most recently landed file of a kind, or None."""
    stack = _stack(stack)
    objects = _objects(s3 or stack.client("s3"), stack.bucket("feature_store"), stack.prefix(kind))
    return objects[-1]["Key"] if objects else None


# --- Runs ---------------------------------------------------------------------------------------------------------


def start_run(
    *,
    train_key: str | None = None,
    score_key: str | None = None,
    stack: Stack | None = None,
    sfn: Any = None,
    s3: Any = None,
) -> str:
    """Start the training workflow on landed data (the latest files by default); return the execution ARN."""
    stack = _stack(stack)
    machine = stack.settings["workflow"].get("state_machine_arn")
    if not machine:
        raise PipelineError(
            "this stack's notebook was not given the training workflow's ARN; land data with land_data() "
            "instead, which starts a run through the trigger"
        )
    s3 = s3 or stack.client("s3")
    run_input: dict[str, Any] = {}
    given_keys = {"train": train_key, "score": score_key}
    for kind in KINDS if stack.is_batch else ("train",):
        given = given_keys[kind]
        key = given or latest_landed(kind, stack=stack, s3=s3)
        if not key:
            raise PipelineError(
                f"no {kind} data under s3://{stack.bucket('feature_store')}/{stack.prefix(kind)}"
            )
        run_input[kind] = {"bucket": stack.bucket("feature_store"), "key": key}
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")  # noqa: UP017 (Python 3.8+ notebooks)
    response = (sfn or stack.client("stepfunctions")).start_execution(
        stateMachineArn=machine,
        name=f"notebook-{stamp}-{uuid.uuid4().hex[:8]}",
        input=json.dumps(run_input),
    )
    return str(response["executionArn"])


def run_status(execution_arn: str, *, stack: Stack | None = None, sfn: Any = None) -> dict[str, Any]:
    """A run's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED) and, when it failed, why."""
    stack = _stack(stack)
    execution = (sfn or stack.client("stepfunctions")).describe_execution(executionArn=execution_arn)
    status = {"status": execution["status"], "started": str(execution["startDate"])}
    if execution.get("stopDate"):
        status["stopped"] = str(execution["stopDate"])
    for field in ("error", "cause"):
        if execution.get(field):
            status[field] = execution[field]
    return status


def wait_for_run(
    execution_arn: str,
    *,
    poll_seconds: float = 60,
    timeout_minutes: float = 24 * 60,
    stack: Stack | None = None,
    sfn: Any = None,
) -> dict[str, Any]:
    """Poll a run until it ends; raise PipelineError when it did not succeed."""
    deadline = time.monotonic() + timeout_minutes * 60
    while True:
        status = run_status(execution_arn, stack=stack, sfn=sfn)
        if status["status"] == "SUCCEEDED":
            return status
        if status["status"] != "RUNNING":
            raise PipelineError(
                f"run {execution_arn} ended {status['status']}: {status.get('error')}: {status.get('cause')}"
            )
        if time.monotonic() > deadline:
            raise PipelineError(f"run {execution_arn} still running after {timeout_minutes} minutes")
        time.sleep(poll_seconds)


# --- Metrics ------------------------------------------------------------------------------------------------------


def run_records(*, stack: Stack | None = None, s3: Any = None) -> list[str]:
    """Names of the recorded runs (tuning jobs), oldest first."""
    stack = _stack(stack)
    prefix = stack.prefix("runs")
    objects = _objects(s3 or stack.client("s3"), stack.bucket("metadata"), prefix)
    return [item["Key"][len(prefix) : -len(".json")] for item in objects if item["Key"].endswith(".json")]


def read_metrics(run: str | None = None, *, stack: Stack | None = None, s3: Any = None) -> dict[str, Any]:
    """A run's record from the metadata store (the latest run by default): objective, metrics, model."""
    stack = _stack(stack)
    s3 = s3 or stack.client("s3")
    if run is None:
        runs = run_records(stack=stack, s3=s3)
        if not runs:
            raise PipelineError(
                f"no run has been recorded in s3://{stack.bucket('metadata')}/{stack.prefix('runs')} yet"
            )
        run = runs[-1]
    key = f"{stack.prefix('runs')}{run}.json"
    try:
        body = s3.get_object(Bucket=stack.bucket("metadata"), Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise PipelineError(f"no record of run {run!r} (s3://{stack.bucket('metadata')}/{key})") from None
    record: dict[str, Any] = json.loads(body)
    record.setdefault("run", run)
    return record


# --- Inference ----------------------------------------------------------------------------------------------------


def to_csv(rows: Sequence[Sequence[Any]]) -> str:
    """Rows of feature values as the CSV body the model's `/invocations` reads."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def labelled_examples(
    count: int = 10, *, stack: Stack | None = None, s3: Any = None
) -> tuple[list[str], list[list[str]]]:
    """The first `count` rows of the latest training extract, as (labels, rows the endpoint scores).

    The ETL's training file has a header and `id, label, features...` for the bring-your-own model, and no
    header with `label, features...` for a built-in algorithm (docs/data-contract.md); either way the rows
    returned hold what the model's `/invocations` takes: `id, features...` or the features alone.
    """
    stack = _stack(stack)
    s3 = s3 or stack.client("s3")
    key = stack.prefix("train_extract")
    try:
        body = s3.get_object(Bucket=stack.bucket("extracts"), Key=key)["Body"]
    except s3.exceptions.NoSuchKey:
        raise PipelineError(
            f"no training extract at s3://{stack.bucket('extracts')}/{key}: run the pipeline first"
        ) from None
    lines = []
    for raw in body.iter_lines():
        lines.append(raw.decode())
        if len(lines) > count:  # one more, in case the first is a header
            break
    body.close()  # the rest of a large file is not needed
    rows = [row for row in csv.reader(lines) if row]
    if rows and not _is_number(rows[0][0]):
        return [row[1] for row in rows[1 : count + 1]], [[row[0], *row[2:]] for row in rows[1 : count + 1]]
    return [row[0] for row in rows[:count]], [row[1:] for row in rows[:count]]


def call_endpoint(
    rows: Sequence[Sequence[Any]], *, stack: Stack | None = None, runtime: Any = None
) -> list[float]:
    """Score rows (43 features each, or an id plus the features) with the endpoint; one probability per row."""
    stack = _stack(stack)
    endpoint = stack.settings.get("endpoint_name")
    if not endpoint:
        raise PipelineError("this stack runs batch inference and has no endpoint; see read_predictions()")
    if not rows:
        raise PipelineError("no rows to score")
    response = (runtime or stack.client("sagemaker-runtime")).invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=to_csv(rows).encode()
    )
    lines = response["Body"].read().decode().split()
    if len(lines) != len(rows):
        raise PipelineError(f"the endpoint answered {len(lines)} line(s) for {len(rows)} row(s)")
    return [float(line) for line in lines]


def read_predictions(
    run: str | None = None, *, stack: Stack | None = None, s3: Any = None
) -> list[tuple[str, float]]:
    """A batch run's `(id, probability)` pairs from the output store (the latest run by default).

    A run scored on several instances has one file per score part; they are read in name order, which is the
    score file's row order.
    """
    stack = _stack(stack)
    s3 = s3 or stack.client("s3")
    prefix = stack.prefix("predictions") + (f"run={run}/" if run else "")
    objects = [o for o in _objects(s3, stack.bucket("output"), prefix) if o["Key"].endswith(".csv")]
    if not objects:
        raise PipelineError(f"no predictions under s3://{stack.bucket('output')}/{prefix}")
    folder = objects[-1]["Key"].rsplit("/", 1)[0] + "/"  # the run of the newest file
    pairs = []
    for key in sorted(o["Key"] for o in objects if o["Key"].startswith(folder)):
        body = s3.get_object(Bucket=stack.bucket("output"), Key=key)["Body"].read().decode()
        pairs += [(row[0], float(row[-1])) for row in csv.reader(io.StringIO(body)) if row]
    return pairs


# --- The data lake ------------------------------------------------------------------------------------------------


def crawl_lake(
    *,
    wait: bool = True,
    poll_seconds: float = 10,
    timeout_minutes: float = 30,
    stack: Stack | None = None,
    glue: Any = None,
) -> str:
    """Run the feature store's crawler so new files and columns show up in Athena.

    Returns the crawler's state (RUNNING) without `wait`, else the finished crawl's status (SUCCEEDED); raises
    PipelineError when the crawl failed, was cancelled, or outlasted `timeout_minutes`.
    """
    stack = _stack(stack)
    crawler = stack.settings["lake"].get("crawler")
    if not crawler:
        raise PipelineError(
            "this stack's dev environment has no crawler of its own (crawl_feature_store is off)"
        )
    glue = glue or stack.client("glue")
    # A crawl already under way is fine: wait for that one.
    with contextlib.suppress(glue.exceptions.CrawlerRunningException):
        glue.start_crawler(Name=crawler)
    deadline = time.monotonic() + timeout_minutes * 60
    while True:
        state = glue.get_crawler(Name=crawler)["Crawler"]
        if not wait:
            return str(state["State"])
        if state["State"] == "READY":
            last = state.get("LastCrawl", {})
            if last.get("Status") in ("FAILED", "CANCELLED"):
                raise PipelineError(f"crawl {last['Status']}: {last.get('ErrorMessage', 'no reason given')}")
            return str(last.get("Status", "READY"))
        if time.monotonic() > deadline:
            raise PipelineError(f"the crawler is still {state['State']} after {timeout_minutes} minutes")
        time.sleep(poll_seconds)


def query(
    sql: str,
    *,
    poll_seconds: float = 1,
    timeout_seconds: float = 300,
    stack: Stack | None = None,
    athena: Any = None,
) -> list[dict[str, str | None]]:
    """Run an Athena query on the lake's database (in the stack's workgroup) and return its rows."""
    stack = _stack(stack)
    athena = athena or stack.client("athena")
    lake = stack.settings["lake"]
    execution_id = athena.start_query_execution(
        QueryString=sql,
        WorkGroup=lake["athena_workgroup"],
        QueryExecutionContext={"Database": lake["database"]},
    )["QueryExecutionId"]
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in ("FAILED", "CANCELLED"):
            raise PipelineError(
                f"query {status['State'].lower()}: {status.get('StateChangeReason', 'no reason given')}"
            )
        if time.monotonic() > deadline:
            athena.stop_query_execution(QueryExecutionId=execution_id)
            raise PipelineError(f"query still running after {timeout_seconds} seconds; stopped it")
        time.sleep(poll_seconds)
    rows: list[list[str | None]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
        rows.extend([cell.get("VarCharValue") for cell in row["Data"]] for row in page["ResultSet"]["Rows"])
    if not rows:
        return []
    header = [str(name) for name in rows[0]]
    return [{name: row[i] if i < len(row) else None for i, name in enumerate(header)} for row in rows[1:]]


# --- Command line -------------------------------------------------------------------------------------------------


def _read_rows(path: str) -> list[list[str]]:
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    # A header row is allowed, as at /invocations; drop it here so the endpoint counts only data rows.
    if rows and not _is_number(rows[0][-1]):
        rows = rows[1:]
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """The `python -m src.pipeline` command."""
    parser = argparse.ArgumentParser(prog="python -m src.pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    land = commands.add_parser("land", help="upload a CSV file to the feature store (starts a run)")
    land.add_argument("path")
    land.add_argument("--kind", choices=KINDS, default="train")
    commands.add_parser("start", help="start the training workflow on the latest landed data")
    status = commands.add_parser("status", help="a run's status")
    status.add_argument("execution_arn")
    metrics = commands.add_parser("metrics", help="a run's metrics (the latest run by default)")
    metrics.add_argument("--run")
    invoke = commands.add_parser("invoke", help="score the rows of a CSV file with the endpoint")
    invoke.add_argument("path")
    predictions = commands.add_parser("predictions", help="a batch run's predictions")
    predictions.add_argument("--run")
    commands.add_parser("crawl", help="re-crawl the feature store into the catalog")
    sql = commands.add_parser("query", help="run an Athena query on the lake")
    sql.add_argument("sql")
    args = parser.parse_args(argv)
    try:
        result: Any
        if args.command == "land":
            result = land_data(args.path, args.kind)
        elif args.command == "start":
            result = start_run()
        elif args.command == "status":
            result = run_status(args.execution_arn)
        elif args.command == "metrics":
            result = read_metrics(args.run)
        elif args.command == "invoke":
            result = call_endpoint(_read_rows(args.path))
        elif args.command == "predictions":
            result = read_predictions(args.run)
        elif args.command == "crawl":
            result = crawl_lake()
        else:
            result = query(args.sql)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result if isinstance(result, str) else json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
