"""The example notebooks the notebook's project starts with, as pure builders of nbformat 4 documents.

Each notebook is a few cells calling `src/pipeline.py` (the project's tested module), so the notebooks stay
short and the logic stays in code that is linted and tested. The Glue interactive sessions notebook runs on a
remote Spark session that cannot read the notebook's files, so the stack's names are written into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Notebook = dict[str, Any]

# The kernel SageMaker notebook instances offer for Python with boto3, pandas and numpy.
PYTHON_KERNEL = {"name": "conda_python3", "display_name": "conda_python3", "language": "python"}
# The kernel aws-glue-sessions installs (bin/install-glue-kernels.sh).
GLUE_KERNEL = {"name": "glue_pyspark", "display_name": "Glue PySpark", "language": "python"}
# Glue's current release for interactive sessions; the notebook's %glue_version magic sets it per session.
GLUE_VERSION = "5.0"
SANDBOX_EXAMPLE = "attrition-by-department/"

_SETUP = """import sys

sys.path.insert(0, "..")  # the project folder, so that `src` imports
from src import pipeline

stack = pipeline.Stack.load()"""


@dataclass(frozen=True)
class ExampleOptions:
    """What the deployed stack offers, which decides the notebooks and their cells."""

    batch: bool
    glue_sessions: bool
    database_name: str
    feature_bucket: str
    sandbox_prefix: str


def notebook(cells: list[tuple[str, str]], *, kernel: dict[str, str] = PYTHON_KERNEL) -> Notebook:
    """An nbformat 4.5 notebook from `(cell type, source)` pairs, with stable cell ids and no outputs."""
    built: list[dict[str, Any]] = []
    for number, (kind, source) in enumerate(cells, start=1):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{number}", "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        built.append(cell)
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": dict(kernel), "language_info": {"name": "python"}},
        "cells": built,
    }


def land_data(options: ExampleOptions) -> Notebook:
    """01: land data in the feature store, which starts a run."""
    cells = [
        (
            "markdown",
            "# Land data\n\nThe pipeline starts when data lands in the feature store: `train.csv` under "
            "`data/train/`"
            + (
                ", and `score.csv` under `data/score/` (a run waits until both are there)."
                if options.batch
                else "."
            )
            + "\nPut your files in `../data/raw/` first (the folder stays out of git).",
        ),
        ("code", _SETUP + '\n\nstack.bucket("feature_store")'),
        ("code", 'pipeline.land_data("../data/raw/train.csv", kind="train")'),
    ]
    if options.batch:
        cells.append(("code", 'pipeline.land_data("../data/raw/score.csv", kind="score")'))
    cells.append(
        (
            "markdown",
            "Data written under `data/` always starts a run. For scratch files, use the `sandbox/` prefix, which "
            "nothing watches.",
        )
    )
    return notebook(cells)


def start_run(options: ExampleOptions) -> Notebook:
    """02: start the training workflow explicitly and wait for it."""
    return notebook(
        [
            (
                "markdown",
                "# Start a run\n\nLanding data starts a run by itself. To rerun on data that is already there, "
                "start the training workflow on the latest landed files, then follow it.",
            ),
            ("code", _SETUP),
            ("code", "execution_arn = pipeline.start_run()\nexecution_arn"),
            ("code", "pipeline.run_status(execution_arn)"),
            (
                "code",
                "# ETL, tuning and "
                + ("batch inference" if options.batch else "the endpoint update")
                + " take a while; this polls every minute.\npipeline.wait_for_run(execution_arn, poll_seconds=60)",
            ),
        ]
    )


def read_metrics(options: ExampleOptions) -> Notebook:
    """03: the runs' recorded metrics."""
    return notebook(
        [
            (
                "markdown",
                "# Read the metrics\n\nEach run records its best model, objective and metrics in the metadata store.",
            ),
            ("code", _SETUP),
            (
                "code",
                'record = pipeline.read_metrics()  # the latest run; pass a run name for another\n{key: record.get(key) for key in ("run", "objective", "metrics", "model_data_url")}',
            ),
            (
                "code",
                "import pandas as pd\n\n"
                "runs = [pipeline.read_metrics(run) for run in pipeline.run_records()]\n"
                'pd.DataFrame([{"run": r["run"], **(r.get("metrics") or {})} for r in runs]).set_index("run")',
            ),
        ]
    )


def call_endpoint(options: ExampleOptions) -> Notebook:
    """04 (endpoint mode): score training rows with the endpoint and compare with their labels."""
    return notebook(
        [
            (
                "markdown",
                "# Call the endpoint\n\nThe endpoint takes the ETL's feature rows as CSV. This scores the first rows "
                "of the training extract and puts the probabilities next to the true labels.",
            ),
            ("code", _SETUP),
            (
                "code",
                "labels, rows = pipeline.labelled_examples(10)\n"
                "probabilities = pipeline.call_endpoint(rows)\n"
                "list(zip(labels, probabilities))",
            ),
        ]
    )


