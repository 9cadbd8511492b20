"""Checks shared by the IAM tests: parliament's lint, a small policy evaluator, and the actions a definition calls."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

from parliament import analyze_policy_string

# Findings parliament (with its community auditors) reports that are intended: the actions allowed to cause
# each one, and why. A finding is excused only if it disappears once exactly those actions are removed.
ALLOWED_FINDINGS: dict[str, tuple[frozenset[str], str]] = {
    "PERMISSIONS_MANAGEMENT_ACTIONS": (
        frozenset({"iam:PassRole", "logs:PutResourcePolicy"}),
        "Starting SageMaker jobs needs iam:PassRole, limited to one role and one service; Step Functions' "
        "execution logging needs logs:PutResourcePolicy to deliver to its log group.",
    ),
    "CREDENTIALS_EXPOSURE": (
        frozenset({"ecr:GetAuthorizationToken"}),
        "SageMaker pulls the bring-your-own image from ECR with this token.",
    ),
}


def _issues(policy: dict[str, Any]) -> list[Any]:
    return analyze_policy_string(json.dumps(policy), include_community_auditors=True).findings


def _without(policy: dict[str, Any], actions: frozenset[str]) -> dict[str, Any]:
    statements = []
    for statement in policy["Statement"]:
        kept = [a for a in _as_list(statement["Action"]) if a not in actions]
        if kept:
            statements.append({**statement, "Action": kept})
    return {**policy, "Statement": statements}


def lint(policy: dict[str, Any]) -> list[str]:
    """Parliament's findings for a policy, as readable strings, minus the justified ones."""
    findings = _issues(policy)
    problems = [f"{f.issue}: {f.detail}" for f in findings if f.issue not in ALLOWED_FINDINGS]
    for issue in {f.issue for f in findings} & set(ALLOWED_FINDINGS):
        actions, _reason = ALLOWED_FINDINGS[issue]
        if any(f.issue == issue for f in _issues(_without(policy, actions))):
            problems.append(f"{issue}: caused by actions outside its allow-list")
    return problems


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
