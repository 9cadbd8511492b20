"""`mlops local-run` with `trainingJobInstanceCount` above 1: each trial is that many cooperating `train`
processes (container/xgb_model/distributed.py), at most one per CPU, and `summary.json` says how many."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_component.tools.local_run.tuning import TrainingJob
from tests.local_run.conftest import ROWS, SMALL, local_run, write_stack

pytestmark = pytest.mark.slow


def test_a_two_instance_stack_trains_each_trial_with_two_cooperating_processes(tmp_path: Path) -> None:
    settings = {**SMALL, "mlops:trainingJobInstanceCount": 2}
    run = local_run(tmp_path, "--stack-file", str(write_stack(tmp_path, settings)), "--rows", ROWS)
    assert run.status == 0, run.stdout + run.stderr
    assert "2 cooperating processes per trial (InstanceCount 2;" in run.stdout
    trials = run.summary["trials"]
    assert [(t["status"], t["hosts"]) for t in trials] == [("Completed", 2)] * len(trials) and trials
    trial = trials[0]
    first = Path(trial["folder"])
    second = first / "hosts" / "algo-2"
    assert "rank 0 of 2" in (first / "train.log").read_text()
    second_log = (second / "train.log").read_text()
    assert "rank 1 of 2" in second_log and "the first host writes the model" in second_log
    assert not (second / "model").exists()
    assert (first / "model" / "model.json").is_file()


def test_the_host_count_is_capped_by_the_cpus_and_says_so() -> None:
    def job(hosts: int, requested: int) -> TrainingJob:
        return TrainingJob(
            command=[], channels={}, static_hyperparameters={}, objective_metric="accuracy",
            metric_definitions=[], max_runtime_seconds=60, output_bucket="b", output_prefix="p/",
            environment={}, hosts=hosts, requested_hosts=requested,
        )  # fmt: skip

    assert (
        job(2, 4)
        .describe_hosts()
        .startswith("2 cooperating processes per trial (InstanceCount 4, capped at 2")
    )
    assert job(1, 1).describe_hosts() == "1 process per trial"
