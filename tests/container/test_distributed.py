"""Distributed training for real: several `train` processes on loopback, each with its own `/opt/ml` tree and a
resource config naming the others, train one model with XGBoost's collective (see xgb_model/distributed.py).

Every process is bounded by a timeout, and the collective timeout is short, so a broken group fails the test
instead of hanging it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix
from xgb_model.distributed import Group, load_cluster
from xgb_model.jobs import JobError
from xgb_model.metrics import binary_metrics, metric_lines
from xgb_model.model import Model
from xgb_model.paths import MlPaths
from xgb_model.quality import QUALITY_FILE
from xgb_model.training import train

from tests.container.conftest import CONTAINER_DIR, make_ml_tree, process_env
from tests.container.synthetic import FEATURES, LABEL_COLUMN, write_train_csv

PROCESS_TIMEOUT_S = 120
COLLECTIVE_TIMEOUT_S = "30"
# A model that takes a few seconds to train, so that a host can be killed while the group trains.
SLOW = {"num_round": "3000", "max_depth": "8", "kfold_splits": "2"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cluster_trees(root: Path, frames: list[pd.DataFrame], hyperparameters: dict[str, str]) -> list[MlPaths]:
    """One `/opt/ml` tree per host (`algo-1`...), host i's train channel holding `frames[i]`."""
    hosts = [f"algo-{i + 1}" for i in range(len(frames))]
    trees = []
    for host, frame in zip(hosts, frames, strict=True):
        paths = make_ml_tree(root / host, frame, hyperparameters)
        paths.resource_config.write_text(json.dumps({"hosts": hosts, "current_host": host}))
        trees.append(paths)
    return trees


