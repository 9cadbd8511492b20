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


def test_a_stack_that_only_sets_a_built_in_image_is_told_what_else_to_set(project_dir: Path, capsys) -> None:
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    stack = write_stack(project_dir, {"mlops:namePrefix": "dev", "mlops:jobName": "attrition",
                                      "mlops:builtInModelImage": image})  # fmt: skip
    assert main(["validate", "--stack-file", str(stack)]) == 1
    err = capsys.readouterr().err
    assert "mlops:tuningMetric: the built-in XGBoost algorithm never emits 'accuracy'" in err
    assert "mlops:staticHyperparameters: 'kfold_splits' is not a hyperparameter" in err
    assert "needs ['num_round']" in err


def test_non_utf8_stack_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_bytes(b"config:\n  mlops:jobName: caf\xe9\n")
    assert main(["validate", "--stack-file", str(stack)]) == 1
    err = capsys.readouterr().err
    assert "not UTF-8 text" in err and "Traceback" not in err
