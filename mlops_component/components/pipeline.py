"""The top component: composes the stores and every later part of the pipeline from one validated config."""

from __future__ import annotations

import functools

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.builders.state_machines.deployment_workflow import deployment_definition
from mlops_component.builders.state_machines.processing_pipeline import (
    ProcessingResources,
    example_execution_input,
    processing_areas,
    processing_definition,
)
from mlops_component.builders.state_machines.training_workflow import training_definition
from mlops_component.components.aws_account import lookup_account
from mlops_component.components.data_stores import (
    BucketRef,
    DataStores,
    DataStoresArgs,
    LandedData,
    LandedDataArgs,
)
from mlops_component.components.dev_environment import (
    DevEnvironment,
    DevEnvironmentArgs,
    ExistingGitRepository,
    NotebookNetwork,
)
from mlops_component.components.etl import Etl, EtlArgs, spark_script_path
from mlops_component.components.landing_trigger import DataLandingTrigger, DataLandingTriggerArgs
from mlops_component.components.model_image import ModelImage, ModelImageArgs, repository_name
from mlops_component.components.processing_pipeline import (
    ExistingImage,
    ProcessingPipeline,
    ProcessingPipelineArgs,
    ProcessingPlan,
)
from mlops_component.components.tagging import tag_everything
from mlops_component.components.training_workflow import TrainingWorkflow, TrainingWorkflowArgs
from mlops_component.config import MlOpsConfig

# The type token before the class and its token were aligned; aliased so existing stacks update in place.
PREVIOUS_TYPE = "mlops:index:Pipeline"

Buckets = dict[naming.Store, BucketRef]
# The account a part builds ARNs for; None lets the part look it up from its AWS provider.
AccountInput = pulumi.Input[iam.Account] | None


# --- The one place the config maps onto the components' arguments ------------------------------------------------
def data_stores_args(config: MlOpsConfig, account: AccountInput) -> DataStoresArgs:
    """The stores: named after the prefix, protected by the config's key, an existing feature store if given."""
    return DataStoresArgs(
        name_prefix=config.name_prefix,
        etl_script_path=config.script_path,
        kms_key_arn=config.kms_key_arn,
        force_destroy=config.force_destroy,
        existing_feature_store=config.feature_store_override,
        account=account,
    )


def etl_args(
    config: MlOpsConfig, buckets: Buckets, script_key: pulumi.Input[str], account: AccountInput
) -> EtlArgs:
    """The Glue job and catalog over the stores, with the config's job settings."""
    return EtlArgs(
        name_prefix=config.name_prefix,
        job_name=config.glue_job_name,
        feature_store_bucket=buckets["feature_store"].name,
        source_bucket=buckets["source_repository"].name,
        extracts_bucket=buckets["extracts"].name,
        output_bucket=buckets["output"].name,
        script_key=script_key,
        inference_type="batch" if config.is_batch else "endpoint",
        output_layout="byo" if config.uses_own_image else "builtin",
        score_parts=config.batch_transform_instance_count if config.is_batch else 1,
        validation=config.use_validation_channel,
        timeout_minutes=config.glue_job_timeout_minutes,
        max_retries=config.glue_job_max_retries,
        spark=config.glue_job_spark_flag,
        spark_script_path=_spark_script(config),
        glue_version=config.glue_version,
        worker_type=config.glue_worker_type,
        number_of_workers=config.glue_number_of_workers,
        python_shell_capacity=config.glue_python_shell_capacity,
        wheel_path=config.whl_path,
        additional_python_modules=list(config.glue_additional_python_modules),
        crawl_feature_store=config.crawls_feature_store,
        kms_key_arn=config.kms_key_arn,
        account=account,
    )


def _spark_script(config: MlOpsConfig) -> str | None:
    """With the Spark flag, the Spark script that pairs with the ETL script (the shipped pair), if there is one."""
    if not config.glue_job_spark_flag:
        return None
    path = spark_script_path(config.script_path)
    return str(path) if path else None


