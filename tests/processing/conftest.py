"""Fixtures for the processing scripts: the code location as the jobs see it, generated raw data, processes.

`processing/` and `etl/` go on `sys.path` so the tests import the scripts and the transform exactly as the jobs
do (by their file names); the end-to-end tests run them as processes from a folder laid out like the
deployed code location, with `MLOPS_ML_ROOT` standing in for `/opt/ml`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_component.components.processing_pipeline import code_files
from mlops_component.tools import sample_data

REPO = Path(__file__).resolve().parents[2]
for folder in ("processing", "etl"):
    if str(REPO / folder) not in sys.path:
        sys.path.insert(0, str(REPO / folder))

ML_ROOT_ENV = "MLOPS_ML_ROOT"


@pytest.fixture(scope="session")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The code location (`CodeUri`) as the component uploads it: the scripts and the ETL's transform.py."""
    folder = tmp_path_factory.mktemp("code")
    for name, path in code_files().items():
        shutil.copyfile(path, folder / name)
    return folder


@pytest.fixture(scope="session")
def raw(tmp_path_factory: pytest.TempPathFactory) -> sample_data.SampleFiles:
    """Generated raw data: 1,500 labelled training rows and 500 rows to score."""
    return sample_data.write_sample_data(tmp_path_factory.mktemp("raw"), 1500, score_rows=500, seed=7)


def run_script(
    python: str, script: Path, ml_root: Path, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one of the programs as its job does: a plain process, `/opt/ml` moved to `ml_root`."""
    env = {**os.environ, ML_ROOT_ENV: str(ml_root), "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.run(
        [python, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
        timeout=300,
    )
