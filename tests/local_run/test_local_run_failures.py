"""Every way a local run stops early: a clear message, a non-zero exit, no traceback, and what it kept."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pydantic.alias_generators import to_camel

from mlops_component.tools.sample_data import write_sample_data
from tests.conftest import BUILT_IN_XGBOOST
from tests.local_run.conftest import ROWS, SMALL, Run, local_run, write_stack


def assert_clean_failure(run: Run, stage: str) -> None:
    """Exit 1, the stage named, no traceback, and summary.json saying how far the run got."""
    assert run.status == 1
    assert f"mlops local-run failed at {stage}:" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    summary = run.summary
    assert summary["status"] == "failed" and summary["failed_stage"] == stage
    assert summary["error"] and summary["error"] in run.stderr
    assert f"What the run produced so far is kept in {run.out}" in run.stderr
    assert (run.out / "report.html").is_file()
    assert not (run.out / "predictions.csv").exists()


@pytest.mark.parametrize("option", ["--train", "--score"])
def test_a_missing_file_changes_nothing(tmp_path: Path, option: str) -> None:
    previous = tmp_path / "out" / "summary.json"
    previous.parent.mkdir()
    previous.write_text("{}")  # a previous run's output must survive a typo
    run = local_run(tmp_path, option, "no-such-file.csv")
    assert run.status == 1
    assert f"mlops local-run failed at data: {option} no-such-file.csv: no such file" in run.stderr
    assert "Nothing was written" in run.stderr and "Traceback" not in run.stderr
    assert previous.read_text() == "{}"


def test_an_output_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    run = local_run(tmp_path)
    assert run.status == 1
    assert f"failed at data: --out {tmp_path / 'out'}: exists and is not a folder" in run.stderr
    assert (tmp_path / "out").read_text() == "not a folder"


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    run = local_run(tmp_path, "--train", str(tmp_path))
    assert run.status == 1 and f"--train {tmp_path}: not a file" in run.stderr


def test_a_file_with_the_wrong_schema_names_the_columns(tmp_path: Path) -> None:
    files = write_sample_data(tmp_path / "raw", 50, seed=3)
    rows = list(csv.reader(files.train.open(newline="")))
    keep = [i for i, name in enumerate(rows[0]) if name not in ("Age", "OverTime")]
    bad = tmp_path / "employees.csv"
    with bad.open("w", newline="") as handle:
        csv.writer(handle).writerows([[row[i] for i in keep] for row in rows])

    run = local_run(tmp_path, "--train", str(bad))
    assert_clean_failure(run, "etl")
    assert "missing required columns: Age, OverTime" in run.stderr
    assert f"train file: {bad}" in run.stderr
    # What had landed is kept: the raw file in the feature store's train prefix.
    features = run.summary["stores"]["feature_store"]
    assert (run.out / "s3" / features / "data" / "train" / "employees.csv").read_bytes() == bad.read_bytes()
    assert run.summary["trials"] == []


def test_a_failed_trial_fails_the_run_with_its_failure_file(small_stack) -> None:
    # More folds than training rows: every trial fails, as it would in SageMaker. (Hyperparameters the image
    # rejects outright never get this far: validation refuses them, as it knows the image's bounds.)
    stack = small_stack(
        maxNumberTrainingJobs=3,
        maxParallelTrainingJobs=1,
        staticHyperparameters={"kfold_splits": "20", "num_round": "30"},
    )
    run = local_run(stack.parent, "--stack-file", str(stack), "--rows", "10")
    assert_clean_failure(run, "tuning")
    assert "1 of 1 trial(s) failed (2 more not started after the first failure)" in run.stderr
    (trial,) = run.summary["trials"]
    assert trial["status"] == "Failed" and trial["objective"] is None
    assert "kfold_splits=20 needs at least 20 rows; the train channel has" in trial["failure"]
    assert "kfold_splits=20 needs at least 20 rows" in run.stderr
    failure_file = Path(trial["folder"]) / "output" / "failure"
    assert failure_file.read_text().strip() == trial["failure"]
    assert f"failure file: out/trials/{trial['name']}/output/failure" in run.stderr
    assert not (run.out / "model").exists()


@pytest.mark.slow
def test_a_gate_failure_states_metric_value_operator_and_threshold(small_stack) -> None:
    stack = small_stack(inferenceMetricThreshold=1.0, maxNumberTrainingJobs=1, maxParallelTrainingJobs=1)
    run = local_run(stack.parent, "--stack-file", str(stack), "--rows", ROWS)
    assert_clean_failure(run, "gate")
    value = run.summary["best"]["value"]
    # The workflow's own Fail state words it: ObjectiveBelowThreshold with metric, value, operator, threshold.
    assert (
        f"failed at gate: ObjectiveBelowThreshold: Objective metric accuracy = {value} did not pass "
        "NumericGreaterThan 1.0; the model was not registered"
    ) in run.stderr
    assert run.summary["gate_passed"] is False
    assert "inference" not in run.summary and "inference" not in run.summary["timings"]
    assert "threshold: NumericGreaterThan 1.0" in (run.out / "report.html").read_text()


def test_an_invalid_stack_file_is_reported_like_mlops_validate(tmp_path: Path) -> None:
    stack = write_stack(
        tmp_path, {**SMALL, "mlops:jobName": "x" * 20, "mlops:trainLocalPath": "data/train.csv"}
    )
    run = local_run(tmp_path, "--stack-file", str(stack))
    assert run.status == 1
    assert f"{stack}: invalid" in run.stderr
    assert "mlops:jobName: must be at most 18 characters (got 20)" in run.stderr
    assert "mlops:trainLocalPath: file 'data/train.csv' does not exist" in run.stderr
    assert "mlops sample-data --out" in run.stderr  # how to get the files the stack names
    assert not run.out.exists()


def test_a_built_in_image_cannot_run_locally(tmp_path: Path) -> None:
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    built_in = {f"mlops:{to_camel(key)}": value for key, value in BUILT_IN_XGBOOST.items()}
    stack = write_stack(tmp_path, {**SMALL, **built_in, "mlops:builtInModelImage": image})
    run = local_run(tmp_path, "--stack-file", str(stack))
    assert run.status == 1
    assert "cannot run this configuration" in run.stderr and image in run.stderr
    assert not run.out.exists()


def test_the_summary_of_a_failed_run_is_valid_json_with_timings(tmp_path: Path) -> None:
    bad = tmp_path / "empty.csv"
    bad.write_text("")
    run = local_run(tmp_path, "--train", str(bad))
    assert_clean_failure(run, "etl")
    summary = json.loads((run.out / "summary.json").read_text())
    assert set(summary["timings"]) == {"data", "aws", "land", "etl", "outputs", "total"}
