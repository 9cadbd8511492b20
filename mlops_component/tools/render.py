"""What `pulumi up` would deploy, rendered offline: state machine definitions and diagrams for a stack config.

Names come from the same naming functions the components use. Two values only exist after a deployment and
are shown as placeholders: the account id (unless given) and the image digest (the image is shown by its
content tag, which is computed here exactly as the build computes it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mlops_component.builders import iam, naming
from mlops_component.builders.framework_images import sklearn_image_uri
from mlops_component.builders.state_machines.deployment_workflow import (
    DeploymentResources,
    deployment_definition,
)
from mlops_component.builders.state_machines.processing_pipeline import (
    ProcessingResources,
    example_execution_input,
    processing_definition,
)
from mlops_component.builders.state_machines.training_workflow import TrainingResources, training_definition
from mlops_component.components import etl, model_image
from mlops_component.components.pipeline import inference_image_args
from mlops_component.components.training_workflow import ENDPOINT, REGISTER_MODEL, RENAME_OUTPUT, RUN_METADATA
from mlops_component.config import MlOpsConfig
from mlops_component.tools import diagrams

PLACEHOLDER_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Rendered:
    """One rendered document: a file name and its content."""

    file_name: str
    content: str


def image_reference(config: MlOpsConfig, account: iam.Account) -> str:
    """The image the workflow runs: the built-in image, or the own image by its content tag."""
    if config.built_in_model_image:
        return config.built_in_model_image
    repository = model_image.repository_name(config.name_prefix, config.byo_model_image_name)
    return _own_image_reference(account, repository, config.byo_model_image_source_path)


def _own_image_reference(account: iam.Account, repository: str, source_path: str) -> str:
    """An image `ModelImage` builds, by its content tag."""
    registry = f"{account.account_id}.dkr.ecr.{account.region}.amazonaws.com"
    digest = model_image.build_context_digest(Path(source_path))
    return f"{registry}/{repository}:{model_image.content_tag(digest)}"


def _bucket(config: MlOpsConfig, account: iam.Account, store: naming.Store) -> str:
    return naming.bucket_name(config.name_prefix, store, account.account_id, account.region)


def _role_arn(config: MlOpsConfig, account: iam.Account, role: str) -> str:
    return account.arn("iam", f"role/{naming.resource_name(config.name_prefix, role)}", regional=False)


def planned_training_resources(config: MlOpsConfig, account: iam.Account) -> TrainingResources:
    """The names and ARNs the training workflow gets when this config is deployed to `account`."""
    prefix = config.name_prefix

    def bucket(store: naming.Store) -> str:
        return _bucket(config, account, store)

    def function_arn(module: str) -> str:
        return account.arn("lambda", f"function:{naming.function_name(prefix, module)}")

    return TrainingResources(
        glue_job_name=naming.resource_name(prefix, config.glue_job_name),
        etl_timeout_seconds=etl.task_timeout_seconds(config.glue_job_timeout_minutes),
        extracts_bucket=bucket("extracts"),
        models_bucket=bucket("models"),
        metadata_bucket=bucket("metadata"),
        image_uri=image_reference(config, account),
        sagemaker_role_arn=account.arn(
            "iam", f"role/{naming.resource_name(prefix, naming.SAGEMAKER_ROLE)}", regional=False
        ),
        topic_arn=account.arn("sns", naming.resource_name(prefix, naming.FAILURE_TOPIC)),
        run_metadata_function_arn=function_arn(RUN_METADATA.module),
        register_model_function_arn=function_arn(REGISTER_MODEL.module),
        deployment_state_machine_arn=deployment_state_machine_arn(config, account),
    )


def deployment_state_machine_arn(config: MlOpsConfig, account: iam.Account) -> str:
    """The deployment workflow's ARN, formed from its name as every starter may."""
    return account.arn(
        "states", f"stateMachine:{naming.resource_name(config.name_prefix, naming.DEPLOYMENT_STATE_MACHINE)}"
    )


