"""A process that imports the heavy third-party packages once, then forks one child per mutant to run pytest.

Starting pytest and importing Pulumi, boto3 and moto costs seconds per process, longer than the tests most
mutants need; a forked child starts with them already imported. The library itself is never imported here, so
each child imports the mutant fresh. One request per line on stdin, one answer per line on stdout (JSON):

    {"mutant": "<spec file>", "tests": [...], "budget": <seconds>}
        ->  {"status": "killed", "seconds": 1.2, "killer": "<node id of the first failing test, or null>"}
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

# pytest's exit codes: 1 tests failed, 2 interrupted (e.g. the mutant does not import), 3 internal error, 4 usage
# error (a conftest.py that cannot import the mutant: the node ids come from a run that worked without it).
KILLED_CODES = {1, 2, 3, 4}
# The third-party packages the tests import that cost most to import: a pytest run of one workflow test file
# took 9.9 s forked from a zygote holding only pytest, boto3, moto and Pulumi, 2.6 s with these (moto's Step
# Functions interpreter pulls in its EC2 and Batch models; the container's tests import xgboost, scikit-learn and
# SciPy). The zygote only imports them; the native threads some start on import (OpenBLAS's pool, pyarrow's
# jemalloc) are re-created after a fork: the workflow, function, container, ETL (Spark included), IAM and policy
# tests all pass in a forked child.
PRELOADED = [
    "pytest",
    "hypothesis",
    "pydantic",
    "yaml",
    "boto3",
    "botocore",
    "moto",
    *(f"moto.{service}.models" for service in ("s3", "sagemaker", "stepfunctions", "glue", "athena", "sts")),
    "moto.stepfunctions.parser.backend.execution",
    "pulumi",
    "pulumi_aws",
    "pulumi_docker",
    "docker",
    "cryptography",
    "parliament",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "sklearn",
    "xgboost",
]


class _FirstFailure:
    """Writes the node id of the first failing test to a file, for the run to try that test first next time."""

    def __init__(self, path: str) -> None:
        self._path = path

    def pytest_runtest_logreport(self, report: object) -> None:
        if getattr(report, "failed", False) and not os.path.getsize(self._path):
            Path(self._path).write_text(getattr(report, "nodeid", ""))


def _child(mutant: str, tests: list[str], killer_file: str) -> None:
    os.setsid()  # its own process group: a timeout ends whatever the tests started too
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    code = 3
    try:
        import pytest

        from mutation.plugin import install_mutant

        install_mutant(mutant)
        code = int(
            pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests], plugins=[_FirstFailure(killer_file)])
        )
    finally:
        os._exit(code)


def _run(mutant: str, tests: list[str], budget: float) -> dict[str, object]:
    started = time.monotonic()
    with tempfile.NamedTemporaryFile(suffix=".killer") as killer:
        pid = os.fork()
        if pid == 0:
            _child(mutant, tests, killer.name)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                result = "killed" if code in KILLED_CODES else "survived" if code == 0 else "error"
                seconds = time.monotonic() - started
                return {
                    "status": result,
                    "seconds": seconds,
                    "code": code,
                    "killer": killer.read().decode() or None,
                }
            if time.monotonic() - started > budget:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"status": "timeout", "seconds": time.monotonic() - started, "killer": None}
            time.sleep(0.05)


def main() -> None:
    for name in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(_run(request["mutant"], request["tests"], request["budget"])), flush=True)


if __name__ == "__main__":
    main()
