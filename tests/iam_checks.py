"""Checks shared by the IAM tests: parliament's lint (from the package), a small policy evaluator, and the actions
a definition calls."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from mlops_component.tools.iam_lint import ALLOWED_FINDINGS, lint, without_actions

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


# Extra calls Step Functions makes for the .sync pattern of an optimized integration (AWS's IAM templates; those
# for SageMaker's jobs also grant sagemaker:ListTags, with which Step Functions reads back the tags it set).
_SYNC_EXTRAS = {
    "glue:startJobRun": ["glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
    "sagemaker:createHyperParameterTuningJob": [
        "sagemaker:ListTags",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ],
    "sagemaker:createTransformJob": [
        "sagemaker:ListTags",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ],
    # AWS's IAM policy for the synchronous StartExecution of a nested workflow.
    "states:startExecution": [
        "states:DescribeExecution",
        "states:StopExecution",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ],
    "sagemaker:createProcessingJob": [
        "sagemaker:ListTags",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ],
}
_RESOURCE = re.compile(
    r"arn:aws:states:::(?:aws-sdk:)?(?P<service>[a-z0-9]+):(?P<api>[A-Za-z]+)(?P<sync>\.sync(?::2)?)?"
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


# --- A policy evaluator, by AWS's evaluation logic for one identity policy ---------------------------------------
# An explicit Deny wins, then an Allow, else the request is implicitly denied. Action names match without regard
# to case, resources with; `*` and `?` are wildcards in both. A condition key missing from the request fails its
# operator unless the operator ends in IfExists. Operators the project does not use raise, so an unsupported
# policy is never judged silently.


def _wildcard(pattern: str, value: str, *, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _any_match(patterns: str | list[str], value: str, *, case: bool) -> bool:
    return any(_wildcard(p, value, case=case) for p in _as_list(patterns))


_CONDITION_OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringNotEquals": lambda expected, actual: actual != expected,
    "StringLike": lambda expected, actual: _wildcard(expected, actual, case=True),
    "StringNotLike": lambda expected, actual: not _wildcard(expected, actual, case=True),
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": lambda expected, actual: _wildcard(expected, actual, case=True),
    "Bool": lambda expected, actual: str(actual).lower() == str(expected).lower(),
}


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        if_exists = operator.endswith("IfExists")
        compare = _CONDITION_OPERATORS[operator.removesuffix("IfExists")]
        for key, expected in tests.items():
            if key not in context:
                if if_exists:
                    continue
                return False
            negated = "Not" in operator
            results = [compare(value, context[key]) for value in _as_list(expected)]
            # Several values: a positive operator needs one to match, a negated one all.
            if not (all(results) if negated else any(results)):
                return False
    return True


def _statement_applies(
    statement: dict[str, Any], action: str, resource: str, context: dict[str, str]
) -> bool:
    if "NotAction" in statement:
        if _any_match(statement["NotAction"], action, case=False):
            return False
    elif not _any_match(statement["Action"], action, case=False):
        return False
    if "NotResource" in statement:
        if _any_match(statement["NotResource"], resource, case=True):
            return False
    elif not _any_match(statement["Resource"], resource, case=True):
        return False
    return _conditions_hold(statement.get("Condition", {}), context)


def evaluate(
    policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None
) -> str:
    """The decision for one request against one identity policy: Allow, ExplicitDeny or ImplicitDeny."""
    applying = [s for s in policy["Statement"] if _statement_applies(s, action, resource, context or {})]
    if any(s["Effect"] == "Deny" for s in applying):
        return "ExplicitDeny"
    return "Allow" if applying else "ImplicitDeny"


def without_action(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy with `action` taken out of every statement (statements left empty are dropped)."""
    return without_actions(policy, frozenset({action}))
