"""etl/transform.py runs in Glue Python shell 3.9 (pandas 1.4, pyarrow 7) and is uploaded alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl import transform
from tests.python_source import top_level_imports

SCRIPT = Path(transform.__file__)
# What Glue's `analytics` library set and the standard library provide; awsglue exists only inside Glue.
ALLOWED_IMPORTS = {"numpy", "pandas", "pyarrow", "boto3", "botocore", "awsglue"} | set(
    sys.stdlib_module_names
)


def test_the_script_is_python_3_9_syntax() -> None:
    # ast.parse raises SyntaxError on anything Python 3.9 cannot read (match, `X | Y` at runtime, ...).
    tree = ast.parse(SCRIPT.read_text(), feature_version=(3, 9))
    assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def test_the_script_imports_only_what_glue_provides() -> None:
    imported = top_level_imports(ast.parse(SCRIPT.read_text()))
    assert imported - ALLOWED_IMPORTS == set()
    assert "mlops_component" not in imported


def test_the_script_runs_as_a_program(tmp_path: Path) -> None:
    """Glue runs the file itself, not an import of it: `--help` proves it starts with no project on the path."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--destination_bucket" in result.stdout and "--output_layout" in result.stdout


GLUE_PYTHON = os.environ.get("MLOPS_GLUE_PYTHON")


@pytest.mark.slow
@pytest.mark.skipif(
    not GLUE_PYTHON, reason="set MLOPS_GLUE_PYTHON to a Python 3.9 with Glue's pandas and pyarrow"
)
def test_glue_runtime_versions_give_the_same_bytes(raw, tmp_path: Path) -> None:
    """Run the script under Glue's library versions and compare with this interpreter's output, byte for byte.

    E.g. a venv made with `python3.9 -m venv` and `pip install pandas==1.4.2 numpy==1.22.3 pyarrow==7.0.0
    boto3`, the versions of Glue Python shell 3.9's `analytics` set.
    """
    here = transform.run_local(str(tmp_path / "here"), str(raw.train), str(raw.score), block_size=1 << 16)
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); import transform; "
        "transform.run_local(sys.argv[2], sys.argv[3], sys.argv[4], block_size=1 << 16)"
    )
    there = tmp_path / "there"
    subprocess.run(
        [GLUE_PYTHON, "-c", program, str(SCRIPT.parent), str(there), str(raw.train), str(raw.score)],
        check=True,
        capture_output=True,
    )
    for key, path in here.items():
        assert (there / key).read_bytes() == Path(path).read_bytes(), key
