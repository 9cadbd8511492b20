"""Binary-classification metrics that are always finite, and the log lines SageMaker reads them from.

A tuning job reads its objective with the regex `<metric>: ([0-9\\.]+)`, and the stack config may name any of
these metrics, so none of them can be NaN or negative. Degenerate cases get the value that carries no
information: precision, recall and f1 are 0 when their denominator is 0 (scikit-learn's `zero_division=0`),
and ROC AUC is 0.5 when the labels hold a single class (no ranking can be judged).

They are computed with numpy alone, to scikit-learn's definitions (tests compare them with scikit-learn): the
`train` program starts in a fresh process for every trial, and importing scikit-learn (and through it scipy's
statistics) cost over a second of each trial's start-up.
"""

from __future__ import annotations

import math

import numpy as np

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
    positives = int(y_true.sum())
    true_positives = int(np.count_nonzero(y_pred & y_true))
    predicted_positives = int(y_pred.sum())
    metrics = {
        "accuracy": np.count_nonzero(y_pred == y_true) / y_true.size,
        "roc_auc": _roc_auc(y_true, y_prob) if 0 < positives < y_true.size else UNDEFINED_ROC_AUC,
        "precision": true_positives / predicted_positives if predicted_positives else 0.0,
        "recall": true_positives / positives if positives else 0.0,
        "f1": 2 * true_positives / (predicted_positives + positives)
        if predicted_positives + positives
        else 0.0,
        "logloss": _log_loss(y_true, y_prob),
    }
    result = {name: float(metrics[name]) for name in METRIC_NAMES}
    bad = [name for name, value in result.items() if not math.isfinite(value) or value < 0]
    if bad:  # cannot happen with the definitions above; a NaN objective must never reach the tuner
        raise ValueError(f"metrics {bad} are not finite non-negative numbers: {result}")
    return result


def _roc_auc(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """The area under the ROC curve as the Mann-Whitney statistic: ties count one half, as on the curve."""
    order = np.argsort(y_prob, kind="mergesort")
    ranked = y_prob[order]
    # Average rank (1-based) of each group of equal probabilities.
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], ranked.size]
    group_rank = (starts + ends + 1) / 2.0
    ranks = np.repeat(group_rank, ends - starts)
    positives = int(y_true.sum())
    negatives = y_true.size - positives
    rank_sum = float(ranks[y_true[order] == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def _log_loss(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Mean negative log-likelihood, probabilities clipped to [eps, 1 - eps] as scikit-learn clips them."""
    eps = np.finfo(np.float64).eps
    # Each class's column is clipped on its own, as scikit-learn does with [1 - p, p].
    likelihood = np.where(y_true == 1, np.clip(y_prob, eps, 1 - eps), np.clip(1 - y_prob, eps, 1 - eps))
    return float(-np.mean(np.log(likelihood)))


def metric_lines(metrics: dict[str, float]) -> list[str]:
    """`<name>: <value>` lines, the only log lines in that shape, so each metric has exactly one value."""
    return [f"{name}: {metrics[name]:.6f}" for name in METRIC_NAMES]


def summary(metrics: dict[str, float]) -> str:
    """The metrics on one line as `name=value`, a shape the tuning regex does not match."""
    return " ".join(f"{name}={metrics[name]:.6f}" for name in METRIC_NAMES)
