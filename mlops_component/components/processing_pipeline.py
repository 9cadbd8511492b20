"""The processing pipeline for legacy ML code (seed 004), deployed when `enable_processing_pipeline` is true.

It owns a Step Functions state machine that runs three SageMaker Processing jobs (definition:
`builders/state_machines/processing_pipeline.py`), the code location the script jobs run from, the image the Inference job runs,
the jobs' execution role, the state machine's own role and log group, and what a user needs to start it: an
example execution input and the permission policy. Failures are published to the training workflow's topic,
so one subscription hears about both pipelines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_component.assets import asset_path
from mlops_component.builders import iam, naming
from mlops_component.builders.framework_images import sklearn_image_uri
from mlops_component.builders.state_machines.processing_pipeline import (
    POSTPROCESS_SCRIPT,
    PREPROCESS_SCRIPT,
    Areas,
    ProcessingResources,
)
from mlops_component.components.aws_account import account_or_lookup
from mlops_component.components.data_stores import upload_file
from mlops_component.components.logged_state_machine import logged_state_machine
from mlops_component.components.model_image import ModelImage, ModelImageArgs

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


@dataclass(frozen=True)
class ProcessingPlan:
    """The documents that describe one deployment of the pipeline, given its resources' names and ARNs."""

    definition: dict[str, Any]
    """The state machine's Amazon States Language definition."""
    areas: Areas
    """The store prefixes the jobs read and write; the jobs' role may use exactly these."""
    example_input: dict[str, Any]
    """A ready-to-use execution input."""


@dataclass(frozen=True)
class ExistingImage:
    """An image that is already pushed, e.g. the training workflow's own model image."""

    uri: pulumi.Input[str]
    """The image, pinned by digest."""
    repository_arn: pulumi.Input[str]
    """Its ECR repository, which the jobs' role may pull from."""


