"""`mlops local-run` end to end on generated data, in batch mode and in endpoint mode."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from mlops_component.tools.local_run import local_config
from tests.local_run.conftest import ROWS, SMALL, Run, local_run, write_stack

pytestmark = pytest.mark.slow
STAGES = ["data", "aws", "land", "etl", "tuning", "metadata", "gate", "registry", "inference", "outputs"]


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One batch-mode run with the default gate (accuracy > 0.7): two trials, both at once."""
    folder = tmp_path_factory.mktemp("batch")
    stack = write_stack(folder, SMALL)
    return local_run(folder, "--stack-file", str(stack), "--rows", ROWS)


def test_the_run_succeeds_and_the_gate_passes(batch_run: Run) -> None:
    assert batch_run.status == 0, batch_run.stderr
    summary = batch_run.summary
    assert summary["status"] == "succeeded" and summary["gate_passed"] is True
    assert summary["operator"] == "NumericGreaterThan" and summary["threshold"] == 0.7
    assert summary["best"]["objective_metric"] == "accuracy"
    assert summary["best"]["value"] > 0.7
    assert "mlops local-run succeeded" in batch_run.stdout


def test_one_prediction_per_scoring_row(batch_run: Run) -> None:
    predictions = batch_run.csv_rows("predictions.csv")
    scoring = batch_run.csv_rows("data/score.csv")
    assert predictions[0] == ["EmployeeNumber", "probability"]
    assert len(predictions) - 1 == len(scoring) - 1 == int(ROWS) // 4
    id_column = scoring[0].index("EmployeeNumber")
    assert [row[0] for row in predictions[1:]] == [row[id_column] for row in scoring[1:]]
    assert all(0.0 <= float(row[1]) <= 1.0 for row in predictions[1:])
    assert len({row[1] for row in predictions[1:]}) > 10  # a model, not a constant


def test_summary_holds_trials_best_gate_and_timings(batch_run: Run) -> None:
    summary = batch_run.summary
    assert summary["mode"] == "batch"
    assert re.fullmatch(r"attrition-[0-9a-f]{12}", summary["run_name"])
    trials = summary["trials"]
    assert [t["number"] for t in trials] == [1, 2]
    for trial in trials:
        assert trial["status"] == "Completed"
        assert set(trial["hyperparameters"]) == set(local_config().parameter_ranges.names())
        assert 0.0 < trial["objective"] <= 1.0 and trial["seconds"] > 0
        assert trial["name"].startswith(summary["run_name"] + "-")
    best = max(trials, key=lambda t: t["objective"])
    assert summary["best"]["value"] == best["objective"]
    assert summary["best"]["hyperparameters"] == best["hyperparameters"]
    assert list(summary["timings"]) == [*STAGES, "total"]
    assert summary["timings"]["total"] >= sum(summary["timings"][s] for s in STAGES) * 0.99


def test_trials_ran_the_container_with_their_hyperparameters(batch_run: Run) -> None:
    for trial in batch_run.summary["trials"]:
        folder = Path(trial["folder"])
        given = json.loads((folder / "input" / "config" / "hyperparameters.json").read_text())
        assert given == {
            **trial["hyperparameters"],
            "kfold_splits": "3",
            "num_round": "30",
            "_tuning_objective_metric": "accuracy",
        }
        log = (folder / "train.log").read_text()
        assert f"accuracy: {trial['objective']:.6f}" in log  # the value the MetricDefinitions regex read
        assert f"max_depth={trial['hyperparameters']['max_depth']}" in log  # the program parsed what it got


