"""The Glue job as Glue runs it: the script file as a program, its arguments on the command line.

Glue Python shell sends a job's stdout to its output log and stderr to its error log. Tests that call `main`
in-process cannot see the logging set-up (pytest has already given the root logger its handlers), so these run
the script in a fresh interpreter, against moto S3 started inside that interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from etl import transform
from tests.etl.stores import EXTRACTS_BUCKET, FEATURES_BUCKET, SCORE_KEY, TRAIN_KEY

SCRIPT = Path(transform.__file__)
# Fill moto's stores, then run the script as `python transform.py --name value ...` would.
PROGRAM = f"""
import runpy, sys
import boto3
from moto import mock_aws

script, train, score, *arguments = sys.argv[1:]
with mock_aws():
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="{FEATURES_BUCKET}")
    s3.create_bucket(Bucket="{EXTRACTS_BUCKET}")
    s3.upload_file(train, "{FEATURES_BUCKET}", "{TRAIN_KEY}")
    s3.upload_file(score, "{FEATURES_BUCKET}", "{SCORE_KEY}")
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")
"""
# logging's default time format, then the level: what Glue's log viewer shows for each line.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) .*")


def run_program(
    raw, tmp_path: Path, *extra: str, destination: str = EXTRACTS_BUCKET
) -> tuple[subprocess.CompletedProcess, float]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    arguments = [
        *("--source_bucket", FEATURES_BUCKET, "--destination_bucket", destination),
        *("--train_key", TRAIN_KEY, "--score_key", SCORE_KEY, "--inference_type", "batch"),
        *extra,
    ]
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(SCRIPT), str(raw.train), str(raw.score), *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=300,
    )
    return result, time.perf_counter() - started


def test_a_run_logs_each_step_on_stdout_with_its_time_and_level(raw, tmp_path: Path) -> None:
    shaping = ("--score_parts", "2", "--validation", "true", "--train_parts", "2")
    result, elapsed = run_program(raw, tmp_path, *shaping)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(LOG_LINE.fullmatch(line) for line in lines), result.stdout
    messages = [line.split(" ", 3)[3] for line in lines]
    # What the operator reads in the job's output log: the rows in, the shape of the set, each key written.
    rows, scored = len(raw.train.read_text().splitlines()) - 1, len(raw.score.read_text().splitlines()) - 1
    holdout = next(
        re.fullmatch(r"validation: (\d+) rows held out, (\d+) left to train on", m)
        for m in messages
        if m.startswith("validation: ")
    )
    held, kept = int(holdout[1]), int(holdout[2])
    assert held + kept == rows and abs(held - rows * transform.VALIDATION_FRACTION) <= 2
    for message in [
        f"train: {rows} rows, {len(transform.FEATURES)} features",
        f"score: {scored} rows",
        f"score: {scored} rows in 2 parts",
        f"train: {kept} rows in 2 parts",
        *(
            f"wrote s3://{EXTRACTS_BUCKET}/{key}"
            for key in (
                "score/part-00001.csv",
                "validation/validation.csv",
                "train/part-00000.csv",
                "schema/columns.json",
            )
        ),
    ]:
        assert message in messages, (message, messages)
    # The last line says how long the job took: no longer than the whole interpreter ran.
    done = re.fullmatch(r"done in (\d+\.\d)s: \{.*'train/part-00001.csv': 'written'.*\}", messages[-1])
    assert done, messages[-1]
    assert 0 <= float(done.group(1)) <= elapsed
    assert "Traceback" not in result.stderr


def test_a_failed_run_exits_1_with_one_line_on_stderr_and_the_error_logged(raw, tmp_path: Path) -> None:
    result, _ = run_program(raw, tmp_path, destination=FEATURES_BUCKET)
    assert result.returncode == 1
    reason = "--destination_bucket is the source (feature store) bucket"
    assert result.stderr.strip().splitlines()[-1].startswith(f"transform failed: {reason}")
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stdout.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and LOG_LINE.fullmatch(errors[0])
    assert errors[0].split(" ", 3)[3].startswith(f"transform failed: {reason}")
