"""The gate's five operators at, just below and just above the threshold: executed in the deployed definition
on the ASL interpreter, and in `gate_passes`, which `mlops local-run` evaluates. One table of expected outcomes,
written out rather than computed, so swapping an operator for its neighbour fails both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_component.builders.state_machines import gate
from mlops_component.builders.state_machines import training_workflow as wf
from tests.workflows.asl import MOCK_CONFIG, execute
from tests.workflows.test_training_workflow import FAST, LANDED, RESOURCES

THRESHOLD = 0.7
BELOW, AT, ABOVE = 0.6999999, 0.7, 0.7000001
# Does the model pass, for a value below, at and above the threshold?
PASSES = {
    "NumericEquals": (False, True, False),
    "NumericGreaterThan": (False, False, True),
    "NumericGreaterThanEquals": (False, True, True),
    "NumericLessThan": (True, False, False),
    "NumericLessThanEquals": (True, True, False),
}
CASES = [
    pytest.param(operator, value, passes, id=f"{operator}-{where}")
    for operator, outcomes in PASSES.items()
    for (where, value), passes in zip((("below", BELOW), ("at", AT), ("above", ABOVE)), outcomes, strict=True)
]


def test_the_table_covers_every_operator_the_config_accepts() -> None:
    assert set(PASSES) == set(gate.OPERATORS)


@pytest.mark.parametrize(("operator", "value", "passes"), CASES)
def test_local_run_gate(operator: str, value: float, passes: bool) -> None:
    assert gate.gate_passes(operator, value, THRESHOLD) is passes  # type: ignore[arg-type]


def _mock_config_with_objective(tmp_path: Path, value: float | None) -> Path:
    """The mock config with the tuning job's best objective set to `value` (left out when None)."""
    config = json.loads(MOCK_CONFIG.read_text())
    best = config["MockedResponses"]["TuningBeatsThreshold"]["0"]["Return"]["BestTrainingJob"]
    if value is None:
        del best["FinalHyperParameterTuningJobObjectiveMetric"]
    else:
        best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] = value
    path = tmp_path / "mock_config.json"
    path.write_text(json.dumps(config))
    return path


def _run(make_config: Any, tmp_path: Path, operator: str, value: float | None):
    config = make_config(inference_comparison_operator=operator, inference_metric_threshold=THRESHOLD)
    return execute(
        wf.training_definition(config, RESOURCES, FAST),
        LANDED,
        state_machine="training-batch",
        test_case="GatePasses",
        mock_config=_mock_config_with_objective(tmp_path, value),
    )


@pytest.mark.parametrize(("operator", "value", "passes"), CASES)
def test_deployed_gate(make_config, tmp_path: Path, operator: str, value: float, passes: bool) -> None:
    outcome = _run(make_config, tmp_path, operator, value)
    if passes:
        assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
        assert wf.REGISTER_MODEL in outcome.entered
    else:
        assert (outcome.status, outcome.error) == ("FAILED", "ObjectiveBelowThreshold"), outcome.cause
        assert outcome.cause == (
            f"Objective metric accuracy = {value} did not pass {operator} {THRESHOLD}; the model was not registered"
        )
        assert wf.REGISTER_MODEL not in outcome.entered


def test_a_best_job_without_an_objective_fails_with_a_notification(make_config, tmp_path: Path) -> None:
    # The objective is optional in DescribeHyperParameterTuningJob; comparing it absent is States.Runtime.
    outcome = _run(make_config, tmp_path, "NumericGreaterThan", None)
    assert (outcome.status, outcome.error) == ("FAILED", "ObjectiveMissing"), outcome.cause
    assert outcome.cause == (
        "Tuning job employee-attrition-0a1b2c3d4e5f reported no accuracy value for its best training job; "
        "the model was not registered"
    )
    assert outcome.entered[-3:] == [wf.RECORD_NOT_REGISTERED, wf.NOTIFY_FAILURE, "Run Failed"]