def _image_args(config: MlOpsConfig, image_name: str, source_path: str) -> ModelImageArgs:
    return ModelImageArgs(
        repository_name=repository_name(config.name_prefix, image_name),
        source_path=source_path,
        keep_images=config.ecr_keep_images,
        extra_tag=config.byo_model_image_tag,
        kms_key_arn=config.kms_key_arn,
        force_delete=config.force_destroy,
    )


def model_image_args(config: MlOpsConfig) -> ModelImageArgs:
    """The bring-your-own image (only when `built_in_model_image` is not set)."""
    return _image_args(config, config.byo_model_image_name, config.byo_model_image_source_path)


def inference_image_args(config: MlOpsConfig) -> ModelImageArgs:
    """The processing pipeline's own inference image (when training uses a built-in image).

    It is the bring-your-own image's build (same context by default, same tagging and repository rules) in a
    repository of its own.
    """
    context = config.processing.inference_image_source_path
    if context is None:
        raise ValueError("the inference image's build context was not resolved; validate the config first")
    return _image_args(config, config.processing.inference_image_name, context)


def training_workflow_args(
    config: MlOpsConfig,
    *,
    buckets: Buckets,
    glue_job_name: pulumi.Input[str],
    etl_timeout_seconds: int,
    prediction_crawler_name: pulumi.Input[str] | None,
    image_uri: pulumi.Input[str],
    image_repository_arn: pulumi.Input[str] | None,
    account: AccountInput,
) -> TrainingWorkflowArgs:
    """The training workflow over the stores and the ETL job, with the config's definition and mode."""
    email: pulumi.Input[str] | None = config.notification_email
    if email is not None and "notification_email" in config.secret_fields:
        email = pulumi.Output.secret(email)
    return TrainingWorkflowArgs(
        name_prefix=config.name_prefix,
        job_name=config.job_name,
        definition=functools.partial(training_definition, config),
        deployment_definition=functools.partial(deployment_definition, config),
        approval_mode=config.model_approval_mode,
        inference_instance_type=config.batch_transform_instance_type
        if config.is_batch
        else config.endpoint_instance_type,
        extracts_bucket=buckets["extracts"].name,
        models_bucket=buckets["models"].name,
        metadata_bucket=buckets["metadata"].name,
        output_bucket=buckets["output"].name,
        glue_job_name=glue_job_name,
        etl_timeout_seconds=etl_timeout_seconds,
        image_uri=image_uri,
        log_retention_days=config.log_retention_days,
        image_repository_arn=image_repository_arn,
        endpoint_name=None if config.is_batch else config.endpoint_name,
        prediction_crawler_name=prediction_crawler_name if config.is_batch else None,
        notification_email=email,
        kms_key_arn=config.kms_key_arn,
        enable_xray_tracing=config.enable_xray_tracing,
        resource_tags=dict(config.tags),
        account=account,
    )


def trigger_args(
    config: MlOpsConfig,
    feature_store: BucketRef,
    state_machine_arn: pulumi.Input[str],
    account: AccountInput,
) -> DataLandingTriggerArgs:
    """The trigger: starts the training workflow and the deployment workflow (formed from its name) when data
    lands, a model package of the stack's group is approved, or a configured schedule fires."""
    return DataLandingTriggerArgs(
        name_prefix=config.name_prefix,
        feature_store_bucket=feature_store.name,
        feature_store_arn=feature_store.arn,
        state_machine_arn=state_machine_arn,
        log_retention_days=config.log_retention_days,
        batch=config.is_batch,
        account=account,
        model_package_group=naming.resource_name(config.name_prefix, naming.MODEL_PACKAGE_GROUP),
        retrain_schedule=config.retrain_schedule,
        score_schedule=config.score_schedule,
    )


