"""The top component: composes the stores and every later part of the pipeline from one validated config."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam
from mlops_component.components.data_stores import DataStores, LandedData
from mlops_component.components.dev_environment import DevEnvironment
from mlops_component.components.etl import Etl
from mlops_component.components.landing_trigger import DataLandingTrigger
from mlops_component.components.model_image import ModelImage
from mlops_component.components.processing_pipeline import ProcessingPipeline
from mlops_component.components.tagging import tag_everything
from mlops_component.components.training_workflow import TrainingWorkflow
from mlops_component.config import MlOpsConfig


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
            opts, pulumi.ResourceOptions(transformations=[tag_everything(config.tags)])
        )
        super().__init__("mlops:index:Pipeline", name, None, opts)

        provider = _explicit_provider(name, config, self)
        child = pulumi.ResourceOptions(parent=self, providers=[provider] if provider else None)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=provider)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke).partition
        account = pulumi.Output.all(partition, region, account_id).apply(lambda ids: iam.Account(*ids))

        self.stores = DataStores(f"{name}-stores", config, account=account, opts=child)
        self.etl = Etl(
            f"{name}-etl",
            config,
            buckets=self.stores.buckets,
            script_key=self.stores.script_key,
            account=account,
            opts=child,
        )

        if config.built_in_model_image is None:
            self.model_image = ModelImage(f"{name}-model-image", config, opts=child)
            self.model_image_uri = self.model_image.image_uri
        else:
            self.model_image = None
            self.model_image_uri = pulumi.Output.from_input(config.built_in_model_image)

        self.training = TrainingWorkflow(
            f"{name}-training",
            config,
            account=account,
            buckets=self.stores.buckets,
            glue_job_name=self.etl.job_name,
            etl_timeout_seconds=self.etl.timeout_seconds,
            prediction_crawler_name=self.etl.prediction_crawler_name if config.is_batch else None,
            image_uri=self.model_image_uri,
            image_repository_arn=self.model_image.repository_arn if self.model_image else None,
            opts=child,
        )
        self.trigger = DataLandingTrigger(
            f"{name}-trigger",
            config,
            account=account,
            feature_store=self.stores.buckets["feature_store"],
            state_machine_arn=self.training.state_machine_arn,
            opts=child,
        )
        # Landing the configured files is what starts a run, so it waits until the trigger listens.
        self.landed_data = LandedData(
            f"{name}-landing",
            config,
            feature_store=self.stores.buckets["feature_store"],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.trigger])),
        )

        self.processing = (
            ProcessingPipeline(
                f"{name}-processing",
                config,
                account=account,
                buckets=self.stores.buckets,
                topic_arn=self.training.topic_arn,
                model_image=self.model_image,
                opts=child,
            )
            if config.enable_processing_pipeline
            else None
        )

        self.dev_environment = None
        if config.enable_dev_environment:
            # The ETL crawls the feature store whenever the dev environment is on: that crawl is its data lake.
            assert self.etl.feature_store_crawler_name is not None
            self.dev_environment = DevEnvironment(
                f"{name}-devenv",
                config,
                account=account,
                buckets=self.stores.buckets,
                database_name=self.etl.database_name,
                crawler_name=self.etl.feature_store_crawler_name,
                state_machine_arn=self.training.state_machine_arn,
                endpoint_name=None if config.is_batch else config.endpoint_name,
                opts=child,
            )

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
