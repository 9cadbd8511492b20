"""The training and deployment workflows: their state machines, the functions they call, their roles, logs and
failure topic, and the model package group the first registers models in and the second deploys from."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.builders.state_machines.deployment_workflow import DeploymentResources
from mlops_component.builders.state_machines.training_workflow import TrainingResources
from mlops_component.components.aws_account import account_or_lookup
from mlops_component.components.lambda_function import FunctionSpec, PythonFunction, log_group_name
from mlops_component.components.logged_state_machine import logged_state_machine

RUN_METADATA = FunctionSpec(
    "run_metadata", "Records a tuning run's best model, metrics and hyperparameters", timeout_seconds=30
)
RENAME_OUTPUT = FunctionSpec(
    "rename_output", "Renames a batch transform's output to .csv", timeout_seconds=120
)
ENDPOINT = FunctionSpec(
    "endpoint", "Creates the inference endpoint or updates it to a new model", timeout_seconds=30
)
REGISTER_MODEL = FunctionSpec(
    "register_model", "Registers a run's model that passed the gate as a model package", timeout_seconds=120
)

# Builds the Amazon States Language definition from the names and ARNs of what the workflow runs.
DefinitionBuilder = Callable[[TrainingResources], dict[str, Any]]
DeploymentBuilder = Callable[[DeploymentResources], dict[str, Any]]


@dataclass(frozen=True)
class TrainingWorkflowArgs:
    """What `TrainingWorkflow` needs: the buckets, job and image it runs, and the definition of its steps."""

    name_prefix: str
    """Prefix of the state machine, role, topic and function names."""
    job_name: str
    """The pipeline's job name: SageMaker jobs, models and endpoint configs it creates start with it."""
    definition: DefinitionBuilder
    """Builds the state machine's definition from the resources' names and ARNs (`MlOpsPipeline` passes
    `training_definition` with its config)."""
    deployment_definition: DeploymentBuilder
    """Builds the deployment workflow's definition (`MlOpsPipeline` passes `deployment_definition`)."""
    approval_mode: str
    """`automatic`: a registered model is approved and deployed in its run; `manual`: it awaits approval."""
    inference_instance_type: str
    """The instance type batch transform or the endpoint runs on, which the model package lists as supported."""
    extracts_bucket: pulumi.Input[str]
    """Bucket of the ETL's extracts, which training and batch inference read."""
    models_bucket: pulumi.Input[str]
    """Bucket the trained models are written to."""
    metadata_bucket: pulumi.Input[str]
    """Bucket each run's metadata (best model, metrics, hyperparameters) is recorded in."""
    output_bucket: pulumi.Input[str]
    """Bucket batch predictions are written to."""
    glue_job_name: pulumi.Input[str]
    """The Glue ETL job the workflow starts first."""
    etl_timeout_seconds: int
    """How long the workflow waits for one ETL run."""
    image_uri: pulumi.Input[str]
    """The image training and inference run."""
    log_retention_days: int
    """Retention of the state machine's and the functions' log groups."""
    image_repository_arn: pulumi.Input[str] | None = None
    """The ECR repository of `image_uri`, which SageMaker's role may pull from; None for a built-in image."""
    endpoint_name: str | None = None
    """The inference endpoint the workflow creates or updates; None for batch inference."""
    prediction_crawler_name: pulumi.Input[str] | None = None
    """The crawler the workflow starts after a batch run (batch inference only)."""
    notification_email: pulumi.Input[str] | None = None
    """An address subscribed to the failure topic."""
    kms_key_arn: str | None = None
    """KMS key the buckets are encrypted with, which the roles may use through S3."""
    enable_xray_tracing: bool = False
    """Trace executions with X-Ray."""
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags the endpoint function puts on the endpoints and configs it creates."""
    account: pulumi.Input[iam.Account] | None = None
    """The account and region ARNs are built for; looked up from the AWS provider when None."""

    @property
    def is_batch(self) -> bool:
        """Batch inference rather than an endpoint."""
        return self.endpoint_name is None


def failure_topic(
    name: str, name_prefix: str, email: pulumi.Input[str] | None, parent: pulumi.Resource
) -> aws.sns.Topic:
    """The topic every workflow publishes its failures to, with the optional email subscription."""
    topic = aws.sns.Topic(
        f"{name}-failures",
        name=naming.resource_name(name_prefix, naming.FAILURE_TOPIC),
        kms_master_key_id="alias/aws/sns",  # encrypted at rest with the account's SNS key
        opts=pulumi.ResourceOptions(parent=parent),
    )
    if email is not None:
        aws.sns.TopicSubscription(
            f"{name}-failures-email",
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return topic


class TrainingWorkflow(pulumi.ComponentResource):
    """ETL, tuning, the metric gate and registration as one state machine; deploying a model package as another."""

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
    model_package_group_name: pulumi.Output[str]
    """The model package group every model that passes the gate is registered in."""
    deployment_state_machine_arn: pulumi.Output[str]
    """ARN of the deployment workflow, which deploys one approved model package."""
    deployment_definition: pulumi.Output[str]
    """The deployment workflow's Amazon States Language definition (JSON)."""

    def __init__(
        self, name: str, args: TrainingWorkflowArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:index:TrainingWorkflow", name, None, opts)
        self._args = args
        self._account = account_or_lookup(args.account, self)
        prefix = args.name_prefix

        topic = failure_topic(name, prefix, args.notification_email, self)
        sagemaker_role, sagemaker_policy = self._sagemaker_role(name)
        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-model-package-group",
            model_package_group_name=naming.resource_name(prefix, naming.MODEL_PACKAGE_GROUP),
            model_package_group_description=f"Models of {args.job_name} that passed the metric gate",
            tags={},
            opts=pulumi.ResourceOptions(parent=self),
        )
        deployment = self._deployment_workflow(name, group, sagemaker_role, sagemaker_policy, topic)
        functions = {
            RUN_METADATA.module: self._run_metadata_function(name),
            REGISTER_MODEL.module: self._register_model_function(name, group),
        }
        automatic = args.approval_mode == "automatic"
        definition = pulumi.Output.all(
            glue_job_name=args.glue_job_name,
            extracts=args.extracts_bucket,
            models=args.models_bucket,
            metadata=args.metadata_bucket,
            image_uri=args.image_uri,
            sagemaker_role_arn=sagemaker_role.arn,
            topic_arn=topic.arn,
            deployment=deployment.arn,
            **{f"fn_{module}": f.arn for module, f in functions.items()},
        ).apply(lambda v: json.dumps(args.definition(_resources(v, args.etl_timeout_seconds))))
        machine = logged_state_machine(
            name,
            self,
            machine_name=naming.resource_name(prefix, naming.TRAINING_STATE_MACHINE),
            role_name=naming.resource_name(prefix, naming.TRAINING_WORKFLOW_ROLE),
            account=self._account,
            log_retention_days=args.log_retention_days,
            tracing=args.enable_xray_tracing,
            policy=self._state_machine_policy(
                sagemaker_role, topic, functions, deployment.arn if automatic else None
            ),
            definition=definition,
            depends_on=[sagemaker_policy],
        )

        self.state_machine_arn = machine.arn
        self.state_machine_name = machine.name
        self.definition = definition
        self.topic_arn = topic.arn
        self.sagemaker_role_arn = sagemaker_role.arn
        self.model_package_group_name = group.model_package_group_name
        self.deployment_state_machine_arn = deployment.arn
        self.register_outputs(
            {
                "state_machine_arn": self.state_machine_arn,
                "state_machine_name": self.state_machine_name,
                "topic_arn": self.topic_arn,
                "sagemaker_role_arn": self.sagemaker_role_arn,
                "model_package_group_name": self.model_package_group_name,
                "deployment_state_machine_arn": self.deployment_state_machine_arn,
            }
        )

    def _deployment_workflow(
        self,
        name: str,
        group: aws.sagemaker.ModelPackageGroup,
        sagemaker_role: aws.iam.Role,
        sagemaker_policy: aws.iam.RolePolicy,
        topic: aws.sns.Topic,
    ) -> aws.sfn.StateMachine:
        """The state machine that deploys one approved package, with the functions it calls and its own role."""
        args = self._args
        functions = (
            {RENAME_OUTPUT.module: self._rename_output_function(name)}
            if args.is_batch
            else {ENDPOINT.module: self._endpoint_function(name)}
        )
        values = pulumi.Output.all(
            group=group.model_package_group_name,
            extracts=args.extracts_bucket,
            output=args.output_bucket,
            metadata=args.metadata_bucket,
            sagemaker_role_arn=sagemaker_role.arn,
            topic_arn=topic.arn,
            glue_job_name=args.glue_job_name,
            crawler=args.prediction_crawler_name,
            account=self._account,
            **{f"fn_{module}": f.arn for module, f in functions.items()},
        )
        definition = values.apply(
            lambda v: json.dumps(args.deployment_definition(self._deployment_resources(v)))
        )
        policy = values.apply(
            lambda v: json.dumps(
                iam.deployment_workflow_policy(
                    v["account"],
                    iam.DeploymentTargets(
                        job_name=args.job_name,
                        model_package_group=v["group"],
                        sagemaker_role_arn=v["sagemaker_role_arn"],
                        topic_arn=v["topic_arn"],
                        function_arns=[v[f"fn_{module}"] for module in functions],
                        metadata_bucket=v["metadata"],
                        kms_key_arn=args.kms_key_arn,
                        glue_job_name=v["glue_job_name"] if args.is_batch else None,
                        prediction_crawler_name=v["crawler"] if args.is_batch else None,
                        endpoint_name=args.endpoint_name,
                    ),
                    tracing=args.enable_xray_tracing,
                )
            )
        )
        self.deployment_definition = definition
        return logged_state_machine(
            f"{name}-deployment",
            self,
            machine_name=naming.resource_name(args.name_prefix, naming.DEPLOYMENT_STATE_MACHINE),
            role_name=naming.resource_name(args.name_prefix, naming.DEPLOYMENT_WORKFLOW_ROLE),
            account=self._account,
            log_retention_days=args.log_retention_days,
            tracing=args.enable_xray_tracing,
            policy=policy,
            definition=definition,
            depends_on=[sagemaker_policy],
        )

    def _deployment_resources(self, values: dict[str, Any]) -> DeploymentResources:
        args = self._args
        return DeploymentResources(
            model_package_group=values["group"],
            extracts_bucket=values["extracts"],
            output_bucket=values["output"],
            metadata_bucket=values["metadata"],
            sagemaker_role_arn=values["sagemaker_role_arn"],
            topic_arn=values["topic_arn"],
            glue_job_name=values["glue_job_name"] if args.is_batch else None,
            etl_timeout_seconds=args.etl_timeout_seconds,
            rename_output_function_arn=values.get(f"fn_{RENAME_OUTPUT.module}"),
            prediction_crawler_name=values["crawler"] if args.is_batch else None,
            endpoint_function_arn=values.get(f"fn_{ENDPOINT.module}"),
        )

    def _sagemaker_role(self, name: str) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The role training jobs, transform jobs and endpoints run as, and its inline policy."""
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-sagemaker-role",
            name=naming.resource_name(args.name_prefix, naming.SAGEMAKER_ROLE),
            description="Runs the pipeline's SageMaker training jobs, transform jobs and endpoints",
            assume_role_policy=self._account.apply(
                lambda a: json.dumps(
                    iam.assume_role_policy("sagemaker.amazonaws.com", source_account=a.account_id)
                )
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-sagemaker-policy",
            role=role.id,
            policy=pulumi.Output.all(
                self._account,
                args.extracts_bucket,
                args.models_bucket,
                args.output_bucket,
                args.image_repository_arn,
            ).apply(
                lambda v: json.dumps(
                    iam.sagemaker_execution_policy(
                        v[0],
                        iam.SageMakerTargets(
                            extracts_bucket=v[1],
                            models_bucket=v[2],
                            output_bucket=v[3],
                            repository_arn=v[4],
                            endpoint_name=args.endpoint_name,
                            kms_key_arn=args.kms_key_arn,
                        ),
                    )
                )
            ),
            opts=child,
        )
        return role, policy

    def _state_machine_policy(
        self,
        sagemaker_role: aws.iam.Role,
        topic: aws.sns.Topic,
        functions: Mapping[str, PythonFunction],
        deployment_arn: pulumi.Output[str] | None,
    ) -> pulumi.Output[str]:
        """The training state machine role's policy: exactly what its steps call."""
        args = self._args
        function_arns = [f.arn for f in functions.values()]
        return pulumi.Output.all(
            self._account,
            args.glue_job_name,
            sagemaker_role.arn,
            topic.arn,
            deployment_arn,
            args.metadata_bucket,
            *function_arns,
        ).apply(
            lambda v: json.dumps(
                iam.state_machine_policy(
                    v[0],
                    iam.WorkflowTargets(
                        job_name=args.job_name,
                        glue_job_name=v[1],
                        sagemaker_role_arn=v[2],
                        topic_arn=v[3],
                        deployment_state_machine_arn=v[4],
                        metadata_bucket=v[5],
                        kms_key_arn=args.kms_key_arn,
                        function_arns=list(v[6:]),
                    ),
                    tracing=args.enable_xray_tracing,
                )
            )
        )

    def _function(
        self,
        name: str,
        spec: FunctionSpec,
        policy: Callable[[iam.Account, list[Any], str], iam.Policy],
        inputs: list[pulumi.Input[Any]],
        environment: Mapping[str, pulumi.Input[str]],
    ) -> PythonFunction:
        """One function whose policy is `policy(account, resolved inputs, log group)`."""
        function_name = naming.function_name(self._args.name_prefix, spec.module)
        log_group = log_group_name(function_name)
        return PythonFunction(
            name,
            function_name=function_name,
            spec=spec,
            policy=pulumi.Output.all(self._account, *inputs).apply(
                lambda v: json.dumps(policy(v[0], list(v[1:]), log_group))
            ),
            environment=environment,
            log_retention_days=self._args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _run_metadata_function(self, name: str) -> PythonFunction:
        args = self._args
        return self._function(
            f"{name}-run-metadata",
            RUN_METADATA,
            lambda account, v, log_group: iam.run_metadata_function_policy(
                account,
                job_name=args.job_name,
                metadata_bucket=v[0],
                metadata_prefix=layout.METADATA_PREFIX,
                kms_key_arn=args.kms_key_arn,
                log_group=log_group,
            ),
            [args.metadata_bucket],
            {"METADATA_BUCKET": args.metadata_bucket, "METADATA_PREFIX": layout.METADATA_PREFIX},
        )

    def _register_model_function(self, name: str, group: aws.sagemaker.ModelPackageGroup) -> PythonFunction:
        args = self._args
        return self._function(
            f"{name}-register-model",
            REGISTER_MODEL,
            lambda account, v, log_group: iam.register_model_function_policy(
                account,
                model_package_group=v[0],
                models_bucket=v[1],
                models_prefix=layout.MODELS_PREFIX,
                metadata_bucket=v[2],
                quality_prefix=layout.MODEL_QUALITY_PREFIX,
                kms_key_arn=args.kms_key_arn,
                log_group=log_group,
            ),
            [group.model_package_group_name, args.models_bucket, args.metadata_bucket],
            {
                "MODEL_PACKAGE_GROUP": group.model_package_group_name,
                "IMAGE_URI": args.image_uri,
                "APPROVAL_MODE": args.approval_mode,
                "METADATA_BUCKET": args.metadata_bucket,
                "MODEL_QUALITY_PREFIX": layout.MODEL_QUALITY_PREFIX,
                "INFERENCE_MODE": "batch" if args.is_batch else "endpoint",
                "INSTANCE_TYPE": args.inference_instance_type,
            },
        )

    def _rename_output_function(self, name: str) -> PythonFunction:
        args = self._args
        return self._function(
            f"{name}-rename-output",
            RENAME_OUTPUT,
            lambda account, v, log_group: iam.rename_output_function_policy(
                account,
                output_bucket=v[0],
                prefix=layout.PREDICTIONS_PREFIX,
                kms_key_arn=args.kms_key_arn,
                log_group=log_group,
            ),
            [args.output_bucket],
            {},
        )

    def _endpoint_function(self, name: str) -> PythonFunction:
        args = self._args
        assert args.endpoint_name is not None
        endpoint_name = args.endpoint_name
        return self._function(
            f"{name}-endpoint",
            ENDPOINT,
            lambda account, _, log_group: iam.endpoint_function_policy(
                account, job_name=args.job_name, endpoint_name=endpoint_name, log_group=log_group
            ),
            [],
            {"RESOURCE_TAGS": json.dumps({**args.resource_tags, "mlops:created-by": "deployment-workflow"})},
        )


def _resources(values: dict[str, Any], etl_timeout_seconds: int) -> TrainingResources:
    return TrainingResources(
        glue_job_name=values["glue_job_name"],
        etl_timeout_seconds=etl_timeout_seconds,
        extracts_bucket=values["extracts"],
        models_bucket=values["models"],
        metadata_bucket=values["metadata"],
        image_uri=values["image_uri"],
        sagemaker_role_arn=values["sagemaker_role_arn"],
        topic_arn=values["topic_arn"],
        run_metadata_function_arn=values[f"fn_{RUN_METADATA.module}"],
        register_model_function_arn=values[f"fn_{REGISTER_MODEL.module}"],
        deployment_state_machine_arn=values["deployment"],
    )
