"""Starting a run when data lands: the trigger function and the feature store's S3 notification."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.components.aws_account import account_or_lookup
from mlops_component.components.lambda_function import FunctionSpec, PythonFunction, log_group_name

TRIGGER = FunctionSpec(
    "trigger", "Starts the training workflow when train/score data lands in the feature store"
)


@dataclass(frozen=True)
class DataLandingTriggerArgs:
    """What `DataLandingTrigger` needs: the bucket it watches and the workflow it starts."""

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

        function = PythonFunction(
            f"{name}-function",
            function_name=function_name,
            spec=TRIGGER,
            policy=pulumi.Output.all(account, bucket, args.state_machine_arn).apply(
                lambda v: json.dumps(
                    iam.trigger_function_policy(
                        v[0],
                        feature_bucket=v[1],
                        data_prefixes=prefixes,
                        state_machine_arn=v[2],
                        log_group=log_group_name(function_name),
                    )
                )
            ),
            environment={
                "STATE_MACHINE_ARN": args.state_machine_arn,
                "INFERENCE_MODE": "batch" if args.batch else "endpoint",
                "TRAIN_PREFIX": layout.TRAIN_PREFIX,
                "SCORE_PREFIX": layout.SCORE_PREFIX,
            },
            log_retention_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
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

        self.function_arn = function.arn
        self.register_outputs({"function_arn": self.function_arn})
