"""Checks shared by the IAM tests: parliament's lint (from the package), a small policy evaluator, and the actions
a definition calls."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from mlops_component.tools.iam_lint import ALLOWED_FINDINGS, lint

__all__ = ["ALLOWED_FINDINGS", "lint"]


def allow_statements(policy: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            yield statement


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def wildcard_problems(policy: dict[str, Any]) -> list[str]:
    """Allow statements with `*` or `service:*` actions; the brief forbids both."""
    problems = []
    for statement in allow_statements(policy):
        for action in _as_list(statement["Action"]):
            if action == "*" or action.endswith(":*"):
                problems.append(f"{statement.get('Sid')}: action {action}")
    return problems


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    """Whether some Allow statement grants `action` on `resource` (conditions are not evaluated)."""
    for statement in allow_statements(policy):
        actions = [a.lower() for a in _as_list(statement["Action"])]
        if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
            continue
        if any(fnmatch.fnmatchcase(resource, pattern) for pattern in _as_list(statement["Resource"])):
            return True
    return False


# Extra calls Step Functions makes for the .sync pattern of an optimized integration (AWS's IAM templates).
_SYNC_EXTRAS = {
    "glue:startJobRun": ["glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
    "sagemaker:createHyperParameterTuningJob": [
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ],
    "sagemaker:createTransformJob": [
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ],
    "sagemaker:createProcessingJob": [
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ],
}
_RESOURCE = re.compile(
    r"arn:aws:states:::(?:aws-sdk:)?(?P<service>[a-z0-9]+):(?P<api>[A-Za-z]+)(?P<sync>\.sync)?"
)


def called_actions(definition: dict[str, Any]) -> dict[str, tuple[str, set[str]]]:
    """Per Task state: the IAM action its Resource names, and every action it needs (that one included)."""
    needed: dict[str, tuple[str, set[str]]] = {}
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        match = _RESOURCE.fullmatch(state["Resource"])
        assert match, f"unrecognised resource {state['Resource']}"
        service, api = match["service"], match["api"]
        iam_service = {"lambda": "lambda", "sns": "sns"}.get(service, service)
        action = (
            "lambda:InvokeFunction" if service == "lambda" else f"{iam_service}:{api[0].upper()}{api[1:]}"
        )
        actions = {action}
        if match["sync"]:
            actions |= set(_SYNC_EXTRAS[f"{service}:{api}"])
        if service == "sagemaker" and api.startswith("create"):
            actions.add("sagemaker:AddTags")  # every create carries the run's tags
        needed[name] = (action, actions)
    return needed