def test_the_trained_model_and_the_run_record(batch_run: Run) -> None:
    summary = batch_run.summary
    model = batch_run.out / "model"
    assert (model / "model.json").is_file() and (model / "columns.json").is_file()
    # The best trial's quality report is in the summary, as its `train` wrote it from the printed metrics' data.
    best = next(t for t in summary["trials"] if t["number"] == summary["best"]["trial"])
    written = json.loads((Path(best["folder"]) / "model" / "model-quality.json").read_text())
    assert summary["model_quality"] == written == json.loads((model / "model-quality.json").read_text())
    source = re.search(r"metrics below are from (\S+)", (Path(best["folder"]) / "train.log").read_text())
    assert source is not None and written["mlops"]["evaluated_on"] == source[1]
    assert written["binary_classification_metrics"]["accuracy"]["value"] == pytest.approx(
        best["objective"], abs=1e-6
    )
    metadata_bucket = summary["stores"]["metadata"]
    record = json.loads(
        (batch_run.out / "s3" / metadata_bucket / "runs" / f"{summary['run_name']}.json").read_text()
    )
    assert record["objective"] == {"name": "accuracy", "value": summary["best"]["value"], "type": "Maximize"}
    assert record["tuned_hyperparameters"] == summary["best"]["hyperparameters"]
    assert record["model_data_url"] == summary["best"]["model_data_url"]
    models = summary["stores"]["models"]
    tarball = (
        batch_run.out / "s3" / models / "tuning" / summary["best"]["training_job"] / "output" / "model.tar.gz"
    )
    assert tarball.is_file()
    assert summary["inference"]["instances"] == summary["inference"]["input_files"] == 1
    renamed = f"predictions/run={summary['deployment']['name']}/score.csv"
    output = (batch_run.out / "s3" / summary["stores"]["output"] / renamed).read_text().splitlines()
    assert output == [",".join(row) for row in batch_run.csv_rows("predictions.csv")[1:]]
    assert not (batch_run.out / "s3" / summary["stores"]["output"] / (renamed + ".out")).exists()


def test_the_model_is_registered_approved_and_the_deployment_scores_with_that_package(batch_run: Run) -> None:
    package = batch_run.summary["model_package"]
    assert (package["status"], package["version"], package["approval_mode"]) == ("Approved", 1, "automatic")
    assert package["arn"].endswith(f":model-package/{package['group']}/1")
    assert batch_run.summary["deployment"]["model_package_arn"] == package["arn"]
    if package["model_quality_uri"]:  # the bring-your-own container writes a quality report
        bucket, _, key = package["model_quality_uri"].removeprefix("s3://").partition("/")
        assert json.loads((batch_run.out / "s3" / bucket / key).read_text())
    else:
        assert package["model_quality_note"].startswith("absent:")
    assert f"model package {package['arn']} (version 1): Approved" in batch_run.stdout


def test_the_trigger_waited_for_the_score_file_then_started_one_run(batch_run: Run) -> None:
    out = batch_run.stdout
    waiting = out.index("trigger: no run yet (waiting for score data")
    started = out.index("trigger: started execution")
    assert waiting < started and out.count("trigger: started execution") == 1
    execution = batch_run.summary["execution"]
    assert execution["input"]["train"]["key"] == "data/train/train.csv"
    assert execution["input"]["score"]["key"] == "data/score/score.csv"
    assert execution["input"]["train"]["version_id"]  # the feature store is versioned, as deployed


def test_progress_names_every_stage_and_trial(batch_run: Run) -> None:
    for number, stage in enumerate(STAGES, 1):
        assert f"[{number}/{len(STAGES)}] {stage}" in batch_run.stdout
    assert "trial 1/2 started" in batch_run.stdout and "trial 2/2 started" in batch_run.stdout
    assert "serve stopped on SIGTERM" in batch_run.stdout


def test_the_report_opens_offline_and_draws_the_threshold(batch_run: Run) -> None:
    html = (batch_run.out / "report.html").read_text()
    assert "<svg" in html and "threshold: NumericGreaterThan 0.7" in html
    assert html.count("<circle") == 2  # one point per completed trial
    assert (
        "ROC curve (AUC " in html
        and "Precision-recall curve" in html
        and "Confusion matrix at threshold" in html
    )
    # Nothing to fetch: no scripts, stylesheets or images from elsewhere.
    assert not re.search(r"(src|href)=|<script|@import|url\(", html)


