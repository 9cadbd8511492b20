"""Fixtures for `mlops local-run`: the command run in this process, small stack files, and its outputs read back.

The runs are real: moto in-process, the ETL script, the container's `train` and `serve` programs as processes.
They are kept small (a few hundred rows, 3-fold cross-validation, few boosting rounds, one or two trials) so
that a whole run takes seconds.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_component.tools.cli import main

# Settings that make a run fast without changing what it does.
SMALL: dict[str, Any] = {
    "mlops:namePrefix": "local-test",
    "mlops:jobName": "attrition",
    "mlops:maxNumberTrainingJobs": 2,
    "mlops:maxParallelTrainingJobs": 2,
    "mlops:staticHyperparameters": {"kfold_splits": "3", "num_round": "30"},
    "mlops:trainLocalPath": None,
    "mlops:scoreLocalPath": None,
}
ROWS = "400"


@dataclass
class Run:
    """One `mlops local-run`: its exit status, what it printed, and its output folder."""

    status: int
    stdout: str
    stderr: str
    out: Path

    @property
    def summary(self) -> dict[str, Any]:
        """`summary.json`."""
        document: dict[str, Any] = json.loads((self.out / "summary.json").read_text())
        return document

    def csv_rows(self, relative: str) -> list[list[str]]:
        """A CSV file of the output folder, header included."""
        with (self.out / relative).open(newline="") as handle:
            return list(csv.reader(handle))


def write_stack(folder: Path, values: dict[str, Any], name: str = "Pulumi.local.yaml") -> Path:
    """A stack file in `folder` holding `values` under `config:`."""
    path = folder / name
    path.write_text(yaml.safe_dump({"config": values}))
    return path


def local_run(folder: Path, *args: str) -> Run:
    """Run `mlops local-run --out <folder>/out ARGS` in this process and capture what it prints."""
    out = folder / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), contextlib.chdir(folder):
        status = main(["local-run", "--out", str(out), *args])
    return Run(status=status, stdout=stdout.getvalue(), stderr=stderr.getvalue(), out=out)


@pytest.fixture
def small_stack(tmp_path: Path):
    """`small_stack(**overrides)`: a fast stack file in tmp_path, with `mlops:` keys overridden."""

    def make(**overrides: Any) -> Path:
        return write_stack(tmp_path, {**SMALL, **{f"mlops:{k}": v for k, v in overrides.items()}})

    return make