def read_predictions(options: ExampleOptions) -> Notebook:
    """04 (batch mode): the latest batch run's predictions."""
    return notebook(
        [
            (
                "markdown",
                "# Read the predictions\n\nA batch run writes one `<id>,<probability>` line per scored row to the "
                "output store, which the pipeline also catalogs for Athena.",
            ),
            ("code", _SETUP),
            (
                "code",
                "import pandas as pd\n\n"
                'predictions = pd.DataFrame(pipeline.read_predictions(), columns=["id", "probability"])\n'
                'predictions.sort_values("probability", ascending=False).head(20)',
            ),
        ]
    )


def explore_lake(options: ExampleOptions) -> Notebook:
    """05: crawl the feature store and query it with Athena."""
    return notebook(
        [
            (
                "markdown",
                f"# Explore the data lake\n\nA Glue crawler catalogs the feature store's data in the `{options.database_name}` "
                "database (tables `features_train` and `features_score`), so Athena can query it. Re-crawl after "
                "landing files with new columns. Athena bills per data scanned.",
            ),
            ("code", _SETUP),
            ("code", "pipeline.crawl_lake()  # waits for the crawler, a minute or two"),
            (
                "code",
                "import pandas as pd\n\n"
                'rows = pipeline.query("SELECT attrition, COUNT(*) AS employees FROM features_train GROUP BY attrition")\n'
                "pd.DataFrame(rows)",
            ),
        ]
    )


def glue_session(options: ExampleOptions) -> Notebook:
    """06 (interactive sessions enabled): the seed's dev-endpoint walk-through on a Glue interactive session."""
    sandbox = f"s3://{options.feature_bucket}/{options.sandbox_prefix}{SANDBOX_EXAMPLE}"
    return notebook(
        [
            (
                "markdown",
                "# Glue interactive session\n\nGlue dev endpoints are retired; interactive sessions replace them. "
                "This kernel (Glue PySpark) runs each cell on a serverless Spark session with the `awsglue` "
                "library, billed per DPU-hour while the session lives. The first cell sets the session up; "
                "the last one stops it.",
            ),
            (
                "code",
                f"%idle_timeout 30\n%glue_version {GLUE_VERSION}\n%worker_type G.1X\n%number_of_workers 2",
            ),
            (
                "code",
                "from awsglue.context import GlueContext\nfrom pyspark.context import SparkContext\n\n"
                "glue_context = GlueContext(SparkContext.getOrCreate())",
            ),
            (
                "code",
                "train = glue_context.create_dynamic_frame.from_catalog(\n"
                f'    database="{options.database_name}", table_name="features_train"\n)\n'
                'print("rows:", train.count())\ntrain.printSchema()',
            ),
            (
                "code",
                "# Derived data goes to the sandbox prefix. Never write under data/: that starts a pipeline run.\n"
                'by_department = train.toDF().groupBy("department", "attrition").count()\n'
                f'by_department.write.mode("overwrite").parquet("{sandbox}")\n'
                "by_department.show()",
            ),
            ("code", "%stop_session"),
        ],
        kernel=GLUE_KERNEL,
    )


# File name, builder, and which stacks get it: (batch mode, Glue interactive sessions) -> bool.
_EXAMPLES: list[tuple[str, Any, Any]] = [
    ("01-land-data.ipynb", land_data, lambda batch, sessions: True),
    ("02-start-a-run.ipynb", start_run, lambda batch, sessions: True),
    ("03-read-metrics.ipynb", read_metrics, lambda batch, sessions: True),
    ("04-read-predictions.ipynb", read_predictions, lambda batch, sessions: batch),
    ("04-call-the-endpoint.ipynb", call_endpoint, lambda batch, sessions: not batch),
    ("05-explore-the-lake.ipynb", explore_lake, lambda batch, sessions: True),
    ("06-glue-interactive-session.ipynb", glue_session, lambda batch, sessions: sessions),
]


def notebook_names(*, batch: bool, glue_sessions: bool) -> list[str]:
    """The example notebooks' file names for a stack; known before any resource exists."""
    return [name for name, _, wanted in _EXAMPLES if wanted(batch, glue_sessions)]


def example_notebooks(options: ExampleOptions) -> dict[str, Notebook]:
    """The project's `notebooks/` folder: file name to notebook, for this stack's inference mode and options."""
    return {
        name: build(options)
        for name, build, wanted in _EXAMPLES
        if wanted(options.batch, options.glue_sessions)
    }
