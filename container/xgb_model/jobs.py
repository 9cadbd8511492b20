"""How each program in the container ends: exit 0, or a failure file that says why and a non-zero exit.

SageMaker shows the first 1024 characters of the failure file as the job's FailureReason (training) or
ExitMessage (processing), so the message leads with what went wrong; the traceback goes to the log only.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path


class JobError(Exception):
    """An expected failure (bad input, bad settings) whose message alone explains it to the user."""


def write_failure(path: Path, message: str) -> None:
    """Write `message` to the failure file, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(message.rstrip() + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_job(job: Callable[[], None], failure_file: Path, *, program: str) -> int:
    """Run `job`; on any error write the failure file and return the exit status 1."""
    try:
        job()
    except JobError as error:
        message = f"{program}: {error}"
    except Exception as error:  # every failure must reach the failure file, whatever raised it
        traceback.print_exc(file=sys.stderr)
        message = f"{program} failed unexpectedly: {type(error).__name__}: {error}"
    else:
        return 0
    print(message, file=sys.stderr, flush=True)
    try:
        write_failure(failure_file, message)
    except OSError as error:
        print(f"{program}: could not write {failure_file}: {error}", file=sys.stderr, flush=True)
    return 1
