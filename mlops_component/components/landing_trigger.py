"""What starts runs: the trigger function, with the feature store's S3 notification, the EventBridge rule on the
stack's model package approvals and the optional schedules as its event sources."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming, start_events
from mlops_component.components.aws_account import account_or_lookup
from mlops_component.components.lambda_function import FunctionSpec, PythonFunction, log_group_name
from mlops_component.components.trigger_schedules import TriggerSchedules, TriggerSchedulesArgs

TRIGGER = FunctionSpec(
    "trigger",
    "Starts the training and deployment workflows when data lands, a model is approved, or on schedule",
)


@dataclass(frozen=True)
class DataLandingTriggerArgs:
    """What `DataLandingTrigger` needs: the bucket it watches, the workflows it starts and the registry."""

    name_prefix: str
    """Prefix of the trigger function's name."""
    feature_store_bucket: pulumi.Input[str]
    """The bucket data lands in (`train/`, and `score/` in batch mode)."""
    state_machine_arn: pulumi.Input[str]
    """The training workflow the function starts."""
    log_retention_days: int
    """Retention of the function's log group."""
    batch: bool
    """Batch inference: scoring data landing under `score/` starts a run too (only `train/` otherwise)."""
    feature_store_arn: pulumi.Input[str] | None = None
    """ARN of `feature_store_bucket`; built from the name and the account's partition when None."""
    account: pulumi.Input[iam.Account] | None = None
    """The account and region ARNs are built for; looked up from the AWS provider when None."""
    deployment_state_machine_arn: pulumi.Input[str] | None = None
    """The deployment workflow the function starts; formed from its name (`<prefix>-deployment`) when None."""
    model_package_group: str | None = None
    """The model package group whose approvals deploy; `<prefix>-models` when None."""
    retrain_schedule: str | None = None
    """EventBridge Scheduler expression of scheduled retraining; None: no schedule."""
    score_schedule: str | None = None
    """EventBridge Scheduler expression of scheduled batch scoring; None: no schedule."""


class DataLandingTrigger(pulumi.ComponentResource):
    """Invokes the trigger function for objects created under the feature store's data prefixes.

    S3 holds one notification configuration per bucket: this replaces whatever notification configuration
    the bucket had (which matters for an existing feature store).
    """

    function_arn: pulumi.Output[str]
    """ARN of the trigger function."""

    def __init__(
        self, name: str, args: DataLandingTriggerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:index:DataLandingTrigger", name, None, opts)
        account = account_or_lookup(args.account, self)
        bucket = args.feature_store_bucket
        bucket_arn = args.feature_store_arn or pulumi.Output.all(account, bucket).apply(
            lambda v: iam.bucket_arn(v[0].partition, v[1])
        )
        prefixes = [layout.TRAIN_PREFIX, layout.SCORE_PREFIX] if args.batch else [layout.TRAIN_PREFIX]
        function_name = naming.function_name(args.name_prefix, TRIGGER.module)

        group = args.model_package_group or naming.resource_name(args.name_prefix, naming.MODEL_PACKAGE_GROUP)
        deployment_arn = args.deployment_state_machine_arn or account.apply(
            lambda a: iam.state_machine_arn(
                a, naming.resource_name(args.name_prefix, naming.DEPLOYMENT_STATE_MACHINE)
            )
        )
        function = PythonFunction(
            f"{name}-function",
            function_name=function_name,
            spec=TRIGGER,
            policy=pulumi.Output.all(account, bucket, args.state_machine_arn, deployment_arn).apply(
                lambda v: json.dumps(
                    iam.trigger_function_policy(
                        v[0],
                        feature_bucket=v[1],
                        data_prefixes=prefixes,
                        state_machine_arn=v[2],
                        deployment_state_machine_arn=v[3],
                        model_package_group=group,
                        log_group=log_group_name(function_name),
                    )
                )
            ),
            environment={
                "STATE_MACHINE_ARN": args.state_machine_arn,
                "DEPLOYMENT_STATE_MACHINE_ARN": deployment_arn,
                "MODEL_PACKAGE_GROUP": group,
                "FEATURE_BUCKET": bucket,
                "INFERENCE_MODE": "batch" if args.batch else "endpoint",
                "TRAIN_PREFIX": layout.TRAIN_PREFIX,
                "SCORE_PREFIX": layout.SCORE_PREFIX,
            },
            log_retention_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._approval_rule(name, args.name_prefix, group, function)
        if args.retrain_schedule or args.score_schedule:
            TriggerSchedules(
                f"{name}-schedules",
                TriggerSchedulesArgs(
                    name_prefix=args.name_prefix,
                    function_arn=function.arn,
                    retrain_schedule=args.retrain_schedule,
                    score_schedule=args.score_schedule,
                    account=account,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._s3_notification(name, bucket, bucket_arn, account, prefixes, function)

        self.function_arn = function.arn
        self.register_outputs({"function_arn": self.function_arn})

    def _s3_notification(
        self,
        name: str,
        bucket: pulumi.Input[str],
        bucket_arn: pulumi.Input[str],
        account: pulumi.Output[iam.Account],
        prefixes: list[str],
        function: PythonFunction,
    ) -> None:
        """Objects created under the data prefixes invoke the function."""
        # Only this bucket, in this account, may invoke the function (a bucket name alone can be re-registered
        # by someone else after deletion).
        permission = aws.lambda_.Permission(
            f"{name}-s3-invoke",
            action="lambda:InvokeFunction",
            function=function.arn,
            principal="s3.amazonaws.com",
            source_arn=bucket_arn,
            source_account=account.apply(lambda a: a.account_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=bucket,
            lambda_functions=[
                {
                    "lambda_function_arn": function.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": prefix,
                }
                for prefix in prefixes
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

    def _approval_rule(self, name: str, name_prefix: str, group: str, function: PythonFunction) -> None:
        """Approvals of the group's packages invoke the function; only this rule may invoke it for EventBridge."""
        child = pulumi.ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(
            f"{name}-approvals",
            name=naming.resource_name(name_prefix, "model-approvals"),
            description=f"Approvals of model packages in {group} start the deployment workflow",
            event_pattern=json.dumps(start_events.approval_event_pattern(group)),
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-approvals-invoke",
            action="lambda:InvokeFunction",
            function=function.arn,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-approvals-target",
            rule=rule.name,
            arn=function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
