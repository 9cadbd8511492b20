"""Metrics: always finite, and printed so that the tuning job's regex reads exactly one value per metric."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as sk
from xgb_model.hyperparameters import load_contract
from xgb_model.metrics import METRIC_NAMES, binary_metrics, metric_lines, summary

from mlops_component.builders.state_machines.training_workflow import REPORTED_METRICS
from mlops_component.config.image_contract import own_image_contract


def workflow_regex(metric: str) -> re.Pattern[str]:
    """The tuning job's MetricDefinitions regex (docs/data-contract.md)."""
    return re.compile(rf"{metric}: ([0-9\.]+)")


def test_required_metrics_are_present() -> None:
    assert {"accuracy", "roc_auc", "precision", "recall", "f1"} <= set(METRIC_NAMES)


def test_values_match_scikit_learn_on_ordinary_data() -> None:
    rng = np.random.default_rng(3)
    labels = (rng.random(500) < 0.2).astype(int)
    probabilities = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1)
    metrics = binary_metrics(labels, probabilities)
    assert metrics["roc_auc"] == pytest.approx(sk.roc_auc_score(labels, probabilities))
    assert metrics["f1"] == pytest.approx(sk.f1_score(labels, probabilities >= 0.5))
    assert metrics["accuracy"] == pytest.approx(np.mean((probabilities >= 0.5) == labels))


def test_degenerate_cases_have_defined_values() -> None:
    one_class = binary_metrics(np.zeros(10, dtype=int), np.full(10, 0.1))
    assert one_class["roc_auc"] == 0.5  # no ranking to judge
    assert one_class["accuracy"] == 1.0
    assert (
        one_class["precision"] == one_class["recall"] == one_class["f1"] == 0.0
    )  # nothing predicted positive
    nothing_flagged = binary_metrics(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.2, 0.4]))
    assert nothing_flagged["precision"] == 0.0 and nothing_flagged["roc_auc"] == 1.0


@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)),
        min_size=1,
        max_size=60,
    )
)
def test_every_metric_is_finite_and_read_back_by_the_regex(rows: list[tuple[int, float]]) -> None:
    labels = np.array([r[0] for r in rows])
    probabilities = np.array([r[1] for r in rows], dtype=np.float32)
    metrics = binary_metrics(labels, probabilities)
    log = "\n".join(["fold 1/5 rows=3 " + summary(metrics), *metric_lines(metrics)])
    for name in METRIC_NAMES:
        assert math.isfinite(metrics[name]) and metrics[name] >= 0
        values = workflow_regex(name).findall(log)
        assert len(values) == 1, (name, log)  # the summary line must not be read as a second value
        assert float(values[0]) == pytest.approx(metrics[name], abs=1e-6)


def test_empty_input_is_an_error_not_a_nan() -> None:
    with pytest.raises(ValueError, match="at least one row"):
        binary_metrics(np.array([], dtype=int), np.array([]))


def test_the_printed_metrics_are_the_contract_s_and_the_workflow_reads_only_those() -> None:
    assert METRIC_NAMES == tuple(load_contract()["metrics"]) == tuple(own_image_contract(None).metrics)
    assert set(binary_metrics(np.array([0, 1]), np.array([0.2, 0.9]))) == set(METRIC_NAMES)
    assert set(REPORTED_METRICS) <= set(METRIC_NAMES)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 1), st.sampled_from([0.0, 1.0, 0.5, 0.25, 1e-20, 1 - 1e-9]) | st.floats(0, 1)
        ),
        min_size=1,
        max_size=80,
    )
)
def test_every_metric_equals_scikit_learns(rows: list[tuple[int, float]]) -> None:
    """The numpy implementation against scikit-learn's definitions, ties and extreme probabilities included."""
    labels = np.array([r[0] for r in rows], dtype=np.int8)
    probabilities = np.array([r[1] for r in rows], dtype=np.float32)
    got = binary_metrics(labels, probabilities)
    p = np.clip(probabilities.astype(np.float64), 0, 1)
    predicted = (p >= 0.5).astype(np.int8)
    expected = {
        "accuracy": sk.accuracy_score(labels, predicted),
        "roc_auc": sk.roc_auc_score(labels, p) if np.unique(labels).size == 2 else 0.5,
        "precision": sk.precision_score(labels, predicted, zero_division=0),
        "recall": sk.recall_score(labels, predicted, zero_division=0),
        "f1": sk.f1_score(labels, predicted, zero_division=0),
        "logloss": sk.log_loss(labels, p, labels=[0, 1]),
    }
    for name in METRIC_NAMES:
        assert got[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-12), name
