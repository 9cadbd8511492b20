#!/usr/bin/env python3
"""PreProcessing job: raw employee-attrition CSV files in, model-ready score files out.

Every `*.csv` under the input folder (the raw schema of docs/dataset.md, with or without the Attrition label)
is cleaned and encoded by the ETL's own transform (`transform.py`, uploaded next to this script), into the same
relative path under the output folder: the score layout the model reads, i.e. no header, the row id
(EmployeeNumber) first, then the 43 features. The Inference job's `batch-predict` reads exactly that.

The features are those the transform always trains on; a `columns.json` in the input folder (the training
run's `schema/columns.json` from the extracts store) selects the columns of that model instead. The outputs
appear together at the end; a bad file fails the job with a message naming the file and what is wrong in it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import processing_job as job
import transform

SCHEMA_FILE = "columns.json"


def feature_columns(input_dir: Path) -> list[str]:
    """The model's feature columns: `columns.json` in the input folder if there is one, else the transform's."""
    schema = input_dir / SCHEMA_FILE
    if not schema.is_file():
        return list(transform.FEATURES)
    try:
        return transform.features_from_schema(schema.read_bytes())
    except transform.TransformError as error:
        raise job.JobError(f"{SCHEMA_FILE}: {error}") from None


def preprocess(input_dir: Path, output_dir: Path) -> dict[str, int]:
    """Transform every raw CSV file under `input_dir` into `output_dir`; return the row count of each file."""
    sources = job.csv_files(input_dir)
    features = feature_columns(input_dir)
    counts: dict[str, int] = {}
    with job.staged_output(output_dir) as staging:
        for source in sources:
            relative = source.relative_to(input_dir)
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                counts[str(relative)] = transform.transform_file(str(source), str(target), "score", features)
            except transform.TransformError as error:
                raise job.JobError(f"{relative}: {error}") from None
            print(f"preprocess: {relative} rows={counts[str(relative)]}", flush=True)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `preprocess.py [--input DIR] [--output DIR]`."""
    parser = argparse.ArgumentParser(prog="preprocess.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=job.processing_dir("input"), help="raw CSV files")
    parser.add_argument("--output", type=Path, default=job.processing_dir("output"), help="score files")
    args = parser.parse_args(argv)

    def work() -> str:
        counts = preprocess(args.input, args.output)
        return f"wrote {sum(counts.values())} rows in {len(counts)} file(s) to {args.output}"

    return job.run(work, "preprocess")


if __name__ == "__main__":
    sys.exit(main())
