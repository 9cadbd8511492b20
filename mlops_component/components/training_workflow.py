"""The training workflow: its state machine, the functions it calls, its roles, logs and failure topic."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.builders.state_machines.training_workflow import TrainingResources, training_definition
from mlops_component.components.data_stores import BucketRef
from mlops_component.components.lambda_function import FunctionSpec, PythonFunction, log_group_name
from mlops_component.components.logged_state_machine import logged_state_machine
from mlops_component.config import MlOpsConfig

RUN_METADATA = FunctionSpec(
    "run_metadata", "Records a tuning run's best model, metrics and hyperparameters", timeout_seconds=30
)
RENAME_OUTPUT = FunctionSpec(
    "rename_output", "Renames a batch transform's output to .csv", timeout_seconds=120
)
ENDPOINT = FunctionSpec(
    "endpoint", "Creates the inference endpoint or updates it to a new model", timeout_seconds=30
)


def failure_topic(name: str, config: MlOpsConfig, parent: pulumi.Resource) -> aws.sns.Topic:
    """The topic every workflow publishes its failures to, with the optional email subscription."""
    topic = aws.sns.Topic(
        f"{name}-failures",
        name=naming.resource_name(config.name_prefix, naming.FAILURE_TOPIC),
        kms_master_key_id="alias/aws/sns",  # encrypted at rest with the account's SNS key
        opts=pulumi.ResourceOptions(parent=parent),
    )
    if config.notification_email:
        email: pulumi.Input[str] = config.notification_email
        if "notification_email" in config.secret_fields:
            email = pulumi.Output.secret(config.notification_email)
        aws.sns.TopicSubscription(
            f"{name}-failures-email",
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return topic


class TrainingWorkflow(pulumi.ComponentResource):
    """ETL, tuning, the metric gate, and batch inference or an endpoint, as a Step Functions state machine."""

    state_machine_arn: pulumi.Output[str]
    """ARN of the training workflow."""
    state_machine_name: pulumi.Output[str]
    """Name of the training workflow."""
    definition: pulumi.Output[str]
    """The deployed Amazon States Language definition (JSON)."""
    topic_arn: pulumi.Output[str]
    """ARN of the topic failures are published to."""
    sagemaker_role_arn: pulumi.Output[str]
    """The role training jobs, transform jobs and endpoints run as."""

    def __init__(
        self,
        name: str,
        config: MlOpsConfig,
        *,
        account: pulumi.Output[iam.Account],
        buckets: dict[naming.Store, BucketRef],
        glue_job_name: pulumi.Input[str],
        etl_timeout_seconds: int,
        prediction_crawler_name: pulumi.Input[str] | None,
        image_uri: pulumi.Input[str],
        image_repository_arn: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:index:TrainingWorkflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = config.name_prefix
        names = {store: ref.name for store, ref in buckets.items()}

        topic = failure_topic(name, config, self)

        sagemaker_role = aws.iam.Role(
            f"{name}-sagemaker-role",
            name=naming.resource_name(prefix, naming.SAGEMAKER_ROLE),
            description="Runs the pipeline's SageMaker training jobs, transform jobs and endpoints",
            assume_role_policy=account.apply(
                lambda a: json.dumps(
                    iam.assume_role_policy("sagemaker.amazonaws.com", source_account=a.account_id)
                )
            ),
            opts=child,
        )
        sagemaker_policy = aws.iam.RolePolicy(
            f"{name}-sagemaker-policy",
            role=sagemaker_role.id,
            policy=pulumi.Output.all(
                account, names["extracts"], names["models"], names["output"], image_repository_arn
            ).apply(
                lambda v: json.dumps(
                    iam.sagemaker_execution_policy(
                        v[0],
                        iam.SageMakerTargets(
                            extracts_bucket=v[1],
                            models_bucket=v[2],
                            output_bucket=v[3],
                            repository_arn=v[4],
                            endpoint_name=None if config.is_batch else config.endpoint_name,
                            kms_key_arn=config.kms_key_arn,
                        ),
                    )
                )
            ),
            opts=child,
        )

        functions = self._functions(name, config, account, names)

        function_arns = [f.arn for f in functions.values()]
        policy = pulumi.Output.all(
            account, glue_job_name, sagemaker_role.arn, topic.arn, prediction_crawler_name, *function_arns
        ).apply(
            lambda v: json.dumps(
                iam.state_machine_policy(
                    v[0],
                    iam.WorkflowTargets(
                        job_name=config.job_name,
                        glue_job_name=v[1],
                        sagemaker_role_arn=v[2],
                        topic_arn=v[3],
                        prediction_crawler_name=v[4] if config.is_batch else None,
                        function_arns=list(v[5:]),
                        endpoint_name=None if config.is_batch else config.endpoint_name,
                    ),
                    tracing=config.enable_xray_tracing,
                )
            )
        )
        definition = pulumi.Output.all(
            glue_job_name=glue_job_name,
            extracts=names["extracts"],
            models=names["models"],
            output=names["output"],
            image_uri=image_uri,
            sagemaker_role_arn=sagemaker_role.arn,
            topic_arn=topic.arn,
            crawler=prediction_crawler_name,
            **{f"fn_{module}": f.arn for module, f in functions.items()},
        ).apply(lambda v: json.dumps(training_definition(config, _resources(v, etl_timeout_seconds))))

        machine = logged_state_machine(
            name,
            self,
            config,
            machine_name=naming.resource_name(prefix, naming.TRAINING_STATE_MACHINE),
            role_name=naming.resource_name(prefix, naming.TRAINING_WORKFLOW_ROLE),
            account=account,
            policy=policy,
            definition=definition,
            depends_on=[sagemaker_policy],
        )

        self.state_machine_arn = machine.arn
        self.state_machine_name = machine.name
        self.definition = definition
        self.topic_arn = topic.arn
        self.sagemaker_role_arn = sagemaker_role.arn
        self.register_outputs(
            {
                "state_machine_arn": self.state_machine_arn,
                "state_machine_name": self.state_machine_name,
                "topic_arn": self.topic_arn,
                "sagemaker_role_arn": self.sagemaker_role_arn,
            }
        )

    def _functions(
        self,
        name: str,
        config: MlOpsConfig,
        account: pulumi.Output[iam.Account],
        names: dict[naming.Store, pulumi.Output[str]],
    ) -> dict[str, PythonFunction]:
        """The functions this mode of the workflow calls, each with its own least-privilege role."""
        prefix = config.name_prefix
        options = pulumi.ResourceOptions(parent=self)

        metadata_name = naming.function_name(prefix, RUN_METADATA.module)
        functions = {
            RUN_METADATA.module: PythonFunction(
                f"{name}-run-metadata",
                function_name=metadata_name,
                spec=RUN_METADATA,
                policy=pulumi.Output.all(account, names["metadata"]).apply(
                    lambda v: json.dumps(
                        iam.run_metadata_function_policy(
                            v[0],
                            job_name=config.job_name,
                            metadata_bucket=v[1],
                            metadata_prefix=layout.METADATA_PREFIX,
                            kms_key_arn=config.kms_key_arn,
                            log_group=log_group_name(metadata_name),
                        )
                    )
                ),
                environment={
                    "METADATA_BUCKET": names["metadata"],
                    "METADATA_PREFIX": layout.METADATA_PREFIX,
                },
                log_retention_days=config.log_retention_days,
                opts=options,
            )
        }
        if config.is_batch:
            rename_name = naming.function_name(prefix, RENAME_OUTPUT.module)
            functions[RENAME_OUTPUT.module] = PythonFunction(
                f"{name}-rename-output",
                function_name=rename_name,
                spec=RENAME_OUTPUT,
                policy=pulumi.Output.all(account, names["output"]).apply(
                    lambda v: json.dumps(
                        iam.rename_output_function_policy(
                            v[0],
                            output_bucket=v[1],
                            prefix=layout.PREDICTIONS_PREFIX,
                            kms_key_arn=config.kms_key_arn,
                            log_group=log_group_name(rename_name),
                        )
                    )
                ),
                environment={},
                log_retention_days=config.log_retention_days,
                opts=options,
            )
        else:
            endpoint_name = naming.function_name(prefix, ENDPOINT.module)
            functions[ENDPOINT.module] = PythonFunction(
                f"{name}-endpoint",
                function_name=endpoint_name,
                spec=ENDPOINT,
                policy=account.apply(
                    lambda a: json.dumps(
                        iam.endpoint_function_policy(
                            a,
                            job_name=config.job_name,
                            endpoint_name=config.endpoint_name,
                            log_group=log_group_name(endpoint_name),
                        )
                    )
                ),
                environment={
                    "RESOURCE_TAGS": json.dumps({**config.tags, "mlops:created-by": "training-workflow"})
                },
                log_retention_days=config.log_retention_days,
                opts=options,
            )
        return functions


def _resources(values: dict[str, Any], etl_timeout_seconds: int) -> TrainingResources:
    return TrainingResources(
        glue_job_name=values["glue_job_name"],
        etl_timeout_seconds=etl_timeout_seconds,
        extracts_bucket=values["extracts"],
        models_bucket=values["models"],
        output_bucket=values["output"],
        image_uri=values["image_uri"],
        sagemaker_role_arn=values["sagemaker_role_arn"],
        topic_arn=values["topic_arn"],
        run_metadata_function_arn=values[f"fn_{RUN_METADATA.module}"],
        rename_output_function_arn=values.get(f"fn_{RENAME_OUTPUT.module}"),
        prediction_crawler_name=values["crawler"],
        endpoint_function_arn=values.get(f"fn_{ENDPOINT.module}"),
    )
