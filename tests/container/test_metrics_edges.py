"""Metrics at their edges: a NaN never reaches the tuner, and the one-line summary reads as `name=value` pairs."""

from __future__ import annotations

import numpy as np
import pytest
from xgb_model.metrics import METRIC_NAMES, binary_metrics, summary


def test_a_nan_prediction_fails_naming_the_metric_it_spoils() -> None:
    # The tuning regex would not even read a NaN objective; the training job must fail instead.
    probabilities = np.array([0.2, np.nan, 0.9, 0.1])  # e.g. from a booster that diverged

    with pytest.raises(ValueError, match=r"metrics \['logloss'\] are not finite non-negative numbers"):
        binary_metrics(np.array([0, 1, 1, 0]), probabilities)


def test_the_summary_line_is_name_value_pairs_separated_by_spaces() -> None:
    metrics = binary_metrics(np.array([0, 1, 1, 0]), np.array([0.2, 0.6, 0.9, 0.7]))

    pairs = [pair.split("=") for pair in summary(metrics).split(" ")]

    assert [name for name, _ in pairs] == list(METRIC_NAMES)
    assert {name: float(value) for name, value in pairs} == pytest.approx(metrics, abs=1e-6)
