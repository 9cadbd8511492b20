"""`mlops local-run` with the Spark flag runs etl/spark_transform.py on a local Spark, and predicts exactly what
the Python shell path predicts on the same data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.local_run.conftest import ROWS, SMALL, local_run, write_stack

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow


def test_spark_flag_runs_the_spark_transform_with_the_same_predictions(tmp_path: Path) -> None:
    runs = {}
    for spark in (False, True):
        folder = tmp_path / ("spark" if spark else "shell")
        folder.mkdir()
        stack = write_stack(
            folder,
            {
                **SMALL,
                "mlops:maxNumberTrainingJobs": 1,
                "mlops:maxParallelTrainingJobs": 1,
                "mlops:glueJobSparkFlag": spark,
            },
        )
        runs[spark] = local_run(folder, "--stack-file", str(stack), "--rows", ROWS)
        assert runs[spark].status == 0, runs[spark].stderr
    log = (runs[True].out / "logs" / "etl.log").read_text()
    assert "Spark 3.5.4 on local" in log
    assert "Spark" not in (runs[False].out / "logs" / "etl.log").read_text()
    extracts = "s3/local-test-extracts-123456789012-us-east-1"
    for run in runs.values():
        assert (run.out / extracts / "train" / "train.csv").is_file()
    for key in ("train/train.csv", "score/score.csv", "schema/columns.json"):
        assert (runs[True].out / extracts / key).read_bytes() == (
            runs[False].out / extracts / key
        ).read_bytes()
    predictions = [run.csv_rows("predictions.csv") for run in runs.values()]
    assert len(predictions[1]) == len(runs[True].csv_rows("data/score.csv"))
    assert predictions[1] == predictions[0]
