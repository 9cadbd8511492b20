"""The model gate: the objective metric compared with the threshold, the same way in the cloud and locally.

The state machine evaluates it as a Choice rule; `mlops local-run` evaluates `gate_passes`. Both come from
`OPERATORS`, so they cannot disagree.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from mlops_component.builders.state_machines.states import when_present
from mlops_component.config import ComparisonOperator

OPERATORS: dict[ComparisonOperator, Callable[[float, float], bool]] = {
    "NumericEquals": operator.eq,
    "NumericGreaterThan": operator.gt,
    "NumericGreaterThanEquals": operator.ge,
    "NumericLessThan": operator.lt,
    "NumericLessThanEquals": operator.le,
}

# Where the tuning job's objective lives in the state after tuning: BestTrainingJob's final objective metric.
OBJECTIVE_VALUE_PATH = "$.tuning.best.FinalHyperParameterTuningJobObjectiveMetric.Value"
OBJECTIVE_NAME_PATH = "$.tuning.best.FinalHyperParameterTuningJobObjectiveMetric.MetricName"


def gate_passes(comparison: ComparisonOperator, value: float, threshold: float) -> bool:
    """True when `value <comparison> threshold` holds, as Step Functions' Choice state would decide."""
    return OPERATORS[comparison](value, threshold)


def choice_rule(comparison: ComparisonOperator, threshold: float, next_state: str) -> dict[str, Any]:
    """The Choice rule that lets a model through the gate. The objective is optional in SageMaker's
    DescribeHyperParameterTuningJob response, so it is tested for presence first (see `when_present`)."""
    return {"And": when_present(OBJECTIVE_VALUE_PATH, {comparison: threshold}), "Next": next_state}


def missing_rule(next_state: str) -> dict[str, Any]:
    """The Choice rule for a best training job without an objective value: nothing to compare."""
    return {"Variable": OBJECTIVE_VALUE_PATH, "IsPresent": False, "Next": next_state}
