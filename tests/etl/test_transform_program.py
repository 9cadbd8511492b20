"""What the Glue job writes to its output log: `main` as Glue runs it, with its own logging set-up.

Glue Python shell sends a job's stdout to its output log. pytest has already given the root logger handlers,
which would make `main`'s `logging.basicConfig` do nothing, so these tests set them aside while `main` runs,
as a fresh interpreter has none. In-process, not in a subprocess, so that `make mutation` sees what they test.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from etl import transform
from tests.etl.stores import EXTRACTS_BUCKET, FEATURES_BUCKET, SCORE_KEY, TRAIN_KEY, land

# logging's default time format, then the level: what Glue's log viewer shows for each line.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) .*")


@contextlib.contextmanager
def a_fresh_root_logger() -> Iterator[None]:
    """The root logger with no handlers, as a new interpreter starts; pytest's handlers and level come back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def run_main(*extra: str, destination: str = EXTRACTS_BUCKET) -> float:
    """Run `main` with Glue's command line and no client given (it makes its own); return the seconds it took."""
    argv = [
        *("transform.py", "--source_bucket", FEATURES_BUCKET, "--destination_bucket", destination),
        *("--train_key", TRAIN_KEY, "--score_key", SCORE_KEY, "--inference_type", "batch", *extra),
    ]
    started = time.perf_counter()
    with a_fresh_root_logger():
        try:
            transform.main(argv)
        finally:
            elapsed = time.perf_counter() - started
    return elapsed


def messages(output: str) -> list[str]:
    lines = output.splitlines()
    assert lines and all(LOG_LINE.fullmatch(line) for line in lines), output
    return [line.split(" ", 3)[3] for line in lines]


def test_a_run_logs_each_step_on_stdout_with_its_time_and_level(s3: Any, raw, capsys) -> None:
    land(s3, raw.train, TRAIN_KEY)
    land(s3, raw.score, SCORE_KEY)
    elapsed = run_main("--score_parts", "2", "--validation", "true", "--train_parts", "2")
    logged = messages(capsys.readouterr().out)
    # What the operator reads in the job's output log: the rows in, the shape of the set, each key written.
    rows, scored = (len(path.read_text().splitlines()) - 1 for path in (raw.train, raw.score))
    holdout = [re.fullmatch(r"validation: (\d+) rows held out, (\d+) left to train on", m) for m in logged]
    (held, kept) = next((int(m[1]), int(m[2])) for m in holdout if m)
    assert held + kept == rows and abs(held - rows * transform.VALIDATION_FRACTION) <= 2
    written = (
        "score/part-00001.csv",
        "validation/validation.csv",
        "train/part-00000.csv",
        "schema/columns.json",
    )
    for message in [
        f"train: {rows} rows, {len(transform.FEATURES)} features",
        f"score: {scored} rows",
        f"score: {scored} rows in 2 parts",
        f"train: {kept} rows in 2 parts",
        *(f"wrote s3://{EXTRACTS_BUCKET}/{key}" for key in written),
    ]:
        assert message in logged, (message, logged)
    # The last line says how long the job took: no longer than main ran.
    done = re.fullmatch(r"done in (\d+\.\d)s: \{.*'train/part-00001.csv': 'written'.*\}", logged[-1])
    assert done, logged[-1]
    assert 0 <= float(done[1]) <= elapsed + 0.05


def test_a_failed_run_logs_the_error_and_exits_with_it(s3: Any, raw, capsys) -> None:
    reason = "--destination_bucket is the source (feature store) bucket"
    with pytest.raises(SystemExit) as stopped:
        run_main(destination=FEATURES_BUCKET)
    assert str(stopped.value).startswith(f"transform failed: {reason}")
    errors = [line for line in capsys.readouterr().out.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and LOG_LINE.fullmatch(errors[0])
    assert errors[0].split(" ", 3)[3] == str(stopped.value)
