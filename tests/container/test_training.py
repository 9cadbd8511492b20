"""The `train` program: metrics SageMaker can read, a model in XGBoost's format, determinism, and failures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from xgb_model import training
from xgb_model.data import DataError
from xgb_model.hyperparameters import HyperparameterError
from xgb_model.metrics import METRIC_NAMES, binary_metrics
from xgb_model.model import COLUMNS_FILE, MODEL_FILE, Model
from xgb_model.paths import MlPaths
from xgb_model.quality import QUALITY_FILE

from tests.container.conftest import CONTAINER_DIR, process_env
from tests.container.synthetic import FEATURES, ID_COLUMN, LABEL_COLUMN, make_frame, write_train_csv

REQUIRED_METRICS = ("accuracy", "roc_auc", "precision", "recall", "f1")


def read_metrics(log: str) -> dict[str, float]:
    """Each metric as the tuning job reads it: the regex `<metric>: ([0-9\\.]+)`, which must match once."""
    found = {}
    for name in METRIC_NAMES:
        values = re.findall(rf"{name}: ([0-9\.]+)", log)
        assert len(values) == 1, f"{name}: {values}"
        found[name] = float(values[0])
    return found


def run_train(paths: MlPaths) -> tuple[training.TrainingResult, str]:
    lines: list[str] = []
    result = training.train(paths, log=lines.append, nthread=1)
    return result, "\n".join(lines)


def test_training_prints_readable_metrics_and_writes_the_model(
    ml_tree: Callable[..., MlPaths], holdout_frame: pd.DataFrame
) -> None:
    paths = ml_tree(hyperparameters={"kfold_splits": "4", "max_depth": "3", "_tuning_objective_metric": "f1"})
    result, log = run_train(paths)

    metrics = read_metrics(log)
    assert set(REQUIRED_METRICS) <= set(metrics)
    assert metrics == pytest.approx(result.metrics, abs=1e-6)
    assert result.source == "cross-validation" and result.metrics == result.cv_metrics
    assert len(re.findall(r"^fold \d/4 ", log, re.MULTILINE)) == 4
    assert 0.65 < metrics["roc_auc"] <= 1.0  # the synthetic label is learnable

    # XGBoost's own JSON, not a pickle, with the feature names in it, and the columns file beside it.
    assert sorted(p.name for p in paths.model_dir.iterdir()) == sorted(
        [COLUMNS_FILE, MODEL_FILE, QUALITY_FILE]
    )
    saved = json.loads((paths.model_dir / MODEL_FILE).read_text())
    assert saved["learner"]["feature_names"] == FEATURES
    assert json.loads((paths.model_dir / COLUMNS_FILE).read_text()) == {
        "id": ID_COLUMN,
        "label": LABEL_COLUMN,
        "features": FEATURES,
    }
    # The final model is trained on all rows and generalises to data it never saw.
    model = Model.load(paths.model_dir)
    probabilities = model.predict(holdout_frame[FEATURES].to_numpy(np.float32))
    assert binary_metrics(holdout_frame[LABEL_COLUMN].to_numpy(), probabilities)["roc_auc"] > 0.7
    assert result.booster.num_boosted_rounds() == 100


def test_training_is_deterministic_given_a_seed(ml_tree: Callable[..., MlPaths], tmp_path: Path) -> None:
    hyperparameters = {"subsample": "0.5", "colsample_bytree": "0.7", "seed": "42", "num_round": "30"}
    paths = ml_tree(hyperparameters=hyperparameters)
    _, first_log = run_train(paths)
    first_model = (paths.model_dir / MODEL_FILE).read_bytes()
    _, second_log = run_train(paths)
    assert (paths.model_dir / MODEL_FILE).read_bytes() == first_model
    assert first_log == second_log

    paths.hyperparameters.write_text(json.dumps({**hyperparameters, "seed": "43"}))
    run_train(paths)
    assert (paths.model_dir / MODEL_FILE).read_bytes() != first_model


def test_a_validation_channel_gives_the_reported_metrics(
    ml_tree: Callable[..., MlPaths], holdout_frame: pd.DataFrame
) -> None:
    paths = ml_tree(hyperparameters={"num_round": "40"})
    write_train_csv(holdout_frame, paths.channel("validation") / "validation.csv")
    result, log = run_train(paths)
    assert result.source == "validation"
    assert read_metrics(log) == pytest.approx(result.metrics, abs=1e-6)
    expected = binary_metrics(
        holdout_frame[LABEL_COLUMN].to_numpy(),
        Model.load(paths.model_dir).predict(holdout_frame[FEATURES].to_numpy(np.float32)),
    )
    assert result.metrics == pytest.approx(expected, abs=1e-6)
    assert result.cv_metrics != result.metrics


def test_a_channel_may_hold_several_files(ml_tree: Callable[..., MlPaths], train_frame: pd.DataFrame) -> None:
    paths = ml_tree(frame=train_frame.iloc[:700])
    write_train_csv(train_frame.iloc[700:], paths.channel("train") / "part-2" / "more.csv")
    _, log = run_train(paths)
    assert f"train channel: {len(train_frame)} rows" in log


def test_metrics_stay_finite_when_folds_miss_the_rare_class(ml_tree: Callable[..., MlPaths]) -> None:
    frame = make_frame(40, seed=9)
    frame[LABEL_COLUMN] = 0
    frame.loc[[3, 17], LABEL_COLUMN] = 1  # 2 positives for 5 folds: three folds hold none
    paths = ml_tree(frame=frame, hyperparameters={"kfold_splits": "5", "num_round": "5"})
    result, log = run_train(paths)
    assert "warning: only 2 rows of the rarer class for 5 folds" in log
    assert all(np.isfinite(list(read_metrics(log).values())))
    assert "nan" not in log.lower()
    assert result.metrics["roc_auc"] >= 0


@pytest.mark.parametrize(
    ("corrupt", "error", "message"),
    [
        (lambda f: f.assign(**{LABEL_COLUMN: "Yes"}), DataError, "labels must be 0 or 1"),
        (lambda f: f.assign(**{LABEL_COLUMN: 0}), DataError, "every label in the train channel is 0"),
        (lambda f: f.assign(Age="old"), DataError, "column 'Age': 'old' is not a number"),
        (
            lambda f: f.iloc[:3].assign(**{LABEL_COLUMN: [0, 1, 0]}),
            DataError,
            "kfold_splits=5 needs at least 5 rows",
        ),
        (lambda f: f.iloc[:0], DataError, "has a header but no data rows"),
    ],
)
def test_bad_training_data_fails_with_a_clear_message(
    ml_tree: Callable[..., MlPaths], train_frame: pd.DataFrame, corrupt, error: type, message: str
) -> None:
    paths = ml_tree(frame=corrupt(train_frame.copy()))
    with pytest.raises(error) as raised:
        run_train(paths)
    assert message in str(raised.value)
    assert not paths.model_dir.exists()  # nothing half-written


def _damage_line(path: Path, number: int, change: Callable[[str], str], newline: str = "\n") -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = change(lines[number - 1])
    path.write_text(newline.join(lines) + newline, newline="")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(
    ("line", "change", "columns"),
    [
        (1000, lambda text: text.rsplit(",", 1)[0], 44),  # too few: pandas would pad it with a missing value
        (2, lambda text: text + ",7", 46),  # too many: pandas would drop the extra field
        (1471, lambda text: text + ",", 46),  # the last line
        (700, lambda text: "", None),  # a blank line is skipped, as pandas skips it
    ],
)
def test_rows_of_the_wrong_width_fail_with_their_line_number(
    ml_tree: Callable[..., MlPaths], line: int, change, columns: int | None, newline: str
) -> None:
    paths = ml_tree(hyperparameters={"num_round": "2", "kfold_splits": "2"})
    _damage_line(paths.channel("train") / "train.csv", line, change, newline)
    if columns is None:
        run_train(paths)
        return
    with pytest.raises(DataError) as raised:
        run_train(paths)
    assert str(raised.value) == (
        f"train.csv, line {line} has {columns} columns; the header has 45 (the id, the label and every feature)"
    )
    assert not paths.model_dir.exists()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1 << 20])
def test_row_widths_are_checked_alike_across_read_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str, block: int
) -> None:
    from xgb_model import data

    monkeypatch.setattr(data, "_WIDTH_BLOCK", block)
    path = tmp_path / "t.csv"
    rows = ["id,label,a", "1,0,2", "", "2,1,3", "3,1", "4,0,5"]
    path.write_bytes(newline.join(rows).encode())  # no line end after the last row
    assert data._first_bad_width(path, 3) == (5, 2)
    path.write_bytes(newline.join([*rows[:4], "4,0,5,6"]).encode())
    assert data._first_bad_width(path, 3) == (5, 4)
    path.write_bytes(newline.join(rows[:4]).encode() + newline.encode())
    assert data._first_bad_width(path, 3) is None


def test_quoted_fields_may_hold_separators(ml_tree: Callable[..., MlPaths]) -> None:
    paths = ml_tree(hyperparameters={"num_round": "2", "kfold_splits": "2"})
    train_csv = paths.channel("train") / "train.csv"
    _damage_line(train_csv, 3, lambda text: '"E,1"' + text[text.index(",") :])
    run_train(paths)  # the id holds a comma inside quotes: one field
    _damage_line(train_csv, 5, lambda text: '"E,2",' + text)
    with pytest.raises(DataError, match=r"train\.csv, line 5 has 46 columns"):
        run_train(paths)
    _damage_line(train_csv, 5, lambda text: text[len('"E,2",') :])
    train_csv.write_bytes(train_csv.read_bytes()[:-30] + b"\xff\n")  # far past the header's first read
    with pytest.raises(DataError, match=r"train\.csv is not UTF-8 CSV text"):
        run_train(paths)


@pytest.mark.slow
def test_a_row_of_the_wrong_width_reaches_the_failure_file(ml_tree: Callable[..., MlPaths]) -> None:
    paths = ml_tree()
    _damage_line(paths.channel("train") / "train.csv", 10, lambda text: text.rsplit(",", 1)[0])
    done = subprocess.run(
        [sys.executable, str(CONTAINER_DIR / "train")],
        env=process_env(paths.root),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert paths.failure_file.read_text() == (
        "train: train.csv, line 10 has 44 columns; the header has 45 (the id, the label and every feature)\n"
    )


def test_a_file_without_header_is_recognised(
    ml_tree: Callable[..., MlPaths], train_frame: pd.DataFrame
) -> None:
    paths = ml_tree()
    train_frame.to_csv(paths.channel("train") / "train.csv", index=False, header=False)
    with pytest.raises(DataError, match="no header row"):
        run_train(paths)


def test_mismatched_headers_and_missing_channels_are_named(ml_tree: Callable[..., MlPaths]) -> None:
    paths = ml_tree()
    (paths.channel("train") / "other.csv").write_text("EmployeeNumber,Attrition,Age\n1,0,30\n")
    with pytest.raises(DataError) as raised:
        run_train(paths)
    assert str(raised.value) == (
        "train.csv has a different header from other.csv: missing [], unexpected ['DistanceFromHome', "
        "'MonthlyIncome', 'PercentSalaryHike', 'TrainingTimesLastYear', 'RatioYearsPerCompany'] and 37 more"
    )
    empty = MlPaths(paths.root.parent / "empty")
    with pytest.raises(DataError, match="the 'train' channel is missing"):
        run_train(empty)


@pytest.mark.slow
def test_train_program_runs_as_a_process(ml_tree: Callable[..., MlPaths]) -> None:
    paths = ml_tree(hyperparameters={"num_round": "20", "_tuning_objective_metric": "accuracy"})
    done = subprocess.run(
        [sys.executable, str(CONTAINER_DIR / "train")],
        env=process_env(paths.root),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert set(REQUIRED_METRICS) <= set(read_metrics(done.stdout))
    booster = xgb.Booster(model_file=str(paths.model_dir / MODEL_FILE))
    assert booster.num_boosted_rounds() == 20
    assert not paths.failure_file.exists()


@pytest.mark.slow
def test_train_program_failure_writes_the_failure_file_and_exits_non_zero(
    ml_tree: Callable[..., MlPaths],
) -> None:
    paths = ml_tree(hyperparameters={"max_depth": "deep", "learning_rate": "0.1"})
    done = subprocess.run(
        [sys.executable, str(CONTAINER_DIR / "train")],
        env=process_env(paths.root),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    reason = paths.failure_file.read_text()
    assert reason.startswith("train: invalid hyperparameters:")
    assert "max_depth='deep'" in reason and "unknown hyperparameter 'learning_rate'" in reason
    assert len(reason) < 1024  # SageMaker keeps the first 1024 characters as FailureReason
    assert "Traceback" not in reason
    assert not paths.model_dir.exists()


def test_unexpected_errors_also_reach_the_failure_file(
    ml_tree: Callable[..., MlPaths], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = ml_tree()
    monkeypatch.setenv("MLOPS_ML_ROOT", str(paths.root))

    def broken_fit(*args, **kwargs):
        raise MemoryError("out of memory in fold 1")

    monkeypatch.setattr(training, "fit", broken_fit)
    assert training.main() == 1
    assert paths.failure_file.read_text().startswith("train failed unexpectedly: MemoryError: out of memory")


def test_invalid_hyperparameters_raise_before_data_is_read(ml_tree: Callable[..., MlPaths]) -> None:
    paths = ml_tree(hyperparameters={"subsample": "2"})
    (paths.channel("train") / "train.csv").unlink()
    with pytest.raises(HyperparameterError, match="subsample='2'"):
        run_train(paths)


@pytest.mark.parametrize(
    ("labels", "splits", "seed"),
    [
        ([0] * 40 + [1] * 9, 5, 0),
        ([1, 0] * 30 + [1] * 7, 3, 12345),
        ([1] * 3 + [0] * 50, 5, 7),  # fewer positives than folds: some folds hold none
        (list(np.random.default_rng(1).integers(0, 2, 1470)), 5, 2**31 - 1),
    ],
)
def test_folds_are_scikit_learns_stratified_k_fold(labels: list[int], splits: int, seed: int) -> None:
    import warnings

    from sklearn.model_selection import StratifiedKFold

    y = np.array(labels, dtype=np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = list(StratifiedKFold(splits, shuffle=True, random_state=seed).split(np.zeros(y.size), y))
    got = training.stratified_folds(y, splits, seed)
    assert len(got) == len(expected)
    for (fit, held_out), (fit_expected, held_out_expected) in zip(got, expected, strict=True):
        assert np.array_equal(fit, fit_expected) and np.array_equal(held_out, held_out_expected)


def test_folds_need_one_class_with_a_row_per_fold() -> None:
    with pytest.raises(DataError, match="kfold_splits=5 is more than the rows of every class"):
        training.stratified_folds(np.array([0, 0, 0, 1, 1, 1], dtype=np.int8), 5, 0)


def test_thread_count_grows_with_the_data_up_to_the_cpus() -> None:
    assert training.thread_count(1470, 50, cpus=8) == 1  # the example: threads would only wait for each other
    assert training.thread_count(20_000, 50, cpus=8) == 4
    assert training.thread_count(10_000_000, 50, cpus=8) == 8
    assert training.thread_count(0, 50, cpus=8) == 1


def test_model_predict_is_xgboosts_inplace_predict(
    ml_tree: Callable[..., MlPaths], train_frame: pd.DataFrame
) -> None:
    """The model's direct C-API prediction gives exactly what the Python wrapper gives, for any rows."""
    paths = ml_tree(train_frame)
    run_train(paths)
    model = Model.load(paths.model_dir)
    rng = np.random.default_rng(5)
    rows = train_frame[list(model.schema.names)].to_numpy(np.float32)
    with_missing = rows[:300].copy()
    with_missing[rng.random(with_missing.shape) < 0.2] = np.nan
    for features in (rows[:1], rows, with_missing, np.asfortranarray(rows[:50]), rows[::3]):
        expected = model.booster.inplace_predict(features)
        got = model.predict(features)
        assert got.dtype == np.float32 and got.shape == (features.shape[0],)
        np.testing.assert_array_equal(got, expected)


def test_programs_start_without_scikit_learn_and_with_passive_openmp() -> None:
    """What a trial's process imports: no scikit-learn or scipy.stats (a second of every start), no
    xgboost.sklearn or scipy.special (40 ms), and OpenMP's passive wait policy set before XGBoost's library
    loads."""
    probe = (
        "import os, sys\n"
        "import xgb_model.program_start, xgb_model.training\n"
        "hidden = ('sklearn', 'scipy.stats', 'scipy.special', 'xgboost.sklearn')\n"
        "print(sorted(m for m in hidden if m in sys.modules), os.environ['OMP_WAIT_POLICY'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=CONTAINER_DIR, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["[]", "PASSIVE"]
