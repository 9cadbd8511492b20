"""The model quality report `train` writes beside the model: `model-quality.json`.

Its shape is SageMaker Model Monitor's model quality statistics for a binary classifier (`version`,
`dataset.item_count`, `binary_classification_metrics`), so the model registry can reference it as a model
package's `ModelMetrics.ModelQuality.Statistics` and the console draws it; an `mlops` key adds what the
format has no place for: what the model was evaluated on, the decision threshold and the feature importance.

The predictions are the ones behind the printed metrics (see `training`): the validation channel's when there
is one, else the pooled out-of-fold predictions of the cross-validation, so the report's accuracy, precision,
recall, f1 and auc are the printed values. On several hosts they are every host's rows, gathered.

Everything is computed with numpy (no scikit-learn in the image; tests compare with it):
- the ROC curve is scikit-learn's `roc_curve(drop_intermediate=False)` and the precision-recall curve
  `precision_recall_curve`'s, reversed so that recall rises (its first point is (recall 0, precision 1));
  each is thinned to at most `MAX_CURVE_POINTS` points, always keeping both ends. A rate whose denominator
  is 0 (a class with no rows) is 0, so the file holds no NaN.
- a metric's `standard_deviation` is Model Monitor's: with at least `STD_MIN_ROWS` rows, the standard
  deviation of the metric over `STD_SAMPLES` random samples of 80% of the rows (seeded, so a run is
  repeatable); below that, the string "NaN" as Model Monitor writes it.
- the confusion matrix is `{actual: {predicted: count}}` at `metrics.DECISION_THRESHOLD`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xgb_model import metrics

if TYPE_CHECKING:  # the booster is only passed through: importing this module must not load XGBoost
    from xgb_model.xgboost_runtime import xgboost as xgb

QUALITY_FILE = "model-quality.json"
MAX_CURVE_POINTS = 200
STD_MIN_ROWS = 200
STD_SAMPLES = 5
STD_FRACTION = 0.8
NO_DEVIATION = "NaN"
# The report's metric names (Model Monitor's) and the printed metrics they are.
_REPORTED = {
    "recall": "recall",
    "precision": "precision",
    "accuracy": "accuracy",
    "f1": "f1",
    "auc": "roc_auc",
}


def report(
    labels: np.ndarray,
    probabilities: np.ndarray,
    *,
    evaluated_on: str,
    booster: xgb.Booster,
    feature_names: Sequence[str],
    seed: int = 0,
) -> dict[str, Any]:
    """The model quality document for 0/1 `labels` and predicted probabilities of class 1."""
    y_true = np.asarray(labels, dtype=np.int8)
    y_prob = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    values = metrics.binary_metrics(y_true, y_prob)
    deviations = _deviations(y_true, y_prob, seed)
    false_positive_rates, true_positive_rates = roc_curve(y_true, y_prob)
    precisions, recalls = precision_recall_curve(y_true, y_prob)
    binary: dict[str, Any] = {"confusion_matrix": confusion_matrix(y_true, y_prob)}
    for name, printed in _REPORTED.items():
        binary[name] = {"value": values[printed], "standard_deviation": deviations.get(printed, NO_DEVIATION)}
    binary["receiver_operating_characteristic_curve"] = {
        "false_positive_rates": _thin(false_positive_rates),
        "true_positive_rates": _thin(true_positive_rates),
    }
    binary["precision_recall_curve"] = {"precisions": _thin(precisions), "recalls": _thin(recalls)}
    return {
        "version": 0.0,
        "dataset": {"item_count": int(y_true.size)},
        "binary_classification_metrics": binary,
        "mlops": {
            "evaluated_on": evaluated_on,
            "rows": int(y_true.size),
            "threshold": metrics.DECISION_THRESHOLD,
            "feature_importance": feature_importance(booster, feature_names),
        },
    }


def encode(document: dict[str, Any]) -> bytes:
    """The document as the file's bytes; a NaN or infinity is a bug, never a file JSON readers reject."""
    return (json.dumps(document, indent=1, allow_nan=False) + "\n").encode("utf-8")


def confusion_matrix(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, dict[str, int]]:
    """Counts of rows by actual class, then predicted class at the decision threshold."""
    predicted = (probabilities >= metrics.DECISION_THRESHOLD).astype(np.int8)
    counts = np.bincount(2 * labels.astype(np.int64) + predicted, minlength=4)
    return {str(a): {str(p): int(counts[2 * a + p]) for p in (0, 1)} for a in (0, 1)}


def _counts_at_thresholds(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positives, true positives) when predicting 1 at or above each distinct probability, from the
    highest down: scikit-learn's `_binary_clf_curve`."""
    order = np.argsort(probabilities, kind="mergesort")[::-1]
    ranked, hits = probabilities[order], labels[order].astype(np.int64)
    last_of_each = np.r_[np.flatnonzero(np.diff(ranked)), ranked.size - 1]
    true_positives = np.cumsum(hits)[last_of_each]
    return 1 + last_of_each - true_positives, true_positives


def roc_curve(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) at every distinct threshold, from (0, 0) up."""
    false_positives, true_positives = _counts_at_thresholds(labels, probabilities)
    return (
        np.r_[0.0, _rate(false_positives, false_positives[-1])],
        np.r_[0.0, _rate(true_positives, true_positives[-1])],
    )


def precision_recall_curve(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precisions, recalls) at every distinct threshold, recall rising from the point (0, 1)."""
    false_positives, true_positives = _counts_at_thresholds(labels, probabilities)
    precisions = true_positives / (true_positives + false_positives)  # never 0/0: each threshold has a row
    recalls = _rate(true_positives, true_positives[-1])
    return np.r_[1.0, precisions], np.r_[0.0, recalls]


def _rate(counts: np.ndarray, total: int) -> np.ndarray:
    return counts / total if total else np.zeros(counts.shape, dtype=np.float64)


def thin_indices(count: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """At most `limit` indices of `count` points, evenly spread, the first and the last always among them."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.rint(np.linspace(0, count - 1, limit)).astype(np.int64))


def _thin(values: np.ndarray) -> list[float]:
    return [float(v) for v in values[thin_indices(values.size)]]


def _deviations(labels: np.ndarray, probabilities: np.ndarray, seed: int) -> dict[str, float]:
    """Each printed metric's standard deviation over random 80% samples; none for fewer than 200 rows."""
    if labels.size < STD_MIN_ROWS:
        return {}
    rng = np.random.default_rng(seed)
    size = int(labels.size * STD_FRACTION)
    samples = []
    for _ in range(STD_SAMPLES):
        rows = rng.choice(labels.size, size=size, replace=False)
        samples.append(metrics.binary_metrics(labels[rows], probabilities[rows]))
    return {name: float(np.std([sample[name] for sample in samples])) for name in samples[0]}


def feature_importance(booster: xgb.Booster, feature_names: Sequence[str]) -> list[dict[str, Any]]:
    """Every feature's average gain over the splits that use it (0 for a feature no tree splits on),
    the largest first."""
    gains = booster.get_score(importance_type="gain")
    ranked = sorted(feature_names, key=lambda name: -float(gains.get(name, 0.0)))  # stable: ties keep order
    return [{"feature": name, "gain": float(gains.get(name, 0.0))} for name in ranked]
