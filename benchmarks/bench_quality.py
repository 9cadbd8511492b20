"""The model quality report's share of a training run: what `model-quality.json` adds to `train`.

- `quality_share`: the median time to build and encode the report for the example's 1,470 out-of-fold
  predictions (curves, deviations over five 80% samples, feature importance), over the median time of the
  whole in-process `train` of the same data with default hyperparameters, which includes it (target <= 0.05).
- `quality_million_rows_s`: the same report for one million predictions (a large validation channel), next to
  `metrics_million_rows_s`, the printed metrics on the same rows, which `train` computes anyway.

The report module imports nothing `train` does not import already (numpy, json, xgboost), so it adds no
start-up time; tests/container/test_training.py checks the programs' imports.

Prints one JSON line, then one line per target saying met or missed.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "container")]

from xgb_model import metrics, quality  # noqa: E402
from xgb_model.training import train  # noqa: E402

from tests.container.conftest import make_ml_tree  # noqa: E402
from tests.container.synthetic import make_frame  # noqa: E402

TRAIN_ROWS = 1470
ROUNDS = 5
SHARE_TARGET = 0.05


def median_seconds(step: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as folder:
        paths = make_ml_tree(Path(folder) / "ml", make_frame(TRAIN_ROWS, seed=0), {})
        result = train(paths, log=lambda _: None, nthread=1)  # warm-up, and the booster for the report
        train_s = median_seconds(lambda: train(paths, log=lambda _: None, nthread=1))
    rng = np.random.default_rng(0)
    names = list(result.booster.feature_names or [])

    def report_for(rows: int) -> Callable[[], bytes]:
        labels = (rng.random(rows) < 0.16).astype(np.int8)
        scores = np.clip(labels * 0.3 + rng.random(rows) * 0.7, 0, 1).astype(np.float32)
        return lambda: quality.encode(
            quality.report(
                labels, scores, evaluated_on="validation", booster=result.booster, feature_names=names
            )
        )

    example_s = median_seconds(report_for(TRAIN_ROWS))
    million_s = median_seconds(report_for(1_000_000), rounds=3)
    labels = (rng.random(1_000_000) < 0.16).astype(np.int8)
    scores = rng.random(1_000_000).astype(np.float32)
    metrics_s = median_seconds(lambda: metrics.binary_metrics(labels, scores), rounds=3)
    figures = {
        "benchmark": "quality",
        "train_rows": TRAIN_ROWS,
        "train_s": round(train_s, 4),
        "quality_example_s": round(example_s, 4),
        "quality_share": round(example_s / train_s, 4),
        "quality_million_rows_s": round(million_s, 3),
        "metrics_million_rows_s": round(metrics_s, 3),
    }
    print(json.dumps(figures))
    share = figures["quality_share"]
    print(
        f"target quality_share <= {SHARE_TARGET}: {'met' if share <= SHARE_TARGET else 'MISSED'} "
        f"({example_s * 1000:.1f} ms of a {train_s:.3f} s train)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
