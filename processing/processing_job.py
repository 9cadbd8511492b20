"""The SageMaker Processing contract the example scripts share: folders, all-or-nothing outputs, failure messages.

SageMaker downloads a job's inputs under `/opt/ml/processing/` (this pipeline: data in `input/`, the scripts in
`code/`), uploads `output/` when the job ends, and shows the first 1 KB of `/opt/ml/output/message` as the
job's ExitMessage. `MLOPS_ML_ROOT` moves the whole `/opt/ml` tree, as for the container's programs, so the
scripts run as plain processes locally and in tests.

This file is uploaded next to preprocess.py and postprocess.py and runs on the SageMaker scikit-learn image
(Python 3.9), so it keeps to Python 3.9 and the standard library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

ML_ROOT_ENV = "MLOPS_ML_ROOT"
DEFAULT_ML_ROOT = "/opt/ml"
_STAGING = ".staging"


class JobError(Exception):
    """An expected failure (bad input or settings) whose message alone tells the user what to fix."""


def ml_root() -> Path:
    """`$MLOPS_ML_ROOT`, or `/opt/ml` in SageMaker."""
    return Path(os.environ.get(ML_ROOT_ENV) or DEFAULT_ML_ROOT)


def processing_dir(name: str) -> Path:
    """A folder under `processing/`: `input` (the job's data) or `output` (what SageMaker uploads)."""
    return ml_root() / "processing" / name


def message_file() -> Path:
    """Where a failed job says why (its ExitMessage)."""
    return ml_root() / "output" / "message"


def csv_files(folder: Path) -> list[Path]:
    """Every `*.csv` file under `folder`, in a stable order; none is an error that names the folder."""
    files = sorted(p for p in folder.rglob("*.csv") if p.is_file()) if folder.is_dir() else []
    if not files:
        raise JobError(f"no .csv files in {folder}")
    return files


@contextlib.contextmanager
def staged_output(output_dir: Path) -> Iterator[Path]:
    """A folder to write the outputs into; they move into `output_dir` together only if the block succeeds.

    On failure nothing of this run is left in `output_dir`, so SageMaker uploads no partial result.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=output_dir))
    try:
        yield staging
        written = sorted(p for p in staging.rglob("*") if p.is_file())
        for path in written:
            final = output_dir / path.relative_to(staging)
            final.parent.mkdir(parents=True, exist_ok=True)
            path.replace(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run(job: Callable[[], str], program: str) -> int:
    """Run `job` (which returns a one-line summary); on failure write the message file and return 1."""
    try:
        summary = job()
    except JobError as error:
        message = f"{program}: {error}"
    except Exception as error:  # every failure must reach the message file, whatever raised it
        traceback.print_exc(file=sys.stderr)
        message = f"{program} failed unexpectedly: {type(error).__name__}: {error}"
    else:
        print(f"{program}: {summary}", flush=True)
        return 0
    print(message, file=sys.stderr, flush=True)
    try:
        path = message_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message + "\n", encoding="utf-8")
    except OSError as error:
        print(f"{program}: could not write the exit message: {error}", file=sys.stderr, flush=True)
    return 1
