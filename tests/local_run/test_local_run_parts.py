"""The parts of a local run on their own: the definition evaluator, the search space, metric parsing, the S3
event, Batch Transform's mini-batches, the Describe responses the run-metadata function reads, and the report."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
import pytest

from mlops_component import layout
from mlops_component.builders.state_machines import deployment_workflow as dw
from mlops_component.builders.state_machines import gate
from mlops_component.builders.state_machines import training_workflow as wf
from mlops_component.builders.state_machines.training_workflow import (
    metric_definitions,
    metric_regex,
    run_name,
)
from mlops_component.config import MlOpsConfig, ParameterRanges
from mlops_component.tools.local_run import asl, report
from mlops_component.tools.local_run.aws import LandedObject, s3_put_event
from mlops_component.tools.local_run.scoring import TransformRequest, _mini_batches
from mlops_component.tools.local_run.tuning import (
    LocalSageMaker,
    SearchSpace,
    Trial,
    TuningResult,
    parse_metrics,
    sampler,
)

RESOURCES = wf.TrainingResources(
    glue_job_name="local-test-data-transformation",
    etl_timeout_seconds=3600,
    extracts_bucket="local-test-extracts-123456789012-us-east-1",
    models_bucket="local-test-models-123456789012-us-east-1",
    metadata_bucket="local-test-metadata-123456789012-us-east-1",
    image_uri="file:///container",
    sagemaker_role_arn="arn:aws:iam::123456789012:role/local-test-sagemaker",
    topic_arn="arn:aws:sns:us-east-1:123456789012:local-test-failures",
    run_metadata_function_arn="arn:aws:lambda:us-east-1:123456789012:function:local-test-run-metadata",
    register_model_function_arn="arn:aws:lambda:us-east-1:123456789012:function:local-test-register-model",
    deployment_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:local-test-deployment",
)
DEPLOYMENT = dw.DeploymentResources(
    model_package_group="local-test-models",
    extracts_bucket="local-test-extracts-123456789012-us-east-1",
    output_bucket="local-test-output-123456789012-us-east-1",
    metadata_bucket="local-test-metadata-123456789012-us-east-1",
    sagemaker_role_arn="arn:aws:iam::123456789012:role/local-test-sagemaker",
    topic_arn="arn:aws:sns:us-east-1:123456789012:local-test-failures",
    glue_job_name="local-test-data-transformation",
    etl_timeout_seconds=3600,
    rename_output_function_arn="arn:aws:lambda:us-east-1:123456789012:function:local-test-rename-output",
    prediction_crawler_name="local-test-predictions-crawler",
)
DEPLOYMENT_STATE: dict[str, Any] = {
    "score": {"bucket": "features", "key": "data/score/s.csv"},
    "cause": "training",
    "deployment": {"name": "attrition-0123456789ab"},
    "package": {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/local-test-models/1"
    },
}
STATE: dict[str, Any] = {
    "train": {"bucket": "features", "key": "data/train/a b.csv", "version_id": "v1", "etag": "e1"},
    "score": {"bucket": "features", "key": "data/score/s.csv", "version_id": "v2", "etag": "e2"},
    "run": {"name": "attrition-0123456789ab"},
    "tuning": {
        "name": "attrition-0123456789ab",
        "best": {"FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "f1", "Value": 0.4321}},
    },
}


@pytest.fixture
def definition(make_config) -> dict[str, Any]:
    config: MlOpsConfig = make_config(tuning_metric="f1", inference_metric_threshold=0.5)
    return wf.training_definition(config, RESOURCES)


# --- The definition, evaluated -------------------------------------------------------------------------------------


def test_the_etl_gets_the_arguments_the_glue_job_would(definition: dict[str, Any]) -> None:
    parameters = asl.resolve(asl.state_parameters(definition, wf.TRANSFORM_DATA), STATE)
    assert parameters["JobName"] == "local-test-data-transformation"
    assert parameters["Arguments"] == {
        "--source_bucket": "features",
        "--train_key": "data/train/a b.csv",
        "--score_key": "data/score/s.csv",
        "--destination_bucket": RESOURCES.extracts_bucket,
        "--inference_type": "batch",
        "--output_layout": "byo",
        "--validation": "false",
        "--score_parts": "1",
    }


def test_the_gate_failure_cause_is_the_fail_states_own(definition: dict[str, Any]) -> None:
    failure = asl.resolve(asl.state_parameters(definition, wf.EXPLAIN_GATE_FAILURE), STATE)
    assert failure == {
        "Error": "ObjectiveBelowThreshold",
        "Cause": "Objective metric f1 = 0.4321 did not pass NumericGreaterThan 0.5; the model was not registered",
    }
    assert asl.path_value(gate.OBJECTIVE_VALUE_PATH, STATE) == 0.4321


def test_batch_transform_output_path_and_filters_come_from_the_definition(make_config) -> None:
    definition = dw.deployment_definition(make_config(), DEPLOYMENT)
    request = TransformRequest.from_parameters(
        asl.resolve(asl.state_parameters(definition, dw.BATCH_TRANSFORM), DEPLOYMENT_STATE)
    )
    assert (request.input_bucket, request.input_prefix) == (
        RESOURCES.extracts_bucket,
        layout.SCORE_EXTRACT_PREFIX,
    )
    assert request.instance_count == 1
    assert (
        request.output_key(layout.SCORE_EXTRACT_KEY) == "predictions/run=attrition-0123456789ab/score.csv.out"
    )
    part = layout.SCORE_PART_KEY.format(2)
    assert request.output_key(part) == "predictions/run=attrition-0123456789ab/part-00002.csv.out"
    assert request.max_payload_bytes == dw.MAX_PAYLOAD_MB * 1024 * 1024
    record = ["1044", "0.5", "3", "7"]
    assert asl.select(asl.compile_path(request.input_filter), record) == ["0.5", "3", "7"]
    assert asl.select(asl.compile_path(request.output_filter), [*record, "0.93"]) == ["1044", "0.93"]


def test_states_format_escapes_and_argument_counts() -> None:
    document = {"a": "x", "n": 3, "o": {"k": [1]}}
    assert (
        asl.evaluate(r"States.Format('\{{}\} = {} ({})', $.a, $.n, $.o)", document) == '{x} = 3 ({"k": [1]})'
    )
    with pytest.raises(asl.DefinitionError, match="more"):
        asl.evaluate("States.Format('{} {}', $.a)", document)
    with pytest.raises(asl.DefinitionError, match="cannot evaluate"):
        asl.evaluate("States.UUID()", document)
    with pytest.raises(asl.DefinitionError, match="selects 0 values"):
        asl.evaluate("$.missing", document)


def test_run_names_follow_the_name_run_state() -> None:
    names = {run_name("a" * 18) for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"a{18}-[0-9a-f]{12}", name) and len(name) <= 32 for name in names)
    intrinsic = wf.training_definition(
        MlOpsConfig(job_name="attrition", name_prefix="x", train_local_path=None, score_local_path=None),
        RESOURCES,
    )["States"][wf.NAME_RUN]
    # The state takes item 4 of the UUID split on "-", after the job name and a hyphen: so does run_name.
    assert intrinsic["Parameters"]["name.$"] == (
        "States.Format('attrition-{}', States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4))"
    )


# --- Tuning ---------------------------------------------------------------------------------------------------------


def ranges(**kinds: list[dict[str, Any]]) -> ParameterRanges:
    return ParameterRanges.model_validate(kinds)


def test_every_scaling_samples_inside_its_range() -> None:
    space = SearchSpace.from_ranges(
        ranges(
            ContinuousParameterRanges=[
                {"Name": "eta", "MinValue": "0.001", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
                {
                    "Name": "subsample",
                    "MinValue": "0.5",
                    "MaxValue": "0.999",
                    "ScalingType": "ReverseLogarithmic",
                },
                {"Name": "gamma", "MinValue": "0", "MaxValue": "10", "ScalingType": "Auto"},
            ],
            IntegerParameterRanges=[
                {"Name": "max_depth", "MinValue": "1", "MaxValue": "64", "ScalingType": "Logarithmic"},
                {"Name": "num_round", "MinValue": "10", "MaxValue": "20", "ScalingType": "Linear"},
            ],
            CategoricalParameterRanges=[{"Name": "max_bin", "Values": ["64", "256"]}],
        )
    )
    study = optuna.create_study(sampler=sampler("Random", seed=1))
    values: dict[str, list[float]] = {}
    for _ in range(400):
        trial = study.ask(space.distributions)
        for name, text in space.hyperparameters(trial.params).items():
            assert isinstance(text, str)
            values.setdefault(name, []).append(float(text))
        study.tell(trial, 0.0)
    assert min(values["eta"]) >= 0.001 and max(values["eta"]) <= 0.5
    assert min(values["subsample"]) >= 0.5 and max(values["subsample"]) <= 0.999
    assert all(v.is_integer() and 1 <= v <= 64 for v in values["max_depth"])
    assert set(values["max_bin"]) == {64.0, 256.0}
    # Log scale: half the samples fall below the geometric middle, not the arithmetic one.
    below = sum(v < math.sqrt(0.001 * 0.5) for v in values["eta"]) / len(values["eta"])
    assert 0.4 < below < 0.6
    # Reverse log: 1 - x is log-uniform, so values crowd towards 1.
    crowd = sum(v > 1 - math.sqrt(0.5 * 0.001) for v in values["subsample"]) / len(values["subsample"])
    assert 0.4 < crowd < 0.6
    linear = sum(v < 5 for v in values["gamma"]) / len(values["gamma"])
    assert 0.4 < linear < 0.6


def test_the_strategies_map_to_seeded_optuna_samplers() -> None:
    assert isinstance(sampler("Bayesian", 0), optuna.samplers.TPESampler)
    assert isinstance(sampler("Random", 0), optuna.samplers.RandomSampler)
    space = SearchSpace.from_ranges(
        MlOpsConfig.model_fields["parameter_ranges"].get_default(call_default_factory=True)
    )

    def first_params(seed: int) -> dict[str, Any]:
        return optuna.create_study(sampler=sampler("Bayesian", seed)).ask(space.distributions).params

    assert first_params(5) == first_params(5) != first_params(6)


def test_metrics_are_read_with_the_workflows_regex_last_value_wins(make_config) -> None:
    output = "\n".join(
        [
            "fold 1/3 accuracy=0.51 roc_auc=0.52",  # per-fold lines have another shape
            "accuracy: 0.810000",
            "roc_auc: 0.900000",
            "accuracy: 0.820000",
            "f1: nan",
        ]
    )
    definitions = metric_definitions(make_config(tuning_metric="accuracy"))
    assert parse_metrics(output, definitions) == {"accuracy": 0.82, "roc_auc": 0.9}
    assert {"Name": "accuracy", "Regex": metric_regex("accuracy")} in definitions


# --- What the run-metadata function reads ---------------------------------------------------------------------------


def test_the_describe_responses_make_the_functions_run_record(tmp_path: Path) -> None:
    from functions.run_metadata import build_run_metadata, run_summary

    started = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    trials = [
        Trial(
            number=1,
            name="attrition-0123456789ab-001-aaaaaaaa",
            folder=tmp_path / "1",
            tuned={"max_depth": "3"},
            hyperparameters={"kfold_splits": "3", "max_depth": "3"},
            status="Completed",
            metrics={"accuracy": 0.8, "f1": 0.4},
            objective=0.8,
            started_at=started,
            ended_at=started,
            model_data_url="s3://models/tuning/attrition-0123456789ab-001-aaaaaaaa/output/model.tar.gz",
        ),
        Trial(
            number=2,
            name="attrition-0123456789ab-002-bbbbbbbb",
            folder=tmp_path / "2",
            tuned={"max_depth": "7"},
            hyperparameters={"kfold_splits": "3", "max_depth": "7"},
            status="Completed",
            metrics={"accuracy": 0.85, "f1": 0.5},
            objective=0.85,
            started_at=started,
            ended_at=started,
            model_data_url="s3://models/tuning/attrition-0123456789ab-002-bbbbbbbb/output/model.tar.gz",
        ),
    ]
    request = {
        "HyperParameterTuningJobConfig": {
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "accuracy"}
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": "x", "TrainingInputMode": "File"}
        },
    }
    result = TuningResult(
        name="attrition-0123456789ab",
        request=request,
        trials=trials,
        objective_metric="accuracy",
        objective_type="Maximize",
        created_at=started,
        ended_at=started,
        planned=2,
    )
    local = LocalSageMaker(
        result,
        arn=lambda kind, name: f"arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}",
        training_image="file:///container",
    )
    tuning_job = local.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=result.name)
    training_job = local.describe_training_job(
        TrainingJobName=tuning_job["BestTrainingJob"]["TrainingJobName"]
    )
    record = build_run_metadata(
        tuning_job, training_job, metadata_uri="s3://metadata/runs/x.json", recorded_at=started
    )
    assert record["best_training_job"]["name"] == trials[1].name
    assert record["objective"] == {"name": "accuracy", "value": 0.85, "type": "Maximize"}
    assert record["hyperparameters"] == {"kfold_splits": "3", "max_depth": "7"}  # no _tuning_objective_metric
    assert record["tuned_hyperparameters"] == {"max_depth": "7"}
    assert record["metrics"] == {"accuracy": 0.85, "f1": 0.5, "ObjectiveMetric": 0.85}
    assert record["tuning_job"]["training_jobs"]["Completed"] == 2
    assert run_summary(record)["model_data_url"] == trials[1].model_data_url


# --- The S3 event -------------------------------------------------------------------------------------------------


def test_the_event_is_what_s3_sends_and_the_trigger_reads_it_back() -> None:
    from functions.trigger import parse_event

    landed = LandedObject(
        bucket="features",
        key="data/train/employee attrition (2024).csv",
        version_id="v1",
        etag="d41d8cd98f00b204e9800998ecf8427e",
        size=12,
    )
    event = s3_put_event(landed, "eu-west-1")
    obj = event["Records"][0]["s3"]["object"]
    assert obj["key"] == "data/train/employee+attrition+%282024%29.csv"  # URL-encoded, as S3 sends it
    fixture = json.loads(Path("tests/events/s3_put_train.json").read_text())
    assert set(event["Records"][0]) == set(fixture["Records"][0])
    assert set(obj) == set(fixture["Records"][0]["s3"]["object"])
    (record,) = parse_event(event)
    assert (record.bucket, record.key, record.version_id, record.etag) == (
        "features",
        landed.key,
        "v1",
        landed.etag,
    )


# --- Batch Transform's mini-batches ---------------------------------------------------------------------------------


def test_mini_batches_split_by_line_filter_and_respect_the_payload_limit(tmp_path: Path) -> None:
    source = tmp_path / "score.csv"
    source.write_text("".join(f"{1000 + i},{i}.5,{i % 3}\n" for i in range(100)) + "\n")
    batches = list(_mini_batches(source, asl.compile_path("$[1:]"), max_bytes=64))
    rows = [row for batch_rows, _ in batches for row in batch_rows]
    assert [row[0] for row in rows] == [str(1000 + i) for i in range(100)]  # every record once, in order
    for batch_rows, body in batches:
        assert len(body) <= 64
        assert body.decode().splitlines() == [",".join(row[1:]) for row in batch_rows]  # ids filtered out
    assert len(batches) > 1


def test_a_record_over_the_payload_limit_is_refused(tmp_path: Path) -> None:
    from mlops_component.tools.local_run.errors import LocalRunError

    source = tmp_path / "score.csv"
    source.write_text("1," + "9" * 100 + "\n")
    with pytest.raises(
        LocalRunError, match=re.escape("record 1 of score.csv is 101 bytes, over MaxPayloadInMB")
    ):
        list(_mini_batches(source, asl.compile_path("$[1:]"), max_bytes=64))


# --- The report -----------------------------------------------------------------------------------------------------


def test_the_report_escapes_what_it_shows_and_marks_failed_trials() -> None:
    summary = {
        "status": "failed",
        "failed_stage": "tuning",
        "error": "trial 2 failed: <script>alert(1)</script>",
        "run_name": "attrition-0123456789ab",
        "objective": {"metric": "accuracy", "type": "Maximize"},
        "operator": "NumericGreaterThan",
        "threshold": 0.7,
        "trials": [
            {
                "number": 1,
                "name": "job-1",
                "status": "Completed",
                "objective": 0.8,
                "seconds": 1.0,
                "hyperparameters": {"max_depth": "<b>3</b>"},
            },
            {
                "number": 2,
                "name": "job-2",
                "status": "Failed",
                "objective": None,
                "seconds": 0.5,
                "failure": "<img src=x>",
                "hyperparameters": {},
            },
        ],
        "best": {"trial": 1, "value": 0.8},
        "timings": {"data": 0.1, "total": 2.0},
    }
    html = report.render(summary)
    assert "<script>" not in html and "<img" not in html and "<b>3</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<circle") == 1 and "l10,10 m0,-10" in html  # one point, one cross
    assert "threshold: NumericGreaterThan 0.7" in html


def test_a_truncated_model_archive_is_one_line(tmp_path: Path) -> None:
    import io
    import tarfile

    from mlops_component.tools.local_run.errors import LocalRunError
    from mlops_component.tools.local_run.scoring import unpack_model

    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        content = bytes(range(256)) * 400
        entry = tarfile.TarInfo("model.json")
        entry.size = len(content)
        tar.addfile(entry, io.BytesIO(content))
    whole = archive.read_bytes()
    for size in (len(whole) // 2, 5):
        archive.write_bytes(whole[:size])
        with pytest.raises(LocalRunError, match=r"^cannot unpack the model archive model\.tar\.gz: \S"):
            unpack_model(archive, tmp_path / f"model-{size}")
