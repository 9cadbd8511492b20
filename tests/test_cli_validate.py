"""`mlops validate`: a summary for a good stack file, every problem for a bad one."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlops_component.tools.cli import main


def write_stack(folder: Path, values: dict) -> Path:
    path = folder / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": values}))
    return path


def test_valid_stack_prints_a_summary(project_dir: Path, capsys) -> None:
    values = {
        "mlops:namePrefix": "dev",
        "mlops:jobName": "attrition",
        "mlops:endpointName": {"secure": "v1:x"},
    }
    stack = write_stack(project_dir, values)
    assert main(["validate", "--stack-file", str(stack)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out
    assert "job name      attrition" in out
    assert "gate          accuracy NumericGreaterThan 0.7" in out
    assert "not checked offline (encrypted): mlops:endpointName" in out


def test_invalid_stack_lists_every_problem_and_fails(project_dir: Path, capsys) -> None:
    stack = write_stack(project_dir, {"mlops:namePrefix": "Dev", "mlops:jobName": "a" * 20, "mlops:typo": 1})
    assert main(["validate", "--stack-file", str(stack)]) == 1
    err = capsys.readouterr().err
    assert "mlops:namePrefix:" in err
    assert "mlops:jobName: must be at most 18 characters" in err
    assert "mlops:typo: unknown key" in err


def test_unreadable_stack_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["validate", "--stack-file", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read stack file" in capsys.readouterr().err