def landed_data_args(config: MlOpsConfig, feature_store: BucketRef) -> LandedDataArgs:
    """The configured local data files."""
    return LandedDataArgs(
        feature_store_bucket=feature_store.name,
        train_file=config.train_local_path,
        score_file=config.score_local_path,
    )


def processing_plan(config: MlOpsConfig, resources: ProcessingResources) -> ProcessingPlan:
    """The processing pipeline's definition, areas and example input for this config."""
    return ProcessingPlan(
        definition=processing_definition(config, resources),
        areas=processing_areas(config, resources),
        example_input=example_execution_input(config, resources),
    )


def processing_args(
    config: MlOpsConfig,
    *,
    buckets: Buckets,
    topic_arn: pulumi.Input[str],
    model_image: ModelImage | None,
    account: AccountInput,
) -> ProcessingPipelineArgs:
    """The processing pipeline over the stores; its Inference job runs the own image, or builds its own."""
    settings = config.processing
    image: ModelImageArgs | ExistingImage = (
        ExistingImage(uri=model_image.image_uri, repository_arn=model_image.repository_arn)
        if model_image
        else inference_image_args(config)
    )
    return ProcessingPipelineArgs(
        name_prefix=config.name_prefix,
        job_name=config.job_name,
        plan=functools.partial(processing_plan, config),
        feature_store_bucket=buckets["feature_store"].name,
        source_bucket=buckets["source_repository"].name,
        extracts_bucket=buckets["extracts"].name,
        models_bucket=buckets["models"].name,
        output_bucket=buckets["output"].name,
        code_prefix=settings.code_prefix,
        topic_arn=topic_arn,
        inference_image=image,
        framework_version=settings.framework_version,
        log_retention_days=config.log_retention_days,
        framework_image_uri=settings.framework_image_uri,
        kms_key_arn=config.kms_key_arn,
        enable_xray_tracing=config.enable_xray_tracing,
        account=account,
    )


def dev_environment_args(
    config: MlOpsConfig,
    *,
    buckets: Buckets,
    database_name: pulumi.Input[str],
    crawler_name: pulumi.Input[str],
    state_machine_arn: pulumi.Input[str] | None,
    account: AccountInput,
) -> DevEnvironmentArgs:
    """The notebook over the lake's catalog: `database_name` and its feature-store crawler `crawler_name`."""
    settings = config.dev_environment
    environment = config.environment
    network = None
    if environment is not None and environment.private_subnets:
        assert environment.vpc_id is not None  # validated with enable_dev_environment
        network = NotebookNetwork(vpc_id=environment.vpc_id, subnet_id=environment.private_subnets[0])
    git = None
    if settings.git_repository_url is not None:
        assert settings.git_secret_arn is not None  # validated: URL and secret go together
        git = ExistingGitRepository(
            url=settings.git_repository_url, secret_arn=settings.git_secret_arn, branch=settings.git_branch
        )
    return DevEnvironmentArgs(
        name_prefix=config.name_prefix,
        job_name=config.job_name,
        batch=config.is_batch,
        bucket_names={store: ref.name for store, ref in buckets.items()},
        database_name=database_name,
        crawler_name=crawler_name,
        instance_type=settings.instance_type,
        volume_size_in_gb=settings.volume_size_in_gb,
        platform_identifier=settings.platform_identifier,
        idle_shutdown_minutes=settings.idle_shutdown_minutes,
        root_access=settings.root_access,
        volume_kms_key_arn=settings.kms_key_arn,
        kms_key_arn=config.kms_key_arn,
        git_repository=git,
        retain_repository=not config.force_destroy,
        enable_interactive_sessions=settings.enable_interactive_sessions,
        network=network,
        state_machine_arn=state_machine_arn,
        endpoint_name=None if config.is_batch else config.endpoint_name,
        account=account,
    )


