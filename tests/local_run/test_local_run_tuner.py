"""The tuner's mechanics with a tiny training program that keeps the container contract: real processes, each
in its own `/opt/ml` tree, with moto for the models store. Fast, so parallelism, the failure rule, the
direction and the stopping condition can each be checked on their own."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_component.builders.state_machines.training_workflow import metric_regex
from mlops_component.tools.local_run.errors import LocalRunError
from mlops_component.tools.local_run.tuning import TrainingJob, TuningResult, tune

MODELS = "local-test-models-123456789012-us-east-1"
# Reads its hyperparameters, records when it ran, and prints `score: <value>` from x (or fails, or hangs).
PROGRAM = textwrap.dedent(
    """
    import json, os, sys, time
    root = os.environ["MLOPS_ML_ROOT"]
    params = json.load(open(os.path.join(root, "input", "config", "hyperparameters.json")))
    x = float(params["x"])
    with open(os.environ["SPANS"], "a") as spans:
        spans.write(f"start {time.time()}\\n")
    if x > float(params.get("fail_above", "inf")):
        os.makedirs(os.path.join(root, "output"), exist_ok=True)
        open(os.path.join(root, "output", "failure"), "w").write(f"x={x} is too large")
        sys.exit(1)
    time.sleep(float(params.get("sleep", "0.3")))
    open(os.path.join(root, "model", "model.json"), "w").write(json.dumps({"x": x}))
    with open(os.environ["SPANS"], "a") as spans:
        spans.write(f"end {time.time()}\\n")
    print(f"score: {abs(x - 3):.6f}")
    """
)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=MODELS)
        yield client


def run_tuning(
    tmp_path: Path,
    s3: Any,
    *,
    trials: int,
    parallel: int,
    cpus: int,
    objective: str = "Minimize",
    static: dict[str, str] | None = None,
    max_runtime: int = 60,
) -> tuple[TuningResult, list[str]]:
    program = tmp_path / "train"
    program.write_text(PROGRAM)
    spans = tmp_path / "spans.log"
    request = {
        "HyperParameterTuningJobName": "attrition-0123456789ab",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": objective, "MetricName": "score"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "x", "MinValue": "0", "MaxValue": "10", "ScalingType": "Auto"}
                ]
            },
        },
    }
    job = TrainingJob(
        command=[sys.executable, str(program)],
        channels={},
        static_hyperparameters=static or {},
        objective_metric="score",
        metric_definitions=[{"Name": "score", "Regex": metric_regex("score")}],
        max_runtime_seconds=max_runtime,
        output_bucket=MODELS,
        output_prefix="tuning/",
        environment={"SPANS": str(spans), "PATH": "/usr/bin:/bin"},
    )
    lines: list[str] = []
    result = tune(
        request, job=job, s3=s3, trials_dir=tmp_path / "trials", seed=3, cpus=cpus, say=lines.append
    )
    return result, lines


def most_at_once(spans: Path) -> int:
    events = sorted(
        (float(t), 1 if kind == "start" else -1)
        for kind, t in (line.split() for line in spans.read_text().splitlines())
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_parallel_trials_never_exceed_the_cpus(tmp_path: Path, s3: Any) -> None:
    result, _ = run_tuning(tmp_path, s3, trials=4, parallel=4, cpus=1)
    assert len(result.completed) == 4
    assert most_at_once(tmp_path / "spans.log") == 1


def test_parallel_trials_run_together_when_the_cpus_allow(tmp_path: Path, s3: Any) -> None:
    result, lines = run_tuning(tmp_path, s3, trials=4, parallel=2, cpus=8, static={"sleep": "1.0"})
    assert len(result.completed) == 4
    assert most_at_once(tmp_path / "spans.log") == 2
    assert "4 trial(s), 2 at a time" in lines[0]


def test_minimize_picks_the_lowest_objective_and_every_model_is_stored(tmp_path: Path, s3: Any) -> None:
    result, _ = run_tuning(tmp_path, s3, trials=3, parallel=1, cpus=1)
    objectives = [t.objective for t in result.trials]
    assert result.best is not None and result.best.objective == min(v for v in objectives if v is not None)
    for trial in result.trials:
        key = f"tuning/{trial.name}/output/model.tar.gz"
        assert trial.model_data_url == f"s3://{MODELS}/{key}"
        assert s3.head_object(Bucket=MODELS, Key=key)["ContentLength"] > 0
        given = json.loads((trial.folder / "input" / "config" / "hyperparameters.json").read_text())
        assert given["_tuning_objective_metric"] == "score" and given["x"] == trial.tuned["x"]


def test_after_a_failed_trial_no_new_one_starts_and_the_run_fails(tmp_path: Path, s3: Any) -> None:
    result, lines = run_tuning(tmp_path, s3, trials=5, parallel=1, cpus=1, static={"fail_above": "-1"})
    (trial,) = result.trials
    assert trial.status == "Failed" and trial.failure == f"x={float(trial.tuned['x'])} is too large"
    assert any("trial 1/5 FAILED" in line for line in lines)
    with pytest.raises(LocalRunError) as raised:
        result.check(str)
    assert "1 of 1 trial(s) failed (4 more not started after the first failure)" in raised.value.message
    assert str(trial.failure_path) in raised.value.message


def test_a_trial_over_its_runtime_is_stopped(tmp_path: Path, s3: Any) -> None:
    result, _ = run_tuning(tmp_path, s3, trials=1, parallel=1, cpus=1, static={"sleep": "30"}, max_runtime=1)
    (trial,) = result.trials
    assert trial.status == "Stopped" and trial.failure == "stopped after MaxRuntimeInSeconds (1s)"
    assert trial.seconds < 10
