"""A Step Functions state machine as both workflows deploy it: its own role, a log group, logging and tracing."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from mlops_component.builders import iam


def logged_state_machine(
    name: str,
    parent: pulumi.Resource,
    *,
    machine_name: str,
    role_name: str | None,
    account: pulumi.Output[iam.Account],
    log_retention_days: int,
    tracing: bool,
    policy: pulumi.Input[str],
    definition: pulumi.Input[str],
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.sfn.StateMachine:
    """Create `<name>-logs`, `<name>-role`, `<name>-policy` and `<name>-state-machine` under `parent`.

    The role is trusted by Step Functions on behalf of this account only and holds exactly `policy`. Every
    execution is logged (with its data) to a log group kept `log_retention_days`, and traced with X-Ray when
    `tracing` is set.
    """
    child = pulumi.ResourceOptions(parent=parent)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/aws/vendedlogs/states/{machine_name}",
        retention_in_days=log_retention_days,
        opts=child,
    )
    role = aws.iam.Role(
        f"{name}-role",
        name=role_name,
        description=f"Runs the {machine_name} state machine",
        assume_role_policy=account.apply(
            lambda a: json.dumps(iam.assume_role_policy("states.amazonaws.com", source_account=a.account_id))
        ),
        opts=child,
    )
    role_policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child)
    return aws.sfn.StateMachine(
        f"{name}-state-machine",
        name=machine_name,
        role_arn=role.arn,
        definition=definition,
        logging_configuration={
            "log_destination": log_group.arn.apply(lambda arn: f"{arn}:*"),
            "include_execution_data": True,
            "level": "ALL",
        },
        tracing_configuration={"enabled": tracing},
        # The role must hold its permissions before Step Functions validates the logging destination.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role_policy, *depends_on]),
    )
