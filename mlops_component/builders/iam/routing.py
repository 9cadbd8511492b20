"""Policies of what starts the workflows: the trigger function (the one router of starts) and the role EventBridge
Scheduler assumes to invoke it on a schedule."""

from __future__ import annotations

from mlops_component.builders.iam.statements import (
    Account,
    Policy,
    allow,
    document,
    list_whole_bucket,
    objects_arn,
    write_logs,
)


def state_machine_arn(account: Account, name: str) -> str:
    """A state machine's ARN, formed from its name (so a starter need not wait for the state machine's Output)."""
    return account.arn("states", f"stateMachine:{name}")


def trigger_function_policy(
    account: Account,
    *,
    feature_bucket: str,
    data_prefixes: list[str],
    state_machine_arn: str,
    deployment_state_machine_arn: str,
    model_package_group: str,
    log_group: str,
) -> Policy:
    """Look at landed data and the stack's model packages, and start the two workflows; nothing else."""
    p = account.partition
    return document(
        list_whole_bucket(p, feature_bucket),
        allow(
            ["s3:GetObject"],
            [objects_arn(p, feature_bucket, prefix) for prefix in data_prefixes],
            sid="InspectLandedData",
        ),
        allow(
            ["states:StartExecution"], [state_machine_arn, deployment_state_machine_arn], sid="StartWorkflows"
        ),
        # The package an approval event names is read back for its current status and metadata.
        allow(
            ["sagemaker:DescribeModelPackage"],
            account.sagemaker("model-package", f"{model_package_group}/*"),
            sid="ReadModelPackages",
        ),
        # ListModelPackages has no resource type in the Service Authorization Reference: it cannot be scoped.
        allow(["sagemaker:ListModelPackages"], "*", sid="ListModelPackages"),
        write_logs([account.log_group(log_group)]),
    )


def scheduler_policy(*, function_arn: str, dead_letter_queue_arn: str) -> Policy:
    """Invoke the trigger function, and park an invocation that failed every retry in the dead-letter queue."""
    return document(
        allow(["lambda:InvokeFunction"], function_arn, sid="InvokeTrigger"),
        allow(["sqs:SendMessage"], dead_letter_queue_arn, sid="DeadLetter"),
    )