@dataclass(frozen=True)
class ProcessingPipelineArgs:
    """What `ProcessingPipeline` needs: the stores it works in, its images, and the plan of its runs."""

    name_prefix: str
    """Prefix of the state machine, role and policy names."""
    job_name: str
    """The pipeline's job name: processing jobs it starts are named after it."""
    plan: Callable[[ProcessingResources], ProcessingPlan]
    """Builds the definition, areas and example input from the resources (`MlOpsPipeline` maps its config)."""
    feature_store_bucket: pulumi.Input[str]
    """Bucket of the raw input data."""
    source_bucket: pulumi.Input[str]
    """Bucket the scripts are uploaded to."""
    extracts_bucket: pulumi.Input[str]
    """Bucket of the preprocessed data."""
    models_bucket: pulumi.Input[str]
    """Bucket of the models the Inference job loads."""
    output_bucket: pulumi.Input[str]
    """Bucket predictions and reports are written to."""
    code_prefix: str
    """Prefix of `source_bucket` the scripts are uploaded under."""
    topic_arn: pulumi.Input[str]
    """The topic failures are published to (the training workflow's, so one subscription hears both)."""
    inference_image: ModelImageArgs | ExistingImage
    """The image the Inference job runs: one to build and push, or one that already exists."""
    framework_version: str
    """scikit-learn version of the framework image the scripts run on, when `framework_image_uri` is None."""
    log_retention_days: int
    """Retention of the state machine's log group."""
    framework_image_uri: pulumi.Input[str] | None = None
    """An image for the scripts instead of SageMaker's scikit-learn image."""
    kms_key_arn: str | None = None
    """KMS key the buckets are encrypted with, which the jobs' role may use through S3."""
    enable_xray_tracing: bool = False
    """Trace executions with X-Ray."""
    account: pulumi.Input[iam.Account] | None = None
    """The account and region ARNs are built for; looked up from the AWS provider when None."""


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
        self, name: str, args: ProcessingPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:index:ProcessingPipeline", name, None, opts)
        self._args = args
        self._account = account = account_or_lookup(args.account, self)

        self._upload_code(name)
        image = self._inference_image(name)
        framework_image: pulumi.Output[str] = (
            pulumi.Output.from_input(args.framework_image_uri)
            if args.framework_image_uri
            else account.apply(lambda a: sklearn_image_uri(a.region, args.framework_version))
        )
        role = self._jobs_role(name)
        resources = pulumi.Output.all(
            args.feature_store_bucket,
            args.source_bucket,
            args.extracts_bucket,
            args.models_bucket,
            args.output_bucket,
            framework_image,
            image.uri,
            role.arn,
            args.topic_arn,
        ).apply(lambda v: ProcessingResources(*v))
        plan = resources.apply(args.plan)
        job_policy = aws.iam.RolePolicy(
            f"{name}-jobs-policy",
            role=role.id,
            policy=pulumi.Output.all(account, plan, image.repository_arn).apply(
                lambda v: json.dumps(_job_policy(v[0], v[1].areas, v[2], args.kms_key_arn))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        definition = plan.apply(lambda p: json.dumps(p.definition))
        machine = self._state_machine(name, role, definition, job_policy)
        start_policy, managed_start_policy = self._start_policy(name, machine)

        self.state_machine_arn = machine.arn
        self.state_machine_name = machine.name
        self.definition = definition
        self.role_arn = role.arn
        self.code_uri = plan.apply(lambda p: p.areas.code.uri)
        self.framework_image_uri = framework_image
        self.inference_image_uri = pulumi.Output.from_input(image.uri)
        self.example_input = plan.apply(lambda p: json.dumps(p.example_input, indent=2))
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

    def _upload_code(self, name: str) -> None:
        """The example scripts and the modules they import, under `code_prefix`."""
        for file_name, path in code_files().items():
            upload_file(
                f"{name}-code-{Path(file_name).stem.replace('_', '-')}",
                self._args.source_bucket,
                self._args.code_prefix,
                str(path),
                self,
            )

    def _jobs_role(self, name: str) -> aws.iam.Role:
        """The processing jobs' execution role, trusted by SageMaker on behalf of this account only."""
        return aws.iam.Role(
            f"{name}-jobs-role",
            name=naming.resource_name(self._args.name_prefix, naming.PROCESSING_ROLE),
            description="Runs the processing pipeline's SageMaker Processing jobs",
            assume_role_policy=self._account.apply(
                lambda a: json.dumps(
                    iam.assume_role_policy("sagemaker.amazonaws.com", source_account=a.account_id)
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _inference_image(self, name: str) -> ExistingImage:
        """The image the Inference job runs: the one given, or one built into a repository of its own."""
        wanted = self._args.inference_image
        if isinstance(wanted, ExistingImage):
            return wanted
        built = ModelImage(f"{name}-inference-image", wanted, opts=pulumi.ResourceOptions(parent=self))
        return ExistingImage(uri=built.image_uri, repository_arn=built.repository_arn)

    def _state_machine(
        self, name: str, role: aws.iam.Role, definition: pulumi.Output[str], job_policy: aws.iam.RolePolicy
    ) -> aws.sfn.StateMachine:
        """The state machine with its own role, which may only pass the jobs' role and publish failures."""
        args = self._args
        return logged_state_machine(
            name,
            self,
            machine_name=naming.resource_name(args.name_prefix, naming.PROCESSING_STATE_MACHINE),
            role_name=None,
            account=self._account,
            log_retention_days=args.log_retention_days,
            tracing=args.enable_xray_tracing,
            policy=pulumi.Output.all(self._account, role.arn, args.topic_arn).apply(
                lambda v: json.dumps(
                    iam.processing_state_machine_policy(
                        v[0],
                        job_name=args.job_name,
                        role_arn=v[1],
                        topic_arn=v[2],
                        tracing=args.enable_xray_tracing,
                    )
                )
            ),
            definition=definition,
            depends_on=[job_policy],
        )

    def _start_policy(
        self, name: str, machine: aws.sfn.StateMachine
    ) -> tuple[pulumi.Output[str], aws.iam.Policy]:
        """What a user needs to start the pipeline: as JSON, and as a managed policy to attach."""
        machine_name = naming.resource_name(self._args.name_prefix, naming.PROCESSING_STATE_MACHINE)
        start_policy = pulumi.Output.all(self._account, machine.name).apply(
            lambda v: json.dumps(iam.start_processing_policy(v[0], v[1]), indent=2)
        )
        managed = aws.iam.Policy(
            f"{name}-start-policy",
            name=naming.resource_name(self._args.name_prefix, "processing-start"),
            description=f"Start the {machine_name} state machine and follow its runs",
            policy=start_policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return start_policy, managed


def _job_policy(
    account: iam.Account, areas: Areas, repository_arn: str, kms_key_arn: str | None
) -> iam.Policy:
    return iam.processing_job_policy(
        account,
        read=[(area.bucket, area.prefix) for area in areas.readable],
        write=[(area.bucket, area.prefix) for area in areas.writable],
        repository_arn=repository_arn,
        kms_key_arn=kms_key_arn,
    )
