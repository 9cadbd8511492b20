"""Starting a run when data lands: the trigger function and the feature store's S3 notification."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.components.data_stores import BucketRef
from mlops_component.components.lambda_function import FunctionSpec, PythonFunction, log_group_name
from mlops_component.config import MlOpsConfig

TRIGGER = FunctionSpec(
    "trigger", "Starts the training workflow when train/score data lands in the feature store"
)


class DataLandingTrigger(pulumi.ComponentResource):
    """Invokes the trigger function for objects created under the feature store's data prefixes.

    S3 holds one notification configuration per bucket. With `feature_store_override`, this replaces whatever
    notification configuration the existing bucket had.
    """

    function_arn: pulumi.Output[str]
    """ARN of the trigger function."""

    def __init__(
        self,
        name: str,
        config: MlOpsConfig,
        *,
        account: pulumi.Output[iam.Account],
        feature_store: BucketRef,
        state_machine_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:index:DataLandingTrigger", name, None, opts)
        prefixes = [layout.TRAIN_PREFIX, layout.SCORE_PREFIX] if config.is_batch else [layout.TRAIN_PREFIX]
        function_name = naming.function_name(config.name_prefix, TRIGGER.module)

        function = PythonFunction(
            f"{name}-function",
            function_name=function_name,
            spec=TRIGGER,
            policy=pulumi.Output.all(account, feature_store.name, state_machine_arn).apply(
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
                "STATE_MACHINE_ARN": state_machine_arn,
                "INFERENCE_MODE": "batch" if config.is_batch else "endpoint",
                "TRAIN_PREFIX": layout.TRAIN_PREFIX,
                "SCORE_PREFIX": layout.SCORE_PREFIX,
            },
            log_retention_days=config.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Only this bucket, in this account, may invoke the function (a bucket name alone can be re-registered
        # by someone else after deletion).
        permission = aws.lambda_.Permission(
            f"{name}-s3-invoke",
            action="lambda:InvokeFunction",
            function=function.arn,
            principal="s3.amazonaws.com",
            source_arn=feature_store.arn,
            source_account=account.apply(lambda a: a.account_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=feature_store.name,
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