def planned_deployment_resources(config: MlOpsConfig, account: iam.Account) -> DeploymentResources:
    """The names and ARNs the deployment workflow gets when this config is deployed to `account`."""
    prefix = config.name_prefix

    def function_arn(module: str) -> str:
        return account.arn("lambda", f"function:{naming.function_name(prefix, module)}")

    return DeploymentResources(
        model_package_group=naming.resource_name(prefix, naming.MODEL_PACKAGE_GROUP),
        extracts_bucket=_bucket(config, account, "extracts"),
        output_bucket=_bucket(config, account, "output"),
        metadata_bucket=_bucket(config, account, "metadata"),
        sagemaker_role_arn=_role_arn(config, account, naming.SAGEMAKER_ROLE),
        topic_arn=account.arn("sns", naming.resource_name(prefix, naming.FAILURE_TOPIC)),
        glue_job_name=naming.resource_name(prefix, config.glue_job_name) if config.is_batch else None,
        etl_timeout_seconds=etl.task_timeout_seconds(config.glue_job_timeout_minutes),
        rename_output_function_arn=function_arn(RENAME_OUTPUT.module) if config.is_batch else None,
        prediction_crawler_name=naming.resource_name(prefix, naming.PREDICTIONS_CRAWLER)
        if config.is_batch
        else None,
        endpoint_function_arn=None if config.is_batch else function_arn(ENDPOINT.module),
    )


def planned_processing_resources(config: MlOpsConfig, account: iam.Account) -> ProcessingResources:
    """The names, images and ARNs the processing pipeline gets when this config is deployed to `account`."""
    settings = config.processing
    if config.uses_own_image:
        inference_image = image_reference(config, account)
    else:
        image = inference_image_args(config)
        inference_image = _own_image_reference(account, image.repository_name, image.source_path)
    return ProcessingResources(
        feature_bucket=_bucket(config, account, "feature_store"),
        source_bucket=_bucket(config, account, "source_repository"),
        extracts_bucket=_bucket(config, account, "extracts"),
        models_bucket=_bucket(config, account, "models"),
        output_bucket=_bucket(config, account, "output"),
        framework_image_uri=settings.framework_image_uri
        or sklearn_image_uri(account.region, settings.framework_version),
        inference_image_uri=inference_image,
        role_arn=_role_arn(config, account, naming.PROCESSING_ROLE),
        topic_arn=account.arn("sns", naming.resource_name(config.name_prefix, naming.FAILURE_TOPIC)),
    )


def _json(document: object) -> str:
    return json.dumps(document, indent=2) + "\n"


def render(config: MlOpsConfig, account: iam.Account) -> list[Rendered]:
    """Every definition and diagram a deployment of `config` would have."""
    training = training_definition(config, planned_training_resources(config, account))
    deployment = deployment_definition(config, planned_deployment_resources(config, account))
    rendered = [
        Rendered("training.asl.json", _json(training)),
        Rendered("training.mmd", diagrams.state_machine_diagram(training)),
        Rendered("deployment.asl.json", _json(deployment)),
        Rendered("deployment.mmd", diagrams.state_machine_diagram(deployment)),
        Rendered("architecture.mmd", diagrams.architecture_diagram(config)),
    ]
    if config.enable_processing_pipeline:
        resources = planned_processing_resources(config, account)
        processing = processing_definition(config, resources)
        rendered += [
            Rendered("processing.asl.json", _json(processing)),
            Rendered("processing.mmd", diagrams.state_machine_diagram(processing)),
            Rendered("processing.input.json", _json(example_execution_input(config, resources))),
        ]
    return rendered


def write(rendered: list[Rendered], out_dir: Path) -> list[Path]:
    """Write rendered documents to `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for document in rendered:
        path = out_dir / document.file_name
        path.write_text(document.content)
        paths.append(path)
    return paths
