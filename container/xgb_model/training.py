"""The `train` program: stratified k-fold cross-validation, then the final model on all the training data.

What it prints is read by SageMaker: one `<metric>: <value>` line per metric (see `metrics`), printed once,
after the model is saved. Without a `validation` channel those values are the cross-validated estimate
(computed on the pooled out-of-fold predictions, so a fold that happens to hold one class cannot make a
metric undefined). With a `validation` channel they are the saved model's score on it, and the
cross-validation is logged for information only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xgb_model import metrics
from xgb_model.data import DataError, LabeledData, read_channel
from xgb_model.hyperparameters import Hyperparameters, load_hyperparameters
from xgb_model.jobs import run_job
from xgb_model.model import write_model
from xgb_model.paths import MlPaths
from xgb_model.xgboost_runtime import xgboost as xgb

Log = Callable[[str], None]
# Below this many values (rows x features) per thread, another thread costs more in synchronisation than it
# saves: the example's 1,470 x 50 table trains fastest on one.
CELLS_PER_THREAD = 250_000


@dataclass(frozen=True)
class TrainingResult:
    """What a training run produced."""

    booster: xgb.Booster
    metrics: dict[str, float]
    """The reported metrics (validation channel if given, else cross-validation)."""
    cv_metrics: dict[str, float]
    """Cross-validated metrics on the training channel."""
    source: str
    """Where `metrics` come from: "validation" or "cross-validation"."""


def fit(
    features: np.ndarray, labels: np.ndarray, names: tuple[str, ...], params: Hyperparameters, nthread: int
) -> xgb.Booster:
    """Train one booster on the given rows."""
    try:
        matrix = xgb.QuantileDMatrix(
            features, label=labels, feature_names=list(names), max_bin=params.max_bin, nthread=nthread
        )
    except ValueError as error:  # e.g. feature names XGBoost does not accept
        raise DataError(f"XGBoost cannot use these features: {error}") from None
    return xgb.train(params.booster_params(nthread), matrix, num_boost_round=params.num_round)


def cross_validate(data: LabeledData, params: Hyperparameters, nthread: int, log: Log) -> np.ndarray:
    """Out-of-fold probabilities for every training row, from stratified, seeded, shuffled folds."""
    splits = params.kfold_splits
    if data.rows < splits:
        raise DataError(
            f"kfold_splits={splits} needs at least {splits} rows; the train channel has {data.rows}"
        )
    smallest = min(data.positives, data.rows - data.positives)
    if smallest < splits:
        log(f"warning: only {smallest} rows of the rarer class for {splits} folds; some folds miss it")
    out_of_fold = np.empty(data.rows, dtype=np.float32)
    for number, (fit_rows, held_out) in enumerate(stratified_folds(data.labels, splits, params.seed), 1):
        booster = fit(data.features[fit_rows], data.labels[fit_rows], data.feature_names, params, nthread)
        out_of_fold[held_out] = booster.inplace_predict(data.features[held_out])
        scores = metrics.binary_metrics(data.labels[held_out], out_of_fold[held_out])
        log(f"fold {number}/{splits} rows={held_out.size} {metrics.summary(scores)}")
    return out_of_fold


def stratified_folds(labels: np.ndarray, splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, held-out rows) of each fold: scikit-learn's `StratifiedKFold(splits, shuffle=True,
    random_state=seed)`, the same folds for the same seed (a test compares them), without importing it.

    Each class's rows are dealt to the folds round-robin over the sorted labels (so every fold holds about
    the same share of each class), and each class's fold numbers are shuffled with `RandomState(seed)`.
    """
    _, first_index, inverse = np.unique(labels, return_index=True, return_inverse=True)
    encoded = np.argsort(np.argsort(first_index))[inverse]  # classes numbered in order of appearance
    counts = np.bincount(encoded)
    if (counts < splits).all():
        raise DataError(f"kfold_splits={splits} is more than the rows of every class ({counts.tolist()})")
    ordered = np.sort(encoded)
    allocation = np.array([np.bincount(ordered[i::splits], minlength=counts.size) for i in range(splits)])
    rng = np.random.RandomState(seed)
    test_fold = np.empty(labels.shape[0], dtype=np.int32)
    for k in range(counts.size):
        folds_of_class = np.arange(splits).repeat(allocation[:, k])
        rng.shuffle(folds_of_class)
        test_fold[encoded == k] = folds_of_class
    rows = np.arange(labels.shape[0])
    return [(rows[test_fold != i], rows[test_fold == i]) for i in range(splits)]


def thread_count(rows: int, features: int, cpus: int | None = None) -> int:
    """XGBoost threads for data of this size: one per `CELLS_PER_THREAD` values, at most one per usable CPU.

    Every boosting round ends each tree level at a barrier of all threads; on a small table the threads
    spend more time waiting for each other than working, and on a busy host one late thread stalls them all.
    """
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, rows * features // CELLS_PER_THREAD))


def train(paths: MlPaths, *, log: Log = print, nthread: int | None = None) -> TrainingResult:
    """Run one training job in the `/opt/ml` tree `paths`."""
    params = load_hyperparameters(paths.hyperparameters)
    log("hyperparameters " + " ".join(f"{k}={v}" for k, v in params.model_dump(by_alias=True).items()))

    data = read_channel(paths.channel("train"), "train")
    if data.positives in (0, data.rows):
        raise DataError(
            f"every label in the train channel is {int(data.labels[0])}; a binary classifier needs rows of "
            "both classes"
        )
    threads = nthread or thread_count(data.rows, len(data.feature_names))
    log(
        f"train channel: {data.rows} rows, {len(data.feature_names)} features, {data.positives} positive; "
        f"{threads} XGBoost thread(s)"
    )
    validation = None
    if paths.channel("validation").is_dir():
        validation = read_channel(paths.channel("validation"), "validation")
        if validation.feature_names != data.feature_names:
            raise DataError("the validation channel's feature columns differ from the train channel's")
        log(f"validation channel: {validation.rows} rows, {validation.positives} positive")

    cv_metrics = metrics.binary_metrics(data.labels, cross_validate(data, params, threads, log))
    log(f"cross-validation {metrics.summary(cv_metrics)}")

    booster = fit(data.features, data.labels, data.feature_names, params, threads)
    if validation is None:
        reported, source = cv_metrics, "cross-validation"
    else:
        reported = metrics.binary_metrics(validation.labels, booster.inplace_predict(validation.features))
        source = "validation"
    write_model(
        paths.model_dir,
        booster,
        feature_names=data.feature_names,
        id_column=data.id_column,
        label_column=data.label_column,
    )
    log(f"model saved to {paths.model_dir}; metrics below are from {source}")
    for line in metrics.metric_lines(reported):
        log(line)
    return TrainingResult(booster=booster, metrics=reported, cv_metrics=cv_metrics, source=source)


def main() -> int:
    """Entry point of the `train` program."""
    paths = MlPaths.from_env()

    def job() -> None:
        train(paths, log=lambda line: print(line, flush=True))

    return run_job(job, paths.failure_file, program="train")
