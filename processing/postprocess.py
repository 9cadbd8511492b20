#!/usr/bin/env python3
"""PostProcessing job: the Inference job's `<id>,<probability>` files in, one id-keyed table and a report out.

Inference writes one headerless file per scored file, each line an id and that row's probability. This job
joins them into `predictions.csv`: one row per id, with a header, the probability and the label it implies at
`--threshold`. It refuses ids that occur twice, since a table keyed by id could not say which prediction
holds. It also writes a short summary, `report.json` and `report.md`: rows per file, how many are predicted
positive and at what rate, and the probability's distribution (mean and quantiles).

Runs on the SageMaker scikit-learn image (Python 3.9, pandas 1.1), so it keeps to APIs that versions have.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import processing_job as job

ID_COLUMN = "EmployeeNumber"
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
PREDICTIONS_FILE = "predictions.csv"
REPORT_JSON = "report.json"
REPORT_MARKDOWN = "report.md"
_EXAMPLES = 5


def read_predictions(input_dir: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every prediction file under `input_dir`, in file order: columns `id` (text) and `probability`."""
    frames = []
    counts: dict[str, int] = {}
    for path in job.csv_files(input_dir):
        relative = str(path.relative_to(input_dir))
        frame = _read_file(path, relative)
        counts[relative] = len(frame)
        frames.append(frame)
    predictions = pd.concat(frames, ignore_index=True)
    repeated = predictions.loc[predictions["id"].duplicated(), "id"].unique()
    if len(repeated):
        raise job.JobError(
            f"ids must be unique across the prediction files; {len(repeated)} repeat, e.g. "
            f"{list(repeated[:_EXAMPLES])}"
        )
    return predictions, counts


def _read_file(path: Path, relative: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, header=None, dtype=str)
    except pd.errors.EmptyDataError:
        raise job.JobError(f"{relative} is empty") from None
    except pd.errors.ParserError as error:
        raise job.JobError(f"{relative} is not <id>,<probability> lines: {error}") from None
    except UnicodeDecodeError:
        raise job.JobError(f"{relative} is not UTF-8 text") from None
    if frame.shape[1] != 2:
        raise job.JobError(f"{relative} has {frame.shape[1]} columns; expected <id>,<probability> lines")
    frame.columns = ["id", "probability"]
    # Python's own parser: exact on every pandas version (pandas 1.1's fast parser is off in the last digit).
    probability = frame["probability"].map(_number)
    bad = probability.isna() | (probability < 0) | (probability > 1) | frame["id"].isna()
    if bad.any():
        lines = (frame.index[bad] + 1).tolist()
        raise job.JobError(
            f"{relative}: {int(bad.sum())} line(s) are not an id and a probability from 0 to 1, e.g. line(s) "
            f"{lines[:_EXAMPLES]}"
        )
    frame["probability"] = probability
    return frame


def _number(text: object) -> float:
    try:
        return float(text)  # type: ignore[arg-type]  # a str or NaN, as read_csv gives them
    except (TypeError, ValueError):
        return math.nan


def summarize(predictions: pd.DataFrame, counts: dict[str, int], threshold: float) -> dict[str, Any]:
    """The report: rows (per file and in all), predicted positives at `threshold`, the probability's spread."""
    probability = predictions["probability"]
    positives = int((probability >= threshold).sum())
    quantiles = probability.quantile(list(QUANTILES))
    return {
        "rows": len(predictions),
        "files": counts,
        "threshold": threshold,
        "predicted_positive": positives,
        "positive_rate": positives / len(predictions),
        "probability": {
            "mean": float(probability.mean()),
            "min": float(probability.min()),
            **{f"p{round(q * 100)}": float(quantiles.loc[q]) for q in QUANTILES},
            "max": float(probability.max()),
        },
    }


def markdown_report(summary: dict[str, Any], id_column: str) -> str:
    """The report as a short Markdown page."""
    spread = summary["probability"]
    lines = [
        "# Prediction report",
        "",
        f"- Rows scored: {summary['rows']} ({id_column} values, each once)",
        f"- Predicted positive (probability >= {summary['threshold']:g}): {summary['predicted_positive']} "
        f"({summary['positive_rate']:.1%})",
        "",
        "| File | Rows |",
        "|---|---:|",
        *(f"| {name} | {rows} |" for name, rows in summary["files"].items()),
        "",
        "| Probability | Value |",
        "|---|---:|",
        *(f"| {name} | {value:.4f} |" for name, value in spread.items()),
        "",
    ]
    return "\n".join(lines)


def postprocess(
    input_dir: Path, output_dir: Path, threshold: float, id_column: str = ID_COLUMN
) -> dict[str, Any]:
    """Join the prediction files into one table and write it with the report; return the report."""
    if not 0 < threshold < 1 or math.isnan(threshold):
        raise job.JobError(f"--threshold must be between 0 and 1 (got {threshold})")
    predictions, counts = read_predictions(input_dir)
    summary = summarize(predictions, counts, threshold)
    table = pd.DataFrame(
        {
            id_column: predictions["id"],
            "probability": predictions["probability"],
            "predicted_label": (predictions["probability"] >= threshold).astype(int),
        }
    )
    with job.staged_output(output_dir) as staging:
        table.to_csv(staging / PREDICTIONS_FILE, index=False)
        (staging / REPORT_JSON).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (staging / REPORT_MARKDOWN).write_text(markdown_report(summary, id_column), encoding="utf-8")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `postprocess.py [--input DIR] [--output DIR] [--threshold P] [--id-column NAME]`."""
    parser = argparse.ArgumentParser(prog="postprocess.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=job.processing_dir("input"), help="prediction files")
    parser.add_argument("--output", type=Path, default=job.processing_dir("output"), help="table and report")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability counted as positive")
    parser.add_argument("--id-column", default=ID_COLUMN, help=f"the id column's name (default {ID_COLUMN})")
    args = parser.parse_args(argv)

    def work() -> str:
        summary = postprocess(args.input, args.output, args.threshold, args.id_column)
        return (
            f"{summary['rows']} predictions, {summary['predicted_positive']} positive "
            f"({summary['positive_rate']:.1%}); wrote {PREDICTIONS_FILE}, {REPORT_JSON}, {REPORT_MARKDOWN}"
        )

    return job.run(work, "postprocess")


if __name__ == "__main__":
    sys.exit(main())
