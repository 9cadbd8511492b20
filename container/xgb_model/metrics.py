"""Binary-classification metrics that are always finite, and the log lines SageMaker reads them from.

A tuning job reads its objective with the regex `<metric>: ([0-9\\.]+)`, and the stack config may name any of
these metrics, so none of them can be NaN or negative. Degenerate cases get the value that carries no
information: precision, recall and f1 are 0 when their denominator is 0 (scikit-learn's `zero_division=0`),
and ROC AUC is 0.5 when the labels hold a single class (no ranking can be judged).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from xgb_model.hyperparameters import load_contract

# The metrics every training job prints, in print order: the contract's, which the stack config checks
# `tuning_metric` against.
METRIC_NAMES = tuple(load_contract()["metrics"])
DECISION_THRESHOLD = 0.5
UNDEFINED_ROC_AUC = 0.5


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Every metric of `METRIC_NAMES` for 0/1 labels and predicted probabilities of class 1."""
    if labels.shape[0] == 0:
        raise ValueError("metrics need at least one row")
    y_true = np.asarray(labels, dtype=np.int8)
    y_prob = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    y_pred = (y_prob >= DECISION_THRESHOLD).astype(np.int8)
    both_classes = np.unique(y_true).size == 2
    metrics = {
        "accuracy": accuracy_score(y_true, y_pred),
        "roc_auc": roc_auc_score(y_true, y_prob) if both_classes else UNDEFINED_ROC_AUC,
        "precision": precision_score(y_true, y_pred, zero_division=0),
        "recall": recall_score(y_true, y_pred, zero_division=0),
        "f1": f1_score(y_true, y_pred, zero_division=0),
        "logloss": log_loss(y_true, y_prob, labels=[0, 1]),
    }
    result = {name: float(metrics[name]) for name in METRIC_NAMES}
    bad = [name for name, value in result.items() if not math.isfinite(value) or value < 0]
    if bad:  # cannot happen with the definitions above; a NaN objective must never reach the tuner
        raise ValueError(f"metrics {bad} are not finite non-negative numbers: {result}")
    return result


def metric_lines(metrics: dict[str, float]) -> list[str]:
    """`<name>: <value>` lines, the only log lines in that shape, so each metric has exactly one value."""
    return [f"{name}: {metrics[name]:.6f}" for name in METRIC_NAMES]


def summary(metrics: dict[str, float]) -> str:
    """The metrics on one line as `name=value`, a shape the tuning regex does not match."""
    return " ".join(f"{name}={metrics[name]:.6f}" for name in METRIC_NAMES)
