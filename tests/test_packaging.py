"""The wheel: `pip install .` must give a library that still carries the code it deploys."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_the_package_and_the_runtime_code(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlops_component-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mlops_component/__init__.py" in names
    assert "mlops_component/config/model.py" in names
    assert "mlops_component/builders/iam/training_workflow.py" in names
    for folder in ("functions", "etl", "container", "processing"):
        assert any(n.startswith(f"mlops_component/_bundled/{folder}/") for n in names), folder
    assert not any(n.startswith(("tests/", ".venv/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mlops = mlops_component.tools.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
