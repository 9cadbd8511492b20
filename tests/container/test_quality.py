"""The model quality report (`model-quality.json`): Model Monitor's shape, values equal to scikit-learn's, curves
thinned without losing their ends, and the file `train` writes from the predictions behind its printed metrics."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk
from xgb_model import quality
from xgb_model.metrics import binary_metrics
from xgb_model.model import Model
from xgb_model.paths import MlPaths
from xgb_model.training import train

from tests.container.synthetic import FEATURES, LABEL_COLUMN, write_train_csv

METRIC_KEYS = ("recall", "precision", "accuracy", "f1", "auc")
CURVES = {
    "receiver_operating_characteristic_curve": ("false_positive_rates", "true_positive_rates"),
    "precision_recall_curve": ("precisions", "recalls"),
}

# Labels with both classes, and probabilities on a coarse grid so that ties (one threshold, several rows) occur.
labelled_scores = st.integers(2, 300).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < n),
        st.lists(st.integers(0, 20).map(lambda k: k / 20), min_size=n, max_size=n),
    )
)


def small_booster(features: int = 4, rows: int = 300) -> tuple[xgb.Booster, list[str]]:
    rng = np.random.default_rng(0)
    x = rng.random((rows, features)).astype(np.float32)
    y = (x[:, 0] + 0.2 * x[:, 1] > 0.6).astype(np.float32)  # the last features are noise
    names = [f"feature_{i}" for i in range(features)]
    matrix = xgb.DMatrix(x, label=y, feature_names=names)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "nthread": 1}, matrix, num_boost_round=5
    )
    return booster, names


@settings(max_examples=60, deadline=None)
@given(labelled_scores)
def test_curves_are_scikit_learns(data: tuple[list[int], list[float]]) -> None:
    labels, scores = np.array(data[0], dtype=np.int8), np.array(data[1])
    fpr, tpr = quality.roc_curve(labels, scores)
    expected_fpr, expected_tpr, _ = sk.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, expected_fpr)
    np.testing.assert_allclose(tpr, expected_tpr)
    precisions, recalls = quality.precision_recall_curve(labels, scores)
    expected_precisions, expected_recalls, _ = sk.precision_recall_curve(labels, scores)
    np.testing.assert_allclose(precisions, expected_precisions[::-1])  # recall rising, as in the file
    np.testing.assert_allclose(recalls, expected_recalls[::-1])
    assert quality.confusion_matrix(labels, scores) == matrix_of(
        sk.confusion_matrix(labels, scores >= 0.5, labels=[0, 1])
    )


def matrix_of(counts: np.ndarray) -> dict[str, dict[str, int]]:
    """scikit-learn's [actual][predicted] array as Model Monitor's {actual: {predicted: count}}."""
    return {str(a): {str(p): int(counts[a][p]) for p in (0, 1)} for a in (0, 1)}


@pytest.mark.parametrize("count", [1, 2, 199, 200, 201, 1000, 123_457])
def test_thinning_is_bounded_and_keeps_both_ends(count: int) -> None:
    kept = quality.thin_indices(count)
    assert kept.size == min(count, quality.MAX_CURVE_POINTS)
    assert kept[0] == 0 and kept[-1] == count - 1
    assert (np.diff(kept) > 0).all()


def test_the_report_has_model_monitors_shape_and_the_printed_values() -> None:
    rng = np.random.default_rng(7)
    labels = (rng.random(5000) < 0.3).astype(np.int8)
    scores = np.clip(labels * 0.35 + rng.random(5000) * 0.65, 0, 1).astype(np.float32)
    booster, names = small_booster()
    document = quality.report(labels, scores, evaluated_on="validation", booster=booster, feature_names=names)
    decoded = json.loads(quality.encode(document))  # strict JSON: no NaN or Infinity anywhere

    assert decoded["version"] == 0.0 and decoded["dataset"] == {"item_count": 5000}
    binary = decoded["binary_classification_metrics"]
    assert set(binary) == {"confusion_matrix", *METRIC_KEYS, *CURVES}
    assert binary["confusion_matrix"] == matrix_of(sk.confusion_matrix(labels, scores >= 0.5))
    printed = binary_metrics(labels, scores)
    expected = {
        "recall": sk.recall_score(labels, scores >= 0.5),
        "precision": sk.precision_score(labels, scores >= 0.5),
        "accuracy": sk.accuracy_score(labels, scores >= 0.5),
        "f1": sk.f1_score(labels, scores >= 0.5),
        "auc": sk.roc_auc_score(labels, scores),
    }
    for key in METRIC_KEYS:
        assert binary[key]["value"] == pytest.approx(expected[key], abs=1e-12)
        assert binary[key]["value"] == printed["roc_auc" if key == "auc" else key]
        assert 0 < binary[key]["standard_deviation"] < 0.05  # 80% samples of 5000 rows vary a little
    for curve, (x_key, y_key) in CURVES.items():
        xs, ys = binary[curve][x_key], binary[curve][y_key]
        assert len(xs) == len(ys) == quality.MAX_CURVE_POINTS  # 5000 rows have many more thresholds
    roc = binary["receiver_operating_characteristic_curve"]
    full_fpr, full_tpr, _ = sk.roc_curve(labels, scores, drop_intermediate=False)
    assert (roc["false_positive_rates"][0], roc["true_positive_rates"][0]) == (0.0, 0.0)
    assert (roc["false_positive_rates"][-1], roc["true_positive_rates"][-1]) == (1.0, 1.0)
    assert set(zip(roc["false_positive_rates"], roc["true_positive_rates"], strict=True)) <= set(
        zip(full_fpr.tolist(), full_tpr.tolist(), strict=True)
    )
    pr = binary["precision_recall_curve"]
    assert (pr["recalls"][0], pr["precisions"][0]) == (0.0, 1.0) and pr["recalls"][-1] == 1.0
    assert pr["recalls"] == sorted(pr["recalls"])
    assert pr["precisions"][-1] == pytest.approx(labels.mean())  # everything predicted positive

    mlops = decoded["mlops"]
    assert {k: mlops[k] for k in ("evaluated_on", "rows", "threshold")} == {
        "evaluated_on": "validation",
        "rows": 5000,
        "threshold": 0.5,
    }
    gains = booster.get_score(importance_type="gain")
    importance = mlops["feature_importance"]
    assert importance[0]["feature"] == "feature_0"  # the feature the label comes from
    assert sorted(item["feature"] for item in importance) == sorted(names)  # every feature, even unused ones
    assert {item["feature"]: item["gain"] for item in importance} == {n: gains.get(n, 0.0) for n in names}
    assert [item["gain"] for item in importance] == sorted(
        (item["gain"] for item in importance), reverse=True
    )


def test_small_and_one_class_evaluations_still_give_a_valid_file() -> None:
    booster, names = small_booster()
    small = quality.report(
        np.array([0, 1, 1, 0], dtype=np.int8),
        np.array([0.2, 0.7, 0.4, 0.9]),
        evaluated_on="validation",
        booster=booster,
        feature_names=names,
    )
    # Model Monitor gives no deviation below 200 rows, and says so with the string "NaN".
    assert {small["binary_classification_metrics"][k]["standard_deviation"] for k in METRIC_KEYS} == {"NaN"}
    assert small["binary_classification_metrics"]["confusion_matrix"] == {
        "0": {"0": 1, "1": 1},
        "1": {"0": 1, "1": 1},
    }
    one_class = quality.report(
        np.zeros(300, dtype=np.int8), np.linspace(0, 1, 300), evaluated_on="validation", booster=booster,
        feature_names=names,
    )  # fmt: skip
    decoded = json.loads(quality.encode(one_class))
    binary = decoded["binary_classification_metrics"]
    assert binary["auc"]["value"] == 0.5 and binary["recall"]["value"] == 0.0
    assert set(binary["receiver_operating_characteristic_curve"]["true_positive_rates"]) == {0.0}
    assert binary["receiver_operating_characteristic_curve"]["false_positive_rates"][-1] == 1.0


def test_the_deviation_is_repeatable_and_zero_for_a_perfect_model() -> None:
    booster, names = small_booster()
    labels = np.tile(np.array([0, 1], dtype=np.int8), 200)
    perfect = quality.report(
        labels, labels * 0.9, evaluated_on="validation", booster=booster, feature_names=names
    )
    assert {perfect["binary_classification_metrics"][k]["standard_deviation"] for k in METRIC_KEYS} == {0.0}
    noisy = np.random.default_rng(1).random(400)
    first, second = (
        quality.report(labels, noisy, evaluated_on="validation", booster=booster, feature_names=names)
        for _ in range(2)
    )
    assert first == second


def read_quality(paths: MlPaths) -> dict:
    return json.loads((paths.model_dir / quality.QUALITY_FILE).read_text())


def test_train_writes_the_report_of_its_cross_validation(
    ml_tree: Callable[..., MlPaths], train_frame: pd.DataFrame
) -> None:
    paths = ml_tree(hyperparameters={"kfold_splits": "3", "num_round": "20"})
    result = train(paths, log=lambda _: None, nthread=1)
    document = read_quality(paths)
    assert document["mlops"]["evaluated_on"] == "cross-validation" == result.source
    assert document["mlops"]["rows"] == document["dataset"]["item_count"] == len(train_frame)
    assert [item["feature"] for item in document["mlops"]["feature_importance"]] != FEATURES  # ranked
    assert sorted(item["feature"] for item in document["mlops"]["feature_importance"]) == sorted(FEATURES)
    binary = document["binary_classification_metrics"]
    for key in METRIC_KEYS:
        assert binary[key]["value"] == result.metrics["roc_auc" if key == "auc" else key]
    matrix = binary["confusion_matrix"]
    assert sum(matrix["1"].values()) == int(train_frame[LABEL_COLUMN].sum())
    assert matrix["1"]["1"] / sum(matrix["1"].values()) == pytest.approx(result.metrics["recall"])


def test_train_writes_the_report_of_its_validation_channel(
    ml_tree: Callable[..., MlPaths], holdout_frame: pd.DataFrame
) -> None:
    paths = ml_tree(hyperparameters={"num_round": "20"})
    write_train_csv(holdout_frame, paths.channel("validation") / "validation.csv")
    train(paths, log=lambda _: None, nthread=1)
    document = read_quality(paths)
    assert document["mlops"]["evaluated_on"] == "validation"
    assert document["mlops"]["rows"] == len(holdout_frame)
    labels = holdout_frame[LABEL_COLUMN].to_numpy()
    probabilities = Model.load(paths.model_dir).predict(holdout_frame[FEATURES].to_numpy(np.float32))
    binary = document["binary_classification_metrics"]
    assert binary["confusion_matrix"] == matrix_of(sk.confusion_matrix(labels, probabilities >= 0.5))
    assert binary["auc"]["value"] == pytest.approx(sk.roc_auc_score(labels, probabilities))
