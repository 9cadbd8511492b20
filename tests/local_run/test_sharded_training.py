"""`mlops local-run` with several training instances on sharded train data, end to end.

The ETL writes one train part per instance (`--train_parts`), the tuning job's train channel is
ShardedByS3Key, and each trial's host processes get their own parts, with an `inputdataconfig.json` that says
so, as on SageMaker. The model they train together must be as good as one host's on the same rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from mlops_component.tools.local_run.tuning import shard
from tests.local_run.conftest import SMALL, Run, local_run, write_stack

pytestmark = pytest.mark.slow
ROWS = "1200"
STACK = {
    **SMALL,
    "mlops:maxNumberTrainingJobs": 1,
    "mlops:maxParallelTrainingJobs": 1,
    "mlops:useValidationChannel": True,
    "mlops:inferenceComparisonOperator": "NumericGreaterThanEquals",
    "mlops:inferenceMetricThreshold": 0,
}
# Same rows, same hyperparameters, same held-out rows: what the two models may differ by. XGBoost merges the
# hosts' quantile sketches, so split points differ slightly from one host's. Measured here (1,200 rows, 240
# held out): ROC AUC 0.8901 vs 0.8877, accuracy 0.8708 vs 0.8917 (5 of 240 rows), mean |probability
# difference| on the scoring rows 0.023.
TOLERANCE = {"roc_auc": 0.02, "accuracy": 0.05, "probability": 0.05}


def _run(folder: Path, **settings: Any) -> Run:
    folder.mkdir()
    stack = write_stack(folder, {**STACK, **{f"mlops:{k}": v for k, v in settings.items()}})
    run = local_run(folder, "--stack-file", str(stack), "--rows", ROWS)
    assert run.status == 0, run.stdout + run.stderr
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    """One host and one transform instance; two hosts and three transform instances; the same data."""
    folder = tmp_path_factory.mktemp("sharded")
    single = _run(folder / "one")
    sharded = _run(folder / "two", trainingJobInstanceCount=2, batchTransformInstanceCount=3)
    return single, sharded


def _predictions(run: Run) -> dict[str, float]:
    with (run.out / "predictions.csv").open(newline="") as handle:
        return {row["EmployeeNumber"]: float(row["probability"]) for row in csv.DictReader(handle)}


def test_each_host_trains_on_its_own_train_part(runs: tuple[Run, Run]) -> None:
    _, run = runs
    summary = run.summary
    extracts = run.out / "s3" / summary["stores"]["extracts"]
    assert sorted(p.name for p in (extracts / "train").iterdir()) == ["part-00000.csv", "part-00001.csv"]
    parts = [(extracts / "train" / f"part-0000{n}.csv").read_text().splitlines() for n in range(2)]
    assert "train ShardedByS3Key: 2 objects dealt to them" in run.stdout
    trial = summary["trials"][0]
    assert trial["hosts"] == 2
    first = Path(trial["folder"])
    for rank, host in enumerate([first, first / "hosts" / "algo-2"]):
        data = host / "input" / "data"
        assert [p.name for p in (data / "train").iterdir()] == [f"part-0000{rank}.csv"]
        assert (data / "train" / f"part-0000{rank}.csv").read_text().splitlines() == parts[rank]
        assert [p.name for p in (data / "validation").iterdir()] == ["validation.csv"]  # replicated
        config = json.loads((host / "input" / "config" / "inputdataconfig.json").read_text())
        assert config == {
            "train": {
                "ContentType": "text/csv",
                "RecordWrapperType": "None",
                "S3DistributionType": "ShardedByS3Key",
                "TrainingInputMode": "File",
            },
            "validation": {
                "ContentType": "text/csv",
                "RecordWrapperType": "None",
                "S3DistributionType": "FullyReplicated",
                "TrainingInputMode": "File",
            },
        }
        # The container saw its part's rows as its share of the train channel.
        assert f"; {len(parts[rank]) - 1} rows on this host" in (host / "train.log").read_text()
    total = sum(len(part) - 1 for part in parts)
    assert f"train channel: {total} rows," in (first / "train.log").read_text()


def test_two_hosts_on_sharded_parts_train_a_model_as_good_as_one_host(runs: tuple[Run, Run]) -> None:
    single, sharded = runs
    one, two = single.summary["trials"][0], sharded.summary["trials"][0]
    assert (one["hosts"], two["hosts"]) == (1, 2)
    assert one["hyperparameters"] == two["hyperparameters"]  # the seeded sampler's first trial, both times
    # Both report on the same validation holdout (it does not depend on the parts), over every host's rows.
    for metric in ("roc_auc", "accuracy"):
        assert abs(one["metrics"][metric] - two["metrics"][metric]) <= TOLERANCE[metric], (metric, one, two)
    assert two["metrics"]["roc_auc"] > 0.6  # a model, not a coin
    # And on the scoring rows: the two models' probabilities agree row by row.
    first, second = _predictions(single), _predictions(sharded)
    assert first.keys() == second.keys()
    assert sum(abs(first[k] - second[k]) for k in first) / len(first) <= TOLERANCE["probability"]


def test_two_training_and_three_transform_instances_score_every_row_once(runs: tuple[Run, Run]) -> None:
    _, run = runs
    summary = run.summary
    assert summary["status"] == "succeeded"
    assert (summary["inference"]["instances"], summary["inference"]["input_files"]) == (3, 3)
    predictions = run.csv_rows("predictions.csv")
    scoring = run.csv_rows("data/score.csv")
    id_column = scoring[0].index("EmployeeNumber")
    assert [row[0] for row in predictions[1:]] == [row[id_column] for row in scoring[1:]]


def test_sharded_objects_are_dealt_in_key_order_one_each_when_counts_match() -> None:
    keys = [f"part-{n:05d}.csv" for n in range(5)]
    assert [shard(keys, rank, 5) for rank in range(5)] == [[key] for key in keys]
    assert [shard(keys, rank, 2) for rank in range(2)] == [keys[0::2], keys[1::2]]
    assert shard(keys[:1], 1, 2) == []  # fewer objects than hosts: a host gets none, as AWS documents
