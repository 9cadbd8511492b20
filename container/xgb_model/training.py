"""The `train` program: stratified k-fold cross-validation, then the final model on all the training data.

What it prints is read by SageMaker: one `<metric>: <value>` line per metric (see `metrics`), printed once,
after the model is saved. Without a `validation` channel those values are the cross-validated estimate
(computed on the pooled out-of-fold predictions, so a fold that happens to hold one class cannot make a
metric undefined). With a `validation` channel they are the saved model's score on it, and the
cross-validation is logged for information only. Beside the model it writes `model-quality.json` (see
`quality`), computed from the same predictions as the printed metrics.

On several hosts (see `distributed`) the same steps run on all of them at once: each fold's model and the final
model are trained by all hosts together on their shares of the rows, each host predicts its own held-out rows,
and the metrics are computed from every host's predictions, gathered; the first host writes the model and
prints them. They keep their meaning (the pooled out-of-fold estimate over every training row, or the score on
every validation row); only the fold each row falls in differs, as each host deals its own rows to the folds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xgb_model import metrics, quality
from xgb_model.data import DataError, LabeledData, read_channel
from xgb_model.distributed import Group, exit_now, joined, must_exit
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


def cross_validate(
    data: LabeledData, params: Hyperparameters, nthread: int, log: Log, group: Group | None = None
) -> np.ndarray:
    """Out-of-fold probabilities for every training row (of this host), from stratified, seeded, shuffled
    folds; on several hosts each fold's model is trained by all of them together."""
    group = group or Group()
    splits = params.kfold_splits
    rows, positives = group.total([data.rows, data.positives])
    if rows < splits:
        raise DataError(f"kfold_splits={splits} needs at least {splits} rows; the train channel has {rows}")
    smallest = min(positives, rows - positives)
    if smallest < splits:
        log(f"warning: only {smallest} rows of the rarer class for {splits} folds; some folds miss it")
    folds = group.agreed(lambda: stratified_folds(data.labels, splits, params.seed))
    out_of_fold = np.empty(data.rows, dtype=np.float32)
    for number, (fit_rows, held_out) in enumerate(folds, 1):
        booster = fit(data.features[fit_rows], data.labels[fit_rows], data.feature_names, params, nthread)
        out_of_fold[held_out] = booster.inplace_predict(data.features[held_out])
        labels, scores = group.gather(data.labels[held_out]), group.gather(out_of_fold[held_out])
        log(
            f"fold {number}/{splits} rows={labels.size} {metrics.summary(metrics.binary_metrics(labels, scores))}"
        )
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


def train(
    paths: MlPaths, *, log: Log = print, nthread: int | None = None, group: Group | None = None
) -> TrainingResult:
    """Run one training job in the `/opt/ml` tree `paths`, as one host of `group` (default: the only one)."""
    group = group or Group(None, paths)
    params = group.agreed(lambda: load_hyperparameters(paths.hyperparameters))
    log("hyperparameters " + " ".join(f"{k}={v}" for k, v in params.model_dump(by_alias=True).items()))

    data = group.agreed(lambda: group.share(read_channel(paths.channel("train"), "train"), "train"))
    group.same_everywhere("train channel's columns", data.feature_names)
    rows, positives = group.total([data.rows, data.positives])
    if positives in (0, rows):
        raise DataError(
            f"every label in the train channel is {int(positives > 0)}; a binary classifier needs rows of "
            "both classes"
        )
    threads = nthread or thread_count(data.rows, len(data.feature_names))
    log(
        f"train channel: {rows} rows, {len(data.feature_names)} features, {positives} positive; "
        f"{threads} XGBoost thread(s)" + ("" if group.size == 1 else f"; {data.rows} rows on this host")
    )
    validation = group.agreed(lambda: _validation(paths, data, group, log))

    train_labels = group.gather(data.labels)
    out_of_fold = group.gather(cross_validate(data, params, threads, log, group))
    cv_metrics = metrics.binary_metrics(train_labels, out_of_fold)
    log(f"cross-validation {metrics.summary(cv_metrics)}")

    booster = fit(data.features, data.labels, data.feature_names, params, threads)
    if validation is None:
        labels, probabilities, source = train_labels, out_of_fold, "cross-validation"
        reported = cv_metrics
    else:
        probabilities = group.gather(booster.inplace_predict(validation.features))
        labels, source = group.gather(validation.labels), "validation"
        reported = metrics.binary_metrics(labels, probabilities)
    if not group.writes_model:
        log(f"{group.describe()}: done; the first host writes the model and prints the metrics")
        return TrainingResult(booster=booster, metrics=reported, cv_metrics=cv_metrics, source=source)
    report = quality.report(
        labels, probabilities, evaluated_on=source, booster=booster, feature_names=data.feature_names
    )
    write_model(
        paths.model_dir,
        booster,
        feature_names=data.feature_names,
        id_column=data.id_column,
        label_column=data.label_column,
        extra_files={quality.QUALITY_FILE: quality.encode(report)},
    )
    log(f"model and {quality.QUALITY_FILE} saved to {paths.model_dir}; metrics below are from {source}")
    for line in metrics.metric_lines(reported):
        log(line)
    return TrainingResult(booster=booster, metrics=reported, cv_metrics=cv_metrics, source=source)


def _validation(paths: MlPaths, data: LabeledData, group: Group, log: Log) -> LabeledData | None:
    """This host's share of the validation channel, if there is one."""
    if not paths.channel("validation").is_dir():
        return None
    validation = group.share(read_channel(paths.channel("validation"), "validation"), "validation")
    if validation.feature_names != data.feature_names:
        raise DataError("the validation channel's feature columns differ from the train channel's")
    here = "" if group.size == 1 else " on this host"
    log(f"validation channel: {validation.rows} rows, {validation.positives} positive{here}")
    return validation


def main() -> int:
    """Entry point of the `train` program."""
    paths = MlPaths.from_env()

    def job() -> None:
        log: Log = lambda line: print(line, flush=True)  # noqa: E731
        with joined(paths, log) as group:
            train(paths, log=log, group=group)

    status = run_job(job, paths.failure_file, program="train")
    if must_exit():  # a failed distributed group; the failure file is written
        exit_now(status)
    return status