# A gate every model passes, and one trial: the tests below are about the runs, not about the model.
FAST_AND_PERMISSIVE = {
    **SMALL,
    "mlops:maxNumberTrainingJobs": 1,
    "mlops:maxParallelTrainingJobs": 1,
    "mlops:inferenceComparisonOperator": "NumericGreaterThanEquals",
    "mlops:inferenceMetricThreshold": 0,
}


def test_endpoint_mode_serves_a_smoke_request_and_replaces_a_previous_runs_outputs(tmp_path: Path) -> None:
    batch = local_run(
        tmp_path, "--stack-file", str(write_stack(tmp_path, FAST_AND_PERMISSIVE)), "--rows", "200"
    )
    assert batch.status == 0, batch.stderr
    assert (batch.out / "predictions.csv").is_file()
    (batch.out / "my-notes.txt").write_text("mine")  # beside the outputs: the next run leaves it alone

    endpoint_stack = {
        **FAST_AND_PERMISSIVE,
        "mlops:endpointOrBatchTransform": "Create Model Endpoint Config",
        "mlops:tuningStrategy": "Random",
    }
    run = local_run(tmp_path, "--stack-file", str(write_stack(tmp_path, endpoint_stack)), "--rows", "300")
    assert run.status == 0, run.stderr
    inference = run.summary["inference"]
    assert inference["mode"] == "endpoint" and inference["ping"] == 200
    assert 0.0 <= inference["smoke_request"]["probability"] <= 1.0
    assert inference["server_stopped"].startswith("exit 0 after SIGTERM")
    first_train_row = next(csv.DictReader((run.out / "data" / "train.csv").open()))
    assert inference["smoke_request"]["id"] == first_train_row["EmployeeNumber"]
    assert "trigger: started execution" in run.stdout and "waiting for score data" not in run.stdout

    # The batch run's outputs are gone, not mixed with this run's: an endpoint scores requests, not a file.
    assert "cleared the previous run's predictions.csv, summary.json" in run.stdout
    assert not (run.out / "predictions.csv").exists()
    assert (run.out / "my-notes.txt").read_text() == "mine"
    trials = sorted(p.name for p in (run.out / "trials").iterdir() if not p.name.startswith("."))
    assert trials == [run.summary["trials"][0]["name"]]


def test_three_transform_instances_score_three_parts_and_a_holdout_is_validated_on(tmp_path: Path) -> None:
    stack = {
        **FAST_AND_PERMISSIVE,
        "mlops:batchTransformInstanceCount": 3,
        "mlops:useValidationChannel": True,
    }
    run = local_run(tmp_path, "--stack-file", str(write_stack(tmp_path, stack)), "--rows", "400")
    assert run.status == 0, run.stderr
    summary = run.summary
    assert (summary["inference"]["instances"], summary["inference"]["input_files"]) == (3, 3)
    s3 = run.out / "s3"
    parts = sorted(p.name for p in (s3 / summary["stores"]["extracts"] / "score").iterdir())
    assert parts == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    renamed = sorted(
        p.name
        for p in (
            s3 / summary["stores"]["output"] / "predictions" / f"run={summary['deployment']['name']}"
        ).iterdir()
    )
    assert renamed == parts  # every part's output renamed, no .out left
    # One prediction per scoring row, in the score file's order: the parts, in name order, are its rows in order.
    predictions = run.csv_rows("predictions.csv")
    scoring = run.csv_rows("data/score.csv")
    id_column = scoring[0].index("EmployeeNumber")
    assert [row[0] for row in predictions[1:]] == [row[id_column] for row in scoring[1:]]
    # The holdout is in the store and the training program reported on it.
    validation = (
        (s3 / summary["stores"]["extracts"] / "validation" / "validation.csv").read_text().splitlines()
    )
    assert validation[0].startswith("EmployeeNumber,Attrition,") and len(validation) > 1
    log = (Path(summary["trials"][0]["folder"]) / "train.log").read_text()
    assert f"validation channel: {len(validation) - 1} rows" in log


