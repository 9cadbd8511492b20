"""Every Choice rule of every definition the project builds tests a possibly-absent path for presence first."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_component.builders.state_machines import processing_pipeline, training_workflow
from tests.conftest import BUILT_IN_XGBOOST
from tests.workflows.choice_guards import guaranteed_paths, unguarded_comparisons
from tests.workflows.test_processing_workflow import RESOURCES as PROCESSING_RESOURCES
from tests.workflows.test_training_workflow import ENDPOINT_MODE
from tests.workflows.test_training_workflow import RESOURCES as TRAINING_RESOURCES

BUILT_IN = BUILT_IN_XGBOOST
KMS = {"kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
VARIANTS = {
    "training-batch": ("training", {}),
    "training-endpoint": ("training", {"endpoint_or_batch_transform": ENDPOINT_MODE}),
    "training-batch-built-in": ("training", BUILT_IN),
    "training-endpoint-built-in-kms": (
        "training",
        {**BUILT_IN, **KMS, "endpoint_or_batch_transform": ENDPOINT_MODE},
    ),
    "processing": ("processing", {"enable_processing_pipeline": True}),
    "processing-kms": ("processing", {"enable_processing_pipeline": True, **KMS}),
}


def build(make_config: Any, variant: str) -> dict[str, Any]:
    kind, overrides = VARIANTS[variant]
    config = make_config(**overrides)
    if kind == "training":
        return training_workflow.training_definition(config, TRAINING_RESOURCES)
    return processing_pipeline.processing_definition(config, PROCESSING_RESOURCES)


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_choice_compares_a_possibly_absent_path_unguarded(make_config, variant: str) -> None:
    definition = build(make_config, variant)
    # Every Choice state is reached by the analysis, so none escapes the check.
    choices = {name for name, state in definition["States"].items() if state["Type"] == "Choice"}
    assert choices <= set(guaranteed_paths(definition))
    assert unguarded_comparisons(definition) == []


def _machine(first: dict[str, Any], **states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "First", "States": {"First": first, **states, "End": {"Type": "Succeed"}}}


def test_the_check_finds_what_aws_would_fail() -> None:
    unguarded = _machine(
        {
            "Type": "Choice",
            "Choices": [
                {"And": [{"Variable": "$.train.bucket", "IsString": True}], "Next": "End"},
                {"Not": {"Variable": "$.score", "IsPresent": True}, "Next": "End"},  # IsPresent never fails
                # The guard must come first: And stops at its first false member, in order.
                {
                    "And": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.n", "IsPresent": True}],
                    "Next": "End",
                },
                {
                    "Or": [{"Variable": "$.a", "IsPresent": True}, {"Variable": "$.a", "IsString": True}],
                    "Next": "End",
                },
                {
                    "And": [
                        {"Variable": "$.x", "IsPresent": True},
                        {"Variable": "$.y", "NumericLessThanPath": "$.x"},
                    ],
                    "Next": "End",
                },
            ],
            "Default": "End",
        }
    )
    assert unguarded_comparisons(unguarded) == [
        "First: IsString on $.train.bucket",
        "First: NumericEquals on $.n",
        "First: IsString on $.a",
        "First: NumericLessThanPath on $.y",
    ]


def test_a_path_is_guaranteed_only_when_every_way_in_writes_it() -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": "$.out",
        "Next": "Check",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Check"}],
    }
    check = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.error.Error", "StringEquals": "x", "Next": "End"},  # not written on success
            {"Variable": "$.out.result", "IsNull": True, "Next": "End"},  # not written on failure
            {"Variable": "$.out.result.field", "IsString": True, "Next": "End"},  # the payload's own fields
        ],
        "Default": "End",
    }
    assert unguarded_comparisons(_machine(task, Check=check)) == [
        "Check: StringEquals on $.error.Error",
        "Check: IsNull on $.out.result",
        "Check: IsString on $.out.result.field",
    ]
    only_success = {**task, "Catch": []}
    assert unguarded_comparisons(_machine(only_success, Check=check)) == [
        "Check: StringEquals on $.error.Error",
        "Check: IsString on $.out.result.field",
    ]
