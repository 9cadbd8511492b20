"""The metrics' last guard: a model whose predictions hold a NaN must fail the training job, never hand the
tuner a NaN objective (the tuning regex would not even read one)."""

from __future__ import annotations

import numpy as np
import pytest
from xgb_model.metrics import binary_metrics


def test_a_nan_prediction_fails_naming_the_metric_it_spoils() -> None:
    probabilities = np.array([0.2, np.nan, 0.9, 0.1])  # e.g. from a booster that diverged

    with pytest.raises(ValueError, match=r"metrics \['logloss'\] are not finite non-negative numbers"):
        binary_metrics(np.array([0, 1, 1, 0]), probabilities)
