"""The processing pipeline for legacy ML code (seed 004), deployed when `enable_processing_pipeline` is true.

It owns a Step Functions state machine that runs three SageMaker Processing jobs (definition:
`workflows/processing.py`), the code location the script jobs run from, the image the Inference job runs,
the jobs' execution role, the state machine's own role and log group, and what a user needs to start it: an
example execution input and the permission policy. Failures are published to the training workflow's topic,
so one subscription hears about both pipelines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from mlops_component.assets import asset_path
from mlops_component.builders import iam, naming
from mlops_component.builders.framework_images import sklearn_image_uri
from mlops_component.builders.state_machines.processing_pipeline import (
    POSTPROCESS_SCRIPT,
    PREPROCESS_SCRIPT,
    ProcessingResources,
    example_execution_input,
    processing_areas,
    processing_definition,
)
from mlops_component.components.data_stores import BucketRef, upload_file
from mlops_component.components.logged_state_machine import logged_state_machine
from mlops_component.components.model_image import ModelImage
from mlops_component.config import MlOpsConfig

# The scripts' shared module (processing/processing_job.py), uploaded with them.
PROCESSING_JOB_MODULE = "processing_job.py"
# The ETL's transform, which preprocess.py imports from its own folder.
TRANSFORM_MODULE = "transform.py"


def code_files() -> dict[str, Path]:
    """What the code location holds, by file name: the example scripts and the ETL transform they reuse."""
    return {
        PREPROCESS_SCRIPT: asset_path("processing", PREPROCESS_SCRIPT),
        POSTPROCESS_SCRIPT: asset_path("processing", POSTPROCESS_SCRIPT),
        PROCESSING_JOB_MODULE: asset_path("processing", PROCESSING_JOB_MODULE),
        TRANSFORM_MODULE: asset_path("etl", TRANSFORM_MODULE),
    }


def inference_image_config(config: MlOpsConfig) -> MlOpsConfig:
    """The settings of the inference image built for this pipeline alone (when training uses a built-in image).

    It is the bring-your-own image's build (same context by default, same tagging and repository rules) in a
    repository of its own.
    """
    context = config.processing.inference_image_source_path
    if context is None:
        raise ValueError("the inference image's build context was not resolved; validate the config first")
    return config.model_copy(
        update={
            "built_in_model_image": None,
            "byo_model_image_name": config.processing.inference_image_name,
            "byo_model_image_source_path": context,
        }
    )


class ProcessingPipeline(pulumi.ComponentResource):
    """Three SageMaker Processing jobs (PreProcessing, Inference, PostProcessing) run by Step Functions."""

    state_machine_arn: pulumi.Output[str]
    """ARN of the processing pipeline's state machine."""
    state_machine_name: pulumi.Output[str]
    """Name of the processing pipeline's state machine."""
    definition: pulumi.Output[str]
    """The deployed Amazon States Language definition (JSON)."""
    role_arn: pulumi.Output[str]
    """The processing jobs' execution role: the only role an execution may name."""
    code_uri: pulumi.Output[str]
    """Where the scripts are (the default `CodeUri`)."""
    framework_image_uri: pulumi.Output[str]
    """The image the pre- and post-processing scripts run on by default."""
    inference_image_uri: pulumi.Output[str]
    """The image the Inference job runs by default, pinned by digest."""
    example_input: pulumi.Output[str]
    """A ready-to-use execution input (JSON) with this stack's buckets, images and role."""
    start_policy: pulumi.Output[str]
    """The IAM policy (JSON) a user needs to start the pipeline and follow its runs."""
    start_policy_arn: pulumi.Output[str]
    """The same policy as a managed policy, to attach to users, groups or roles."""

    def __init__(
        self,
        name: str,
        config: MlOpsConfig,
        *,
        account: pulumi.Output[iam.Account],
        buckets: dict[naming.Store, BucketRef],
        topic_arn: pulumi.Input[str],
        model_image: ModelImage | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:index:ProcessingPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = config.processing
        names = {store: ref.name for store, ref in buckets.items()}

        for file_name, path in code_files().items():
            upload_file(
                f"{name}-code-{Path(file_name).stem.replace('_', '-')}",
                buckets["source_repository"],
                settings.code_prefix,
                str(path),
                self,
            )

        # The bring-your-own image already holds batch-predict; only a stack that trains on a built-in image
        # builds the same context into a repository of its own.
        image = model_image or ModelImage(
            f"{name}-inference-image", inference_image_config(config), opts=child
        )
        framework_image: pulumi.Output[str] = (
            pulumi.Output.from_input(settings.framework_image_uri)
            if settings.framework_image_uri
            else account.apply(lambda a: sklearn_image_uri(a.region, settings.framework_version))
        )

        role = aws.iam.Role(
            f"{name}-jobs-role",
            name=naming.resource_name(config.name_prefix, naming.PROCESSING_ROLE),
            description="Runs the processing pipeline's SageMaker Processing jobs",
            assume_role_policy=account.apply(
                lambda a: json.dumps(
                    iam.assume_role_policy("sagemaker.amazonaws.com", source_account=a.account_id)
                )
            ),
            opts=child,
        )
        resources = pulumi.Output.all(
            names["feature_store"],
            names["source_repository"],
            names["extracts"],
            names["models"],
            names["output"],
            framework_image,
            image.image_uri,
            role.arn,
            topic_arn,
        ).apply(lambda v: ProcessingResources(*v))
        job_policy = aws.iam.RolePolicy(
            f"{name}-jobs-policy",
            role=role.id,
            policy=pulumi.Output.all(account, resources, image.repository_arn).apply(
                lambda v: json.dumps(_job_policy(config, v[0], v[1], v[2]))
            ),
            opts=child,
        )

        machine_name = naming.resource_name(config.name_prefix, naming.PROCESSING_STATE_MACHINE)
        definition = resources.apply(lambda r: json.dumps(processing_definition(config, r)))
        machine = logged_state_machine(
            name,
            self,
            config,
            machine_name=machine_name,
            role_name=None,
            account=account,
            policy=pulumi.Output.all(account, role.arn, topic_arn).apply(
                lambda v: json.dumps(
                    iam.processing_state_machine_policy(
                        v[0],
                        job_name=config.job_name,
                        role_arn=v[1],
                        topic_arn=v[2],
                        tracing=config.enable_xray_tracing,
                    )
                )
            ),
            definition=definition,
            depends_on=[job_policy],
        )

        start_policy = pulumi.Output.all(account, machine.name).apply(
            lambda v: json.dumps(iam.start_processing_policy(v[0], v[1]), indent=2)
        )
        managed_start_policy = aws.iam.Policy(
            f"{name}-start-policy",
            name=naming.resource_name(config.name_prefix, "processing-start"),
            description=f"Start the {machine_name} state machine and follow its runs",
            policy=start_policy,
            opts=child,
        )

        self.state_machine_arn = machine.arn
        self.state_machine_name = machine.name
        self.definition = definition
        self.role_arn = role.arn
        self.code_uri = resources.apply(lambda r: processing_areas(config, r).code.uri)
        self.framework_image_uri = framework_image
        self.inference_image_uri = image.image_uri
        self.example_input = resources.apply(
            lambda r: json.dumps(example_execution_input(config, r), indent=2)
        )
        self.start_policy = start_policy
        self.start_policy_arn = managed_start_policy.arn
        self.register_outputs(
            {
                "state_machine_arn": self.state_machine_arn,
                "state_machine_name": self.state_machine_name,
                "role_arn": self.role_arn,
                "code_uri": self.code_uri,
                "framework_image_uri": self.framework_image_uri,
                "inference_image_uri": self.inference_image_uri,
                "example_input": self.example_input,
                "start_policy": self.start_policy,
                "start_policy_arn": self.start_policy_arn,
            }
        )


def _job_policy(
    config: MlOpsConfig, account: iam.Account, resources: ProcessingResources, repository_arn: str
) -> iam.Policy:
    areas = processing_areas(config, resources)
    return iam.processing_job_policy(
        account,
        read=[(area.bucket, area.prefix) for area in areas.readable],
        write=[(area.bucket, area.prefix) for area in areas.writable],
        repository_arn=repository_arn,
        kms_key_arn=config.kms_key_arn,
    )