def start(trees: list[MlPaths]) -> list[subprocess.Popen[str]]:
    """Start `train` for every host, all resolving every host name to 127.0.0.1."""
    port = str(free_port())
    return [
        subprocess.Popen(
            [sys.executable, str(CONTAINER_DIR / "train")],
            env=process_env(
                paths.root,
                MLOPS_HOST_ADDRESS="127.0.0.1",
                MLOPS_TRACKER_PORT=port,
                MLOPS_COLLECTIVE_TIMEOUT_S=COLLECTIVE_TIMEOUT_S,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for paths in trees
    ]


def finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    """(exit status, output) of every process; a process still running at the deadline fails the test."""
    results = []
    for process in processes:
        try:
            output, _ = process.communicate(timeout=PROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            pytest.fail("a training process hung")
        results.append((process.returncode, output))
    return results


def metric_values(output: str) -> dict[str, float]:
    return {
        line.split(": ")[0]: float(line.split(": ")[1])
        for line in output.splitlines()
        if line.count(": ") == 1 and line.split(": ")[0] in ("accuracy", "roc_auc", "logloss", "f1")
    }


def holdout_auc(model_dir: Path, holdout: pd.DataFrame) -> float:
    probabilities = Model.load(model_dir).predict(holdout[FEATURES].to_numpy(np.float32))
    return binary_metrics(holdout[LABEL_COLUMN].to_numpy(), probabilities)["roc_auc"]


def test_two_hosts_train_one_model_as_good_as_one_host(
    tmp_path: Path, train_frame: pd.DataFrame, holdout_frame: pd.DataFrame
) -> None:
    trees = cluster_trees(tmp_path, [train_frame, train_frame], {"kfold_splits": "4"})
    (first, first_output), (second, second_output) = finish(start(trees))
    assert (first, second) == (0, 0), first_output + second_output

    # Only the first host writes the model and prints the metrics; both say they trained together.
    assert sorted(p.name for p in trees[0].model_dir.iterdir()) == [
        "columns.json",
        QUALITY_FILE,
        "model.json",
    ]
    assert not trees[1].model_dir.exists() or not any(trees[1].model_dir.iterdir())
    assert metric_values(first_output) and not metric_values(second_output)
    assert "rank 0 of 2" in first_output and "rank 1 of 2" in second_output
    # Each host trained on its half of the replicated channel; the totals are the channel's.
    assert f"train channel: {len(train_frame)} rows" in first_output
    assert f"{len(train_frame) // 2} rows on this host" in first_output

    single = make_ml_tree(tmp_path / "single", train_frame, {"kfold_splits": "4"})
    result = train(single, log=lambda _: None, nthread=1)
    distributed_auc = holdout_auc(trees[0].model_dir, holdout_frame)
    assert abs(distributed_auc - holdout_auc(single.model_dir, holdout_frame)) < 0.02
    # The cross-validated estimate means the same on both (pooled out-of-fold over every row); only the
    # folds differ, so the values are close, not equal.
    assert metric_values(first_output)["roc_auc"] == pytest.approx(result.metrics["roc_auc"], abs=0.03)


def test_metrics_cover_every_hosts_rows(
    tmp_path: Path, train_frame: pd.DataFrame, holdout_frame: pd.DataFrame
) -> None:
    """With a validation channel the printed metrics are the saved model's on ALL validation rows, not on the
    first host's share: three hosts with sharded train files, each also holding a third of the validation rows."""
    thirds = [train_frame.iloc[i::3] for i in range(3)]
    trees = cluster_trees(tmp_path, thirds, {"kfold_splits": "3"})
    validation_thirds = [holdout_frame.iloc[i::3] for i in range(3)]
    for paths, part in zip(trees, validation_thirds, strict=True):
        write_train_csv(part, paths.channel("validation") / "validation.csv")
        paths.input_data_config.write_text(
            json.dumps({name: {"S3DistributionType": "ShardedByS3Key"} for name in ("train", "validation")})
        )
    results = finish(start(trees))
    assert [status for status, _ in results] == [0, 0, 0], "".join(output for _, output in results)
    assert f"train channel: {len(train_frame)} rows" in results[0][1]

    model = Model.load(trees[0].model_dir)
    validation = pd.concat(validation_thirds)
    expected = binary_metrics(
        validation[LABEL_COLUMN].to_numpy(), model.predict(validation[FEATURES].to_numpy(np.float32))
    )
    printed = [line for line in results[0][1].splitlines() if line in metric_lines(expected)]
    assert len(printed) == len(metric_lines(expected))

    # The quality report is computed over every host's validation rows too, and only the first host writes it.
    document = json.loads((trees[0].model_dir / QUALITY_FILE).read_text())
    assert (document["mlops"]["evaluated_on"], document["mlops"]["rows"]) == ("validation", len(validation))
    predicted = model.predict(validation[FEATURES].to_numpy(np.float32)) >= 0.5
    counts = confusion_matrix(validation[LABEL_COLUMN].to_numpy(), predicted)
    assert document["binary_classification_metrics"]["confusion_matrix"] == {
        str(a): {str(p): int(counts[a][p]) for p in (0, 1)} for a in (0, 1)
    }
    assert document["binary_classification_metrics"]["auc"]["value"] == expected["roc_auc"]
    assert not any((paths.model_dir / QUALITY_FILE).exists() for paths in trees[1:])


def test_a_bad_channel_on_one_host_stops_every_host_with_its_message(
    tmp_path: Path, train_frame: pd.DataFrame
) -> None:
    trees = cluster_trees(tmp_path, [train_frame, train_frame], {"kfold_splits": "3"})
    (trees[1].channel("train") / "train.csv").write_text("EmployeeNumber,Attrition,Age\n1,2,30\n")
    results = finish(start(trees))
    for (status, output), paths in zip(results, trees, strict=True):
        assert status == 1, output
        failure = paths.failure_file.read_text()
        assert failure.startswith("train: host algo-2: ") and "labels must be 0 or 1" in failure


@pytest.mark.parametrize("victim", [1, 0], ids=["worker", "tracker host"])
def test_killing_one_host_fails_the_others_with_a_failure_file(
    tmp_path: Path, train_frame: pd.DataFrame, victim: int
) -> None:
    trees = cluster_trees(tmp_path, [train_frame, train_frame], SLOW)
    processes = start(trees)
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    # Wait until the victim has joined the group and started training, then SIGKILL it.
    seen = ""
    while "train channel:" not in seen:
        assert time.monotonic() < deadline and processes[victim].poll() is None, seen
        assert processes[victim].stdout is not None
        seen += processes[victim].stdout.readline()
    time.sleep(1)
    os.kill(processes[victim].pid, signal.SIGKILL)
    killed_at = time.monotonic()
    survivor = 1 - victim
    status, output = finish([processes[survivor]])[0]
    processes[victim].wait(timeout=10)
    assert status == 1, output
    assert time.monotonic() - killed_at < float(COLLECTIVE_TIMEOUT_S), "the survivor waited out the timeout"
    failure = trees[survivor].failure_file.read_text()
    assert failure.startswith("train: lost contact with another host while training"), failure
    assert not trees[survivor].model_dir.exists() or not any(trees[survivor].model_dir.iterdir())


def write_config(root: Path, document: object) -> MlPaths:
    paths = MlPaths(root)
    paths.resource_config.parent.mkdir(parents=True, exist_ok=True)
    paths.resource_config.write_text(json.dumps(document))
    return paths


def test_resource_config_is_read_and_checked(tmp_path: Path) -> None:
    assert load_cluster(MlPaths(tmp_path / "none")) is None
    assert (
        load_cluster(write_config(tmp_path / "one", {"hosts": ["algo-1"], "current_host": "algo-1"})) is None
    )
    two = write_config(tmp_path / "two", {"hosts": ["algo-1", "algo-2"], "current_host": "algo-2"})
    cluster = load_cluster(two, {"MLOPS_HOST_ADDRESS": "127.0.0.1"})
    assert cluster is not None
    assert (cluster.rank, cluster.size, cluster.port, cluster.tracker_address) == (1, 2, 9099, "127.0.0.1")
    stranger = write_config(tmp_path / "bad", {"hosts": ["algo-1", "algo-2"], "current_host": "algo-9"})
    with pytest.raises(JobError, match="current_host 'algo-9' is not in hosts"):
        load_cluster(stranger, {"MLOPS_HOST_ADDRESS": "127.0.0.1"})
    with pytest.raises(JobError, match="MLOPS_TRACKER_PORT='x'"):
        load_cluster(two, {"MLOPS_HOST_ADDRESS": "127.0.0.1", "MLOPS_TRACKER_PORT": "x"})


def test_a_single_host_group_changes_nothing(train_frame: pd.DataFrame) -> None:
    group = Group()
    values = np.arange(5, dtype=np.float32)
    assert group.gather(values) is values and group.total([3, 4]) == [3, 4]
    assert (group.rank, group.size, group.writes_model) == (0, 1, True)
