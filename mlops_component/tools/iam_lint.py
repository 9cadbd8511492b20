"""Parliament's lint of the IAM policies a stack produces, with the one list of findings this project accepts.

The tests and `mlops check` both lint through `lint()`, so a finding excused here is excused everywhere and
nowhere else. Parliament is the `policy` extra, not a core dependency: import this module only when linting.
"""

from __future__ import annotations

import json
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
    "RESOURCE_MISMATCH": (
        frozenset({"states:DescribeExecution", "states:ListExecutions"}),
        "Waiting on the deployment workflow (startExecution.sync:2) and following a processing run need "
        "DescribeExecution on the runs, and listing them ListExecutions on the machine; parliament expects the "
        "Express-execution and map-run ARN forms as well, which a Standard workflow without a distributed Map "
        "never has.",
    ),
    "CREDENTIALS_EXPOSURE": (
        frozenset({"ecr:GetAuthorizationToken"}),
        "SageMaker pulls the bring-your-own image from ECR with this token.",
    ),
}


def _issues(policy: dict[str, Any]) -> list[Any]:
    return list(analyze_policy_string(json.dumps(policy), include_community_auditors=True).findings)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def without_actions(policy: dict[str, Any], actions: frozenset[str]) -> dict[str, Any]:
    """The policy with `actions` taken out of every statement (statements left empty are dropped)."""
    statements = []
    for statement in policy["Statement"]:
        kept = [a for a in _as_list(statement.get("Action", [])) if a not in actions]
        if kept:
            statements.append({**statement, "Action": kept})
    return {**policy, "Statement": statements}


def lint(policy: dict[str, Any]) -> list[str]:
    """Parliament's findings for a policy, as readable strings, minus the justified ones."""
    findings = _issues(policy)
    problems = [f"{f.issue}: {f.detail}" for f in findings if f.issue not in ALLOWED_FINDINGS]
    for issue in {f.issue for f in findings} & set(ALLOWED_FINDINGS):
        actions, _reason = ALLOWED_FINDINGS[issue]
        if any(f.issue == issue for f in _issues(without_actions(policy, actions))):
            problems.append(f"{issue}: caused by actions outside its allow-list")
    return problems
