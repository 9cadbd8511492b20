"""Inference on this machine: the container's `serve` program on a local port, driven as SageMaker drives it.

- `ModelServer` starts `serve --no-nginx --bind 127.0.0.1:<port>` with the model unpacked where SageMaker
  unpacks `ModelDataUrl` (`<root>/model`), waits for `GET /ping`, and stops it with SIGTERM (gunicorn's graceful
  stop), waiting for it to exit.
- `batch_transform` does what the workflow's CreateTransformJob asks for (its parameters, resolved): the input
  split by line into `MultiRecord` mini-batches of at most `MaxPayloadInMB`, each record passed through the
  `InputFilter`, as many requests in flight as `/execution-parameters` allows (Batch Transform asks the
  container when the job leaves `MaxConcurrentTransforms` unset), each prediction joined to its input record
  (`JoinSource: Input`) and cut down by the `OutputFilter`, the lines assembled into
  `<S3OutputPath>/<input file name>.out`, for every object under the `S3Prefix` input (the one score file, or
  one part per transform instance). AWS hands each instance whole files; here one server scores them in turn.
- `smoke_request` sends one record to `/invocations`, as a first InvokeEndpoint would.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import tarfile
import time
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mlops_component.tools.local_run import asl
from mlops_component.tools.local_run.errors import LocalRunError
from mlops_component.tools.local_run.shipped import load_archives

STAGE = "inference"
READY_TIMEOUT_S = 120
"""How long the server may take to answer `/ping` (the workers load the model first)."""
STOP_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 120


@dataclass(frozen=True)
class Response:
    """One HTTP response from the model server."""

    status: int
    body: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", errors="replace")


class ModelServer:
    """The container's `serve` program, gunicorn alone, on a free local port (a context manager)."""

    def __init__(self, command: list[str], root: Path, log_path: Path, environment: dict[str, str]) -> None:
        self.port = _free_port()
        self.command = [*command, "--no-nginx", "--bind", f"127.0.0.1:{self.port}"]
        self.root = root
        self.log_path = log_path
        self._environment = {**environment, "MLOPS_ML_ROOT": str(root)}
        self._process: subprocess.Popen[bytes] | None = None
        self.exit_status: int | None = None
        self.stop_seconds: float | None = None

    def __enter__(self) -> ModelServer:
        self.start()
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the program; its output goes to `log_path`."""
        with self.log_path.open("wb") as log:
            # Its own session, so that whatever it leaves behind can be stopped as one process group.
            self._process = subprocess.Popen(
                self.command,
                cwd=self.root,
                env=self._environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Poll `/ping` until it answers 200; return the seconds it took. A 503 (no model) fails at once."""
        started = time.perf_counter()
        deadline = started + timeout_s
        while time.perf_counter() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise LocalRunError(
                    STAGE,
                    f"the model server exited during start-up; its output ({self.log_path}):\n{self._tail()}",
                )
            try:
                pong = self.request("GET", "/ping", timeout_s=5)
            except OSError:
                time.sleep(0.02)  # not listening yet (gunicorn binds before its workers boot)
                continue
            if pong.status == 200:
                return time.perf_counter() - started
            raise LocalRunError(
                STAGE, f"the model server answered /ping with {pong.status}: {pong.text.strip()}"
            )
        raise LocalRunError(
            STAGE, f"the model server did not answer /ping within {timeout_s:.0f}s; see {self.log_path}"
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> Response:
        """One HTTP request on a fresh connection (each thread sends its own)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return Response(status=answer.status, body=answer.read())
        finally:
            connection.close()

    def stop(self) -> None:
        """SIGTERM, then wait; a server that does not stop in time is killed with its whole process group."""
        process, self._process = self._process, None
        if process is None:
            return
        started = time.perf_counter()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.exit_status = process.returncode
        self.stop_seconds = round(time.perf_counter() - started, 3)

    @property
    def stopped_cleanly(self) -> bool:
        """True when the server exited by itself after SIGTERM (gunicorn exits 0 after a graceful stop)."""
        return self.exit_status in (0, -signal.SIGTERM)

    def _tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def unpack_model(archive: Path, model_dir: Path) -> None:
    """Unpack a `model.tar.gz` into the model folder, as SageMaker does for ModelDataUrl."""
    archives = load_archives()
    try:
        archives.extract_archive(archive, model_dir)  # refuses members that would land outside the folder
    except archives.UnsafeArchiveError as error:
        raise LocalRunError("inference", f"the model archive {archive.name} is unsafe: {error}") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:  # EOFError: a truncated gzip
        raise LocalRunError("inference", f"cannot unpack the model archive {archive.name}: {error}") from None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- Batch Transform ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransformRequest:
    """The parts of a CreateTransformJob request that decide what the container receives and what is written."""

    input_bucket: str
    input_prefix: str
    """An `S3Prefix` input: every object whose key starts with it is scored."""
    instance_count: int
    content_type: str
    accept: str
    max_payload_bytes: int
    input_filter: str
    output_filter: str
    join_source: str
    output_bucket: str
    output_prefix: str

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> TransformRequest:
        """Read a resolved CreateTransformJob request; refuse settings a local run does not reproduce."""
        source = parameters["TransformInput"]
        if source.get("SplitType") != "Line" or parameters.get("BatchStrategy") != "MultiRecord":
            raise LocalRunError(
                STAGE, "local batch inference reproduces SplitType Line with MultiRecord batches only"
            )
        if parameters["TransformOutput"].get("AssembleWith") != "Line":
            raise LocalRunError(STAGE, "local batch inference assembles output by Line only")
        if source["DataSource"]["S3DataSource"].get("S3DataType", "S3Prefix") != "S3Prefix":
            raise LocalRunError(STAGE, "local batch inference reads an S3Prefix input only")
        input_uri = urlparse(source["DataSource"]["S3DataSource"]["S3Uri"])
        output_uri = urlparse(parameters["TransformOutput"]["S3OutputPath"])
        processing = parameters.get("DataProcessing", {})
        return cls(
            input_bucket=input_uri.netloc,
            input_prefix=input_uri.path.lstrip("/"),
            instance_count=int(parameters.get("TransformResources", {}).get("InstanceCount", 1)),
            content_type=source.get("ContentType", "text/csv"),
            accept=parameters["TransformOutput"].get("Accept", "text/csv"),
            max_payload_bytes=int(parameters.get("MaxPayloadInMB", 6)) * 1024 * 1024,
            input_filter=processing.get("InputFilter", "$"),
            output_filter=processing.get("OutputFilter", "$"),
            join_source=processing.get("JoinSource", "None"),
            output_bucket=output_uri.netloc,
            output_prefix=output_uri.path.strip("/"),
        )

    def output_key(self, input_key: str) -> str:
        """Where Batch Transform writes an input object's output: `<output prefix>/<path after the input's
        folder>.out` (`score/part-00001.csv` -> `<output prefix>/part-00001.csv.out`)."""
        folder = self.input_prefix[: self.input_prefix.rfind("/") + 1]
        return f"{self.output_prefix}/{input_key[len(folder) :]}.out"


@dataclass(frozen=True)
class TransformResult:
    """What a local batch transform did."""

    records: int
    batches: int
    concurrency: int
    output_keys: list[str]
    """One output per input object, in input key order (which is row order for the score parts)."""


def batch_transform(
    server: ModelServer, s3: Any, request: TransformRequest, work_dir: Path
) -> TransformResult:
    """Score every input object through the server and write each one's joined, filtered output."""
    if request.content_type != "text/csv" or request.accept != "text/csv":
        raise LocalRunError(STAGE, "local batch inference sends and accepts text/csv only")
    inputs = input_keys(s3, request)
    concurrency = _max_concurrent_transforms(server)
    records = batches = 0
    for key in inputs:
        scored, sent = _transform_object(server, s3, request, key, work_dir, concurrency)
        records, batches = records + scored, batches + sent
    return TransformResult(
        records=records,
        batches=batches,
        concurrency=concurrency,
        output_keys=[request.output_key(key) for key in inputs],
    )


def input_keys(s3: Any, request: TransformRequest) -> list[str]:
    """The objects an `S3Prefix` input names, in key order; none is an error, as in AWS."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=request.input_bucket, Prefix=request.input_prefix
    )
    keys = sorted(
        item["Key"] for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/")
    )
    if not keys:
        raise LocalRunError(
            STAGE, f"no objects to score under s3://{request.input_bucket}/{request.input_prefix}"
        )
    return keys


def _transform_object(
    server: ModelServer, s3: Any, request: TransformRequest, key: str, work_dir: Path, concurrency: int
) -> tuple[int, int]:
    """Score one input object into its `.out` object; return (records, mini-batches)."""
    source = work_dir / Path(key).name
    s3.download_file(request.input_bucket, key, str(source))
    input_filter, output_filter = (
        asl.compile_path(request.input_filter),
        asl.compile_path(request.output_filter),
    )
    target = work_dir / Path(request.output_key(key)).name
    records = batches = 0
    with target.open("w", encoding="utf-8", newline="") as output, ThreadPoolExecutor(concurrency) as pool:
        in_flight: deque[tuple[int, list[list[str]], Future[Response]]] = deque()

        def drain(limit: int) -> None:
            nonlocal records
            while len(in_flight) > limit:
                number, rows, future = in_flight.popleft()
                predictions = _predictions(number, rows, future.result())
                writer = csv.writer(output, lineterminator="\n")
                for row, prediction in zip(rows, predictions, strict=True):
                    joined = [*row, *prediction] if request.join_source == "Input" else prediction
                    writer.writerow(asl.select(output_filter, joined))
                records += len(rows)

        for rows, body in _mini_batches(source, input_filter, request.max_payload_bytes):
            batches += 1
            headers = {"Content-Type": request.content_type, "Accept": request.accept}
            in_flight.append(
                (batches, rows, pool.submit(server.request, "POST", "/invocations", body, headers))
            )
            drain(limit=2 * concurrency)  # bounded: a large file is never all in memory
        drain(limit=0)
    if records == 0:
        raise LocalRunError(STAGE, f"s3://{request.input_bucket}/{key} holds no records to score")
    s3.upload_file(
        str(target), request.output_bucket, request.output_key(key), ExtraArgs={"ContentType": "text/csv"}
    )
    return records, batches


def _max_concurrent_transforms(server: ModelServer) -> int:
    answer = server.request("GET", "/execution-parameters")
    if answer.status != 200:
        return 1  # a container without the endpoint: Batch Transform then sends one request at a time
    try:
        return max(1, int(json.loads(answer.body)["MaxConcurrentTransforms"]))
    except (ValueError, KeyError, TypeError):
        return 1


def _mini_batches(path: Path, input_filter: Any, max_bytes: int) -> Iterator[tuple[list[list[str]], bytes]]:
    """The file's records, split by line, filtered, and grouped into bodies of at most `max_bytes`."""
    rows: list[list[str]] = []
    lines: list[bytes] = []
    size = 0
    with path.open("r", encoding="utf-8", newline="") as source:
        for number, row in enumerate(csv.reader(source), 1):
            if not row or not any(field.strip() for field in row):
                continue  # a blank line is not a record
            line = _csv_line(asl.select(input_filter, row)).encode("utf-8")
            if len(line) > max_bytes:
                raise LocalRunError(
                    STAGE,
                    f"record {number} of {path.name} is {len(line)} bytes, over MaxPayloadInMB ({max_bytes} bytes)",
                )
            if size + len(line) > max_bytes:
                yield rows, b"".join(lines)
                rows, lines, size = [], [], 0
            rows.append(row)
            lines.append(line)
            size += len(line)
    if rows:
        yield rows, b"".join(lines)


def _predictions(number: int, rows: list[list[str]], response: Response) -> list[list[str]]:
    if response.status != 200:
        raise LocalRunError(
            STAGE,
            f"/invocations answered {response.status} to mini-batch {number}: {response.text.strip()[:500]}",
        )
    predictions = [line for line in csv.reader(io.StringIO(response.text)) if line]
    if len(predictions) != len(rows):
        raise LocalRunError(
            STAGE,
            f"/invocations returned {len(predictions)} predictions for the {len(rows)} records of mini-batch {number}",
        )
    return predictions


def _csv_line(fields: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


# --- The endpoint's smoke request ---------------------------------------------------------------------------------


def smoke_request(server: ModelServer, record: list[str]) -> float:
    """Send one record of features to `/invocations` as CSV; return the probability it answers."""
    answer = server.request("POST", "/invocations", _csv_line(record).encode(), {"Content-Type": "text/csv"})
    if answer.status != 200:
        raise LocalRunError(STAGE, f"the smoke request got {answer.status}: {answer.text.strip()[:500]}")
    try:
        (probability,) = (float(line) for line in answer.text.split())
    except ValueError:
        raise LocalRunError(
            STAGE, f"the smoke request's answer is not one probability: {answer.text[:200]!r}"
        ) from None
    if not 0.0 <= probability <= 1.0:
        raise LocalRunError(STAGE, f"the smoke request's answer {probability} is not a probability")
    return probability