def test_manual_approval_stops_pending_and_approve_deploys_in_the_same_run(tmp_path: Path) -> None:
    stack = write_stack(tmp_path, {**FAST_AND_PERMISSIVE, "mlops:modelApprovalMode": "manual"})
    pending = local_run(tmp_path, "--stack-file", str(stack), "--rows", "200")
    assert pending.status == 0, pending.stderr
    assert pending.summary["model_package"]["status"] == "PendingManualApproval"
    assert (
        "Pending Manual Approval" in pending.stdout
        and "skipped: the package awaits approval" in pending.stdout
    )
    assert "inference" not in pending.summary and not (pending.out / "predictions.csv").exists()

    approved = local_run(tmp_path, "--stack-file", str(stack), "--rows", "200", "--approve")
    assert approved.status == 0, approved.stderr
    package = approved.summary["model_package"]
    assert (package["status"], package["approved_with_flag"]) == ("Approved", True)
    assert approved.summary["deployment"]["model_package_arn"] == package["arn"]
    assert (approved.out / "predictions.csv").is_file()


def test_a_score_only_run_scores_with_the_approved_package_without_training(tmp_path: Path) -> None:
    stack = write_stack(tmp_path, FAST_AND_PERMISSIVE)
    first = local_run(tmp_path, "--stack-file", str(stack), "--rows", "200")
    assert first.status == 0, first.stderr
    package = first.summary["model_package"]
    score = tmp_path / "new-scores.csv"
    score.write_text((first.out / "data" / "score.csv").read_text())

    scored = local_run(tmp_path, "--stack-file", str(stack), "--score", str(score))
    assert scored.status == 0, scored.stderr
    summary = scored.summary
    assert summary["score_only"] is True and summary["trials"] == [] and summary["best"] is None
    assert list(summary["timings"]) == ["data", "aws", "registry", "etl", "inference", "outputs", "total"]
    assert summary["model_package"]["restored_from"] == package["arn"]
    assert summary["model_package"]["status"] == "Approved"
    assert summary["deployment"]["model_package_arn"] == summary["model_package"]["arn"]
    assert "no training" in scored.stdout and "trial 1/1" not in scored.stdout
    assert "--train_key (empty)" in scored.stdout  # Prepare Score Data: a scoring-only ETL run
    predictions = scored.csv_rows("predictions.csv")
    scoring = list(csv.reader(score.open()))
    assert len(predictions) == len(scoring)
    # The same model scores the same rows the same way.
    assert predictions == first.csv_rows("predictions.csv")

    again = local_run(tmp_path, "--stack-file", str(stack), "--score", str(score))  # and again from that one
    assert again.status == 0, again.stderr
    assert again.summary["model_package"]["restored_from"] == summary["model_package"]["arn"]


def test_a_score_only_run_refuses_a_package_still_pending_approval(tmp_path: Path) -> None:
    stack = write_stack(tmp_path, {**FAST_AND_PERMISSIVE, "mlops:modelApprovalMode": "manual"})
    first = local_run(tmp_path, "--stack-file", str(stack), "--rows", "200")
    assert first.status == 0, first.stderr
    before = sorted(p.name for p in first.out.iterdir())
    refused = local_run(
        tmp_path, "--stack-file", str(stack), "--score", str(first.out / "data" / "score.csv")
    )
    assert refused.status == 1
    assert "PendingManualApproval; approve it (run again with --approve)" in refused.stderr
    assert sorted(p.name for p in first.out.iterdir()) == before  # refused with nothing changed
