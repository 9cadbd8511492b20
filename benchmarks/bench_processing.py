"""Benchmark: the processing pipeline's scripts on large inputs, each against the work it cannot avoid.

- preprocess.py on a file of 250,000 generated raw rows, against the ETL's own scoring-only run
  (`transform.run_local`) of the same file: the script adds file discovery, staging and the rename, so the
  ratio shows what that costs on top of the transform it reuses.
- postprocess.py on 1,000,000 `<id>,<probability>` lines in 4 files, against reading the same files with pandas
  and writing them back as one CSV with no checks: the ratio is the price of validating every line (exact
  parsing, range and id checks), the label column and the report.

Each is the best of 5 runs in this process, on the same files. Targets: preprocess at most 1.25x the ETL's run;
postprocess at least 250,000 lines/s and at most 3.5x the bare read and write. Prints one JSON line and one line
for people; exits 1 when a target is missed.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_component.tools.sample_data import write_sample_data

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "processing"), str(REPO / "etl")]

import postprocess  # noqa: E402
import preprocess  # noqa: E402
import transform  # noqa: E402

RAW_ROWS = 250_000
PREDICTION_LINES = 1_000_000
FILES = 4
RUNS = 5
TARGET_PREPROCESS_RATIO = 1.25
TARGET_POSTPROCESS_LINES_PER_S = 250_000
TARGET_POSTPROCESS_RATIO = 3.5


def best_of(runs: int, work: Callable[[int], object]) -> float:
    """The fastest of `runs` calls of `work(run)`, in seconds."""
    times = []
    for run in range(runs):
        started = time.perf_counter()
        work(run)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-processing-"))
    try:
        raw = write_sample_data(work / "raw", 1000, score_rows=RAW_ROWS, seed=1)
        landed = work / "landed"
        landed.mkdir()
        shutil.copyfile(raw.score, landed / "score.csv")
        schema = json.dumps(transform.schema_document(transform.FEATURES))

        etl = best_of(
            RUNS,
            lambda run: transform.run_local(
                str(work / f"etl-{run}"), None, str(raw.score), schema_text=schema
            ),
        )
        with contextlib.redirect_stdout(io.StringIO()):  # its progress lines, one per file
            pre = best_of(RUNS, lambda run: preprocess.preprocess(landed, work / f"pre-{run}"))

        predictions = work / "predictions"
        predictions.mkdir()
        probabilities = np.random.default_rng(0).beta(0.6, 2.5, PREDICTION_LINES)
        for index, part in enumerate(np.array_split(np.arange(PREDICTION_LINES), FILES)):
            lines = "".join(f"{row + 1},{probabilities[row]:.7g}\n" for row in part)
            (predictions / f"part-{index}.csv").write_text(lines)

        def bare(run: int) -> None:
            files = sorted(predictions.glob("*.csv"))
            joined = pd.concat([pd.read_csv(path, header=None, dtype={0: str}) for path in files])
            joined.to_csv(work / f"bare-{run}.csv", index=False)

        baseline = best_of(RUNS, bare)
        post = best_of(RUNS, lambda run: postprocess.postprocess(predictions, work / f"post-{run}", 0.5))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    figures = {
        "preprocess_rows": RAW_ROWS,
        "preprocess_s": round(pre, 3),
        "etl_scoring_run_s": round(etl, 3),
        "preprocess_ratio": round(pre / etl, 3),
        "postprocess_lines": PREDICTION_LINES,
        "postprocess_s": round(post, 3),
        "postprocess_lines_per_s": round(PREDICTION_LINES / post),
        "bare_read_write_s": round(baseline, 3),
        "postprocess_ratio": round(post / baseline, 3),
    }
    print(json.dumps(figures))
    print(
        f"preprocess: {RAW_ROWS:,} rows in {pre:.2f}s, {pre / etl:.2f}x the ETL's own run ({etl:.2f}s); "
        f"postprocess: {PREDICTION_LINES:,} lines in {post:.2f}s ({PREDICTION_LINES / post:,.0f} lines/s), "
        f"{post / baseline:.2f}x a bare pandas read and write ({baseline:.2f}s)"
    )
    missed = [
        name
        for name, ok in [
            ("preprocess ratio", pre / etl <= TARGET_PREPROCESS_RATIO),
            ("postprocess lines/s", PREDICTION_LINES / post >= TARGET_POSTPROCESS_LINES_PER_S),
            ("postprocess ratio", post / baseline <= TARGET_POSTPROCESS_RATIO),
        ]
        if not ok
    ]
    if missed:
        print(f"missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
