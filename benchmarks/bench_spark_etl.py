"""Benchmark: the Spark ETL (etl/spark_transform.py) in local mode on 1.25M rows, against the Python shell script.

Generates 1,000,000 training rows and 250,000 scoring rows with `mlops_component.tools.sample_data`, then runs,
each in a fresh child process on the same files:

- the Python shell script's whole job on local files (`transform.run_local`), pinned to one core, as Glue's
  Python shell job runs it;
- the Spark transform (check every rule, transform, stream the extract to a local file) on `local[1]` and on
  `local[2]`: Spark's start-up is timed apart from the transform, since a Glue job pays it once per run.

Reports rows/s of each, the Spark transform's speed-up from one to two local cores, and whether the Spark
extracts are byte for byte the Python shell script's. There is no speed target: on one machine the Spark engine
is expected to be slower than the single-process script (it parses every field as text and checks every rule in
a pass of its own); what it buys is spreading the work over Glue workers, which a local run cannot show.
Prints one JSON line and one line for people; exits 1 only when the extracts differ.
"""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_etl import run_transform  # the Python shell script's child: one core, its whole job

from mlops_component.tools.sample_data import write_sample_data

REPO = Path(__file__).resolve().parent.parent
TRAIN_ROWS = 1_000_000
SCORE_ROWS = 250_000

SPARK_CHILD = """
import json, os, sys, time
sys.path.insert(0, {etl!r})
started = time.perf_counter()
import spark_transform as st
spark = (
    st.SparkSession.builder.master({master!r}).config("spark.ui.enabled", "false")
    .config("spark.driver.memory", "2g").config("spark.sql.shuffle.partitions", "8")
    .config("spark.sql.files.maxPartitionBytes", str(32 << 20)).getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
startup = time.perf_counter() - started
started = time.perf_counter()
os.makedirs({out!r}, exist_ok=True)
for kind, source in (("train", {train!r}), ("score", {score!r})):
    destination = os.path.join({out!r}, kind, kind + ".csv")
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    st.transform_to_file(spark, source, source, destination, kind, list(st.transform.FEATURES), "byo")
print(json.dumps({{"seconds": time.perf_counter() - started, "startup_seconds": startup}}))
"""


def child(program: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    return {k: float(v) for k, v in json.loads(result.stdout.strip().splitlines()[-1]).items()}


def same_extracts(first: Path, second: Path) -> bool:
    keys = ("train/train.csv", "score/score.csv")
    return all(filecmp.cmp(first / key, second / key, shallow=False) for key in keys)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-spark-etl-") as work:
        folder = Path(work)
        files = write_sample_data(folder / "raw", TRAIN_ROWS, score_rows=SCORE_ROWS, seed=1)
        rows = files.train_rows + files.score_rows
        paths = {"etl": str(REPO / "etl"), "train": str(files.train), "score": str(files.score)}
        shell_seconds, _ = run_transform(files.train, files.score, folder / "shell")
        spark = {
            cores: child(
                SPARK_CHILD.format(master=f"local[{cores}]", out=str(folder / f"spark{cores}"), **paths)
            )
            for cores in (1, 2)
        }
        identical = all(same_extracts(folder / "shell", folder / f"spark{cores}") for cores in spark)

    shell_rate = rows / shell_seconds
    rates = {cores: rows / figures["seconds"] for cores, figures in spark.items()}
    print(
        json.dumps(
            {
                "benchmark": "spark_etl_local",
                "rows": rows,
                "train_rows": files.train_rows,
                "score_rows": files.score_rows,
                "machine_cores": len(os.sched_getaffinity(0)),
                "python_shell_rows_per_s": round(shell_rate),
                "python_shell_seconds": round(shell_seconds, 2),
                "spark_local1_rows_per_s": round(rates[1]),
                "spark_local1_seconds": round(spark[1]["seconds"], 2),
                "spark_local2_rows_per_s": round(rates[2]),
                "spark_local2_seconds": round(spark[2]["seconds"], 2),
                "spark_startup_seconds": round(max(f["startup_seconds"] for f in spark.values()), 2),
                "speedup_local2_vs_local1": round(rates[2] / rates[1], 2),
                "ratio_spark_local2_vs_python_shell": round(rates[2] / shell_rate, 2),
                "baseline": "etl/transform.py run_local on one core, same files, same run",
                "extracts_identical": identical,
            }
        )
    )
    print(
        f"Spark ETL, {rows:,} rows in local mode: {rates[1]:,.0f} rows/s on 1 core, {rates[2]:,.0f} rows/s on 2 "
        f"({rates[2] / rates[1]:.2f}x); the Python shell script: {shell_rate:,.0f} rows/s on 1 core. Extracts "
        f"{'identical' if identical else 'DIFFER'}."
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
