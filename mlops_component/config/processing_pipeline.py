"""Settings of the optional processing pipeline (`processing`, seed 004)."""

from __future__ import annotations

import re

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlops_component import layout
from mlops_component.config.base import ConfigModel, InstanceType

# SageMaker's limits for a processing job (ProcessingClusterConfig, ProcessingStoppingCondition).
PROCESSING_MAX_VOLUME_GB = 16384
PROCESSING_MAX_RUNTIME_SECONDS = 777600
# S3 key prefixes of the processing pipeline: one or more segments, each ending in "/", of characters that need
# no escaping in a Step Functions intrinsic string or a StringMatches pattern (no quote, brace, star or backslash).
_PROCESSING_PREFIX = re.compile(r"([A-Za-z0-9._=-]+/)+")
_ECR_IMAGE = re.compile(
    r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9]+([._/-][a-z0-9]+)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})"
)


class ProcessingJobSettings(ConfigModel):
    """The stack's defaults for one Processing job, used for every field an execution's input leaves out."""

    instance_type: InstanceType = Field(
        default="ml.m5.xlarge", description="`InstanceType` of the job's single processing instance."
    )
    volume_size_in_gb: int = Field(
        default=20,
        ge=1,
        le=PROCESSING_MAX_VOLUME_GB,
        description="`VolumeSizeInGB`: the instance's storage volume, which holds the job's inputs and outputs.",
    )
    max_runtime_in_seconds: int = Field(
        default=3600,
        ge=1,
        le=PROCESSING_MAX_RUNTIME_SECONDS,
        description="`MaxRuntimeInSeconds`: SageMaker stops the job after this long; the workflow waits this "
        "long plus a start-up allowance.",
    )


class ProcessingSettings(ConfigModel):
    """The processing pipeline's settings: per-job defaults, images, and where its code and data live."""

    preprocessing: ProcessingJobSettings = Field(
        default_factory=ProcessingJobSettings, description="Defaults of the PreProcessing job."
    )
    inference: ProcessingJobSettings = Field(
        default_factory=ProcessingJobSettings, description="Defaults of the Inference job."
    )
    postprocessing: ProcessingJobSettings = Field(
        default_factory=ProcessingJobSettings, description="Defaults of the PostProcessing job."
    )
    framework_version: str = Field(
        default="1.2-1",
        description="Version of the SageMaker scikit-learn image that runs the pre- and post-processing "
        "scripts by default (`sagemaker-scikit-learn:<version>-cpu-py3` in the region's SageMaker registry).",
    )
    framework_image_uri: str | None = Field(
        default=None,
        description="An ECR image URI to run the scripts on instead of the region's scikit-learn image, e.g. for a "
        "region the lookup does not know or an image pinned by digest.",
    )
    inference_image_name: str = Field(
        default="legacycode",
        description="ECR repository name (after the name prefix) of the inference image, built from the "
        "bring-your-own image's build context only when `built_in_model_image` is set; otherwise the "
        "bring-your-own image itself runs the Inference job.",
    )
    inference_image_source_path: str | None = Field(
        default=None,
        description="Docker build context of that inference image; defaults to `byo_model_image_source_path`. "
        "Only used when `built_in_model_image` is set.",
    )
    positive_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Probability from which the PostProcessing report counts a prediction as positive.",
    )
    code_prefix: str = Field(
        default="legacycode/scripts/",
        description="Source-repository prefix holding preprocess.py, postprocess.py and the ETL's transform.py "
        "(the default `CodeUri`).",
    )
    input_prefix: str = Field(
        default="legacycode/input/",
        description="Feature-store prefix of the raw CSV files to score (the default PreProcessing `InputUri`).",
    )
    preprocessed_prefix: str = Field(
        default="legacycode/preprocessed/",
        description="Extracts-store prefix the PreProcessing job writes under, one folder per run.",
    )
    model_prefix: str = Field(
        default="legacycode/model/",
        description="Models-store prefix holding the model the Inference job scores with (the default "
        "`ModelUri`): a model.tar.gz or an unpacked model folder. The training workflow's models under "
        "`tuning/` may be given as `ModelUri` too.",
    )
    predictions_prefix: str = Field(
        default="legacycode/predictions/",
        description="Output-store prefix the Inference job writes under, one folder per run.",
    )
    reports_prefix: str = Field(
        default="legacycode/reports/",
        description="Output-store prefix the PostProcessing job writes its predictions table and report under, "
        "one folder per run.",
    )

    @field_validator("framework_version")
    @classmethod
    def _framework_version(cls, value: str) -> str:
        if not re.fullmatch(r"\d+\.\d+-\d+", value):
            raise ValueError(f"{value!r} is not a SageMaker scikit-learn image version such as 1.2-1")
        return value

    @field_validator("framework_image_uri")
    @classmethod
    def _image_uri(cls, value: str | None) -> str | None:
        if value is not None and not _ECR_IMAGE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> "
                "or @sha256:<digest>)"
            )
        return value

    @field_validator("inference_image_name")
    @classmethod
    def _repository_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+([._-][a-z0-9]+)*", value):
            raise ValueError("must be a valid ECR repository name (lowercase, digits, . _ -)")
        return value

    @field_validator(
        "code_prefix",
        "input_prefix",
        "preprocessed_prefix",
        "model_prefix",
        "predictions_prefix",
        "reports_prefix",
    )
    @classmethod
    def _prefix(cls, value: str, info: ValidationInfo) -> str:
        if not _PROCESSING_PREFIX.fullmatch(value) or ".." in value:
            raise ValueError(
                f"{value!r} must be an S3 key prefix ending in '/', of letters, digits and . _ = - "
                "(no leading '/', no '..')"
            )
        taken = _prefixes_the_training_pipeline_uses().get(str(info.field_name), {})
        clash = next((used for used in taken if value.startswith(used) or used.startswith(value)), None)
        if clash:
            raise ValueError(f"{value!r} overlaps {clash!r}, which {taken[clash]}")
        return value

    @model_validator(mode="after")
    def _separate_outputs(self) -> ProcessingSettings:
        # PostProcessing reads what Inference wrote; one inside the other would feed reports back in.
        low, high = sorted([self.predictions_prefix, self.reports_prefix])
        if high.startswith(low):
            raise ValueError(
                f"predictions_prefix and reports_prefix must not contain each other ({low!r}, {high!r})"
            )
        return self


def _prefixes_the_training_pipeline_uses() -> dict[str, dict[str, str]]:
    """Per processing prefix setting: the same store's prefixes the other parts own, and why they are off-limits."""
    trigger = "the training trigger watches: landing files there would start a training run"
    workflow = "the training workflow writes"
    return {
        "input_prefix": {layout.TRAIN_PREFIX: trigger, layout.SCORE_PREFIX: trigger},
        "code_prefix": {layout.ETL_CODE_PREFIX: "holds the Glue job's code"},
        "preprocessed_prefix": {
            layout.TRAIN_CHANNEL_PREFIX: workflow,
            layout.VALIDATION_CHANNEL_PREFIX: workflow,
            layout.SCORE_EXTRACT_PREFIX: workflow,
            layout.SCHEMA_PREFIX: workflow,
        },
        "predictions_prefix": {layout.PREDICTIONS_PREFIX: "the training workflow writes and crawls"},
        "reports_prefix": {layout.PREDICTIONS_PREFIX: "the training workflow writes and crawls"},
    }