def render_summary(config: MlOpsConfig, bucket_names: dict[str, str], state_machine_arn: str) -> str:
    """The human summary output: what was created and how to start a run."""
    width = max(len(store) for store in bucket_names)
    feature_store = bucket_names["feature_store"]
    lines = [
        f"MLOps pipeline '{config.name_prefix}' (job '{config.job_name}', {config.endpoint_or_batch_transform})",
        "",
        "Buckets:",
        *(f"  {store.ljust(width)}  s3://{bucket}" for store, bucket in bucket_names.items()),
        "",
        "Land data to start a run:",
        f"  aws s3 cp train.csv s3://{feature_store}/{layout.TRAIN_PREFIX}train.csv",
    ]
    if config.is_batch:
        lines.append(f"  aws s3 cp score.csv s3://{feature_store}/{layout.SCORE_PREFIX}score.csv")
    lines += [
        "",
        f"Training workflow: {state_machine_arn}",
        f"  aws stepfunctions list-executions --state-machine-arn {state_machine_arn}",
        "Start a run directly (input shape: docs/data-contract.md):",
        f"  aws stepfunctions start-execution --state-machine-arn {state_machine_arn} --input file://run.json",
    ]
    return "\n".join(lines)


class MlOpsPipeline(pulumi.ComponentResource):
    """An automated MLOps pipeline on AWS, built from one `MlOpsConfig`."""

    stores: DataStores
    """The six file stores."""
    landed_data: LandedData
    """The local data files uploaded to the feature store."""
    etl: Etl
    """The Glue ETL job and the Glue data catalog."""
    model_image: ModelImage | None
    """The bring-your-own image and its repository; None when `built_in_model_image` is set."""
    model_image_uri: pulumi.Output[str]
    """The image training and inference run: the pushed image pinned by digest, or `built_in_model_image`."""
    training: TrainingWorkflow
    """The training workflow: its state machine, functions, roles and failure topic."""
    trigger: DataLandingTrigger
    """What starts a run when data lands in the feature store."""
    processing: ProcessingPipeline | None
    """The processing pipeline for legacy code; None unless `enable_processing_pipeline` is true."""
    bucket_names: pulumi.Output[dict[str, str]]
    """Bucket name of each store, keyed by the seed's store names."""
    state_machine_arn: pulumi.Output[str]
    """ARN of the training workflow's state machine."""
    summary: pulumi.Output[str]
    """What was created, and the commands to land data and start a run."""
    dev_environment: DevEnvironment | None
    """The notebook, git repository and data-lake catalog, when `enable_dev_environment` is set."""

    def __init__(self, name: str, config: MlOpsConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        opts = pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                transformations=[tag_everything(config.tags)], aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]
            ),
        )
        super().__init__("mlops:index:MlOpsPipeline", name, None, opts)

        provider = _explicit_provider(name, config, self)
        child = pulumi.ResourceOptions(parent=self, providers=[provider] if provider else None)
        account = lookup_account(self, provider)

        self.stores = DataStores(f"{name}-stores", data_stores_args(config, account), opts=child)
        buckets = self.stores.buckets
        self.etl = Etl(f"{name}-etl", etl_args(config, buckets, self.stores.script_key, account), opts=child)
        self.model_image = (
            ModelImage(f"{name}-model-image", model_image_args(config), opts=child)
            if config.built_in_model_image is None
            else None
        )
        self.model_image_uri = (
            self.model_image.image_uri
            if self.model_image
            else pulumi.Output.from_input(config.built_in_model_image or "")
        )
        self.training = TrainingWorkflow(
            f"{name}-training",
            training_workflow_args(
                config,
                buckets=buckets,
                glue_job_name=self.etl.job_name,
                etl_timeout_seconds=self.etl.timeout_seconds,
                prediction_crawler_name=self.etl.prediction_crawler_name,
                image_uri=self.model_image_uri,
                image_repository_arn=self.model_image.repository_arn if self.model_image else None,
                account=account,
            ),
            opts=child,
        )
        self.trigger = DataLandingTrigger(
            f"{name}-trigger",
            trigger_args(config, buckets["feature_store"], self.training.state_machine_arn, account),
            opts=child,
        )
        # Landing the configured files is what starts a run, so it waits until the trigger listens.
        self.landed_data = LandedData(
            f"{name}-landing",
            landed_data_args(config, buckets["feature_store"]),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.trigger])),
        )
        self.processing = (
            ProcessingPipeline(
                f"{name}-processing",
                processing_args(
                    config,
                    buckets=buckets,
                    topic_arn=self.training.topic_arn,
                    model_image=self.model_image,
                    account=account,
                ),
                opts=child,
            )
            if config.enable_processing_pipeline
            else None
        )
        self.dev_environment = self._dev_environment(name, config, account, child)
        self._outputs(config)

    def _dev_environment(
        self,
        name: str,
        config: MlOpsConfig,
        account: pulumi.Output[iam.Account],
        opts: pulumi.ResourceOptions,
    ) -> DevEnvironment | None:
        """The notebook over the ETL's catalog: the ETL crawls the feature store whenever this is on."""
        if not config.enable_dev_environment:
            return None
        crawler = self.etl.feature_store_crawler_name
        if crawler is None:
            raise ValueError("the development environment needs the ETL's feature store crawler")
        args = dev_environment_args(
            config,
            buckets=self.stores.buckets,
            database_name=self.etl.database_name,
            crawler_name=crawler,
            state_machine_arn=self.training.state_machine_arn,
            account=account,
        )
        return DevEnvironment(f"{name}-devenv", args, opts=opts)

    def _outputs(self, config: MlOpsConfig) -> None:
        """The pipeline's outputs: bucket names, the summary, and what each part exports."""
        self.bucket_names = pulumi.Output.all(
            **{store: ref.name for store, ref in self.stores.buckets.items()}
        ).apply(dict)
        self.state_machine_arn = self.training.state_machine_arn
        self.summary = pulumi.Output.all(self.bucket_names, self.state_machine_arn).apply(
            lambda v: render_summary(config, v[0], v[1])
        )
        if self.dev_environment is not None:
            self.summary = pulumi.Output.all(self.summary, self.dev_environment.summary).apply("\n\n".join)
        outputs: dict[str, pulumi.Input[object]] = {
            "bucket_names": self.bucket_names,
            "summary": self.summary,
            "glue_job_name": self.etl.job_name,
            "glue_database_name": self.etl.database_name,
            "model_image_uri": self.model_image_uri,
            "state_machine_arn": self.state_machine_arn,
            "deployment_state_machine_arn": self.training.deployment_state_machine_arn,
            "model_package_group_name": self.training.model_package_group_name,
        }
        if self.dev_environment:
            outputs["notebook_url"] = self.dev_environment.notebook_url
            outputs["repository_clone_url"] = self.dev_environment.repository_clone_url
        if self.processing:
            outputs["processing_state_machine_arn"] = self.processing.state_machine_arn
            outputs["processing_example_input"] = self.processing.example_input
            outputs["processing_start_policy"] = self.processing.start_policy
        self.register_outputs(outputs)


def _explicit_provider(name: str, config: MlOpsConfig, parent: pulumi.Resource) -> aws.Provider | None:
    """An AWS provider for the seed's `aws_credentials_file` and `environment.aws_region`, if either is set.

    Otherwise the ambient provider (stack config, environment, or one the caller passes in `opts`) is used.
    An explicit provider does not read `aws:region` from stack config by itself, so it is passed on here.
    """
    region = config.environment.aws_region if config.environment else None
    if region is None and config.aws_credentials_file is None:
        return None
    return aws.Provider(
        f"{name}-aws",
        region=region or pulumi.Config("aws").get("region"),
        shared_credentials_files=[config.aws_credentials_file] if config.aws_credentials_file else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )
