"""The pipeline's configuration: one pydantic model, validated once, before any resource exists.

Field names are the seed Terraform module's input names (snake_case); every model also accepts Pulumi's
camelCase spelling of each key. Cross-field rules live in field validators that read the fields declared
before them, so that one ValidationError names every bad key at once instead of stopping at the first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from mlops_component.assets import resolve_local_path

InferenceMode = Literal["Batch Transform", "Create Model Endpoint Config"]
BATCH_TRANSFORM: InferenceMode = "Batch Transform"
ENDPOINT: InferenceMode = "Create Model Endpoint Config"
ComparisonOperator = Literal[
    "NumericEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
]
ScalingType = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]

# SageMaker resource names: alphanumerics separated by single hyphens (the API's own pattern).
_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# The retention periods CloudWatch Logs accepts.
_LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# A pip requirement without commas: a name, optional extras, an optional single version specifier.
_REQUIREMENT = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._-]+\])?((==|~=|!=|>=|<=|>|<)[A-Za-z0-9.*+!_-]+)?"
)
# Longest name the component derives: "<prefix>-<store>-<account id>-<region>" must fit S3's 63 characters.
NAME_PREFIX_MAX = 24
# Image tags derived from the build context's content start with this; no other tag may.
CONTENT_TAG_PREFIX = "src-"


class _Model(BaseModel):
    """Shared settings: typos fail loudly, and both snake_case and camelCase keys are accepted."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        # Pulumi hands structured config over as JSON, where "5" may arrive as the number 5.
        coerce_numbers_to_str=True,
        frozen=True,
        # Defaults get the same checks as given values (e.g. a default upload path must exist).
        validate_default=True,
    )


class Environment(_Model):
    """The seed's standard `environment` input. In Pulumi the region is a provider setting."""

    vpc_id: str | None = Field(default=None, description="VPC for resources that run inside one.")
    aws_region: str | None = Field(
        default=None,
        description="Region to deploy to. When unset, the ambient provider config (`aws:region`) is used.",
    )
    public_subnets: list[str] = Field(default_factory=list, description="Public subnet IDs.")
    private_subnets: list[str] = Field(
        default_factory=list, description="Private subnet IDs; resources that support a VPC run here."
    )

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", value):
            raise ValueError(f"{value!r} is not a VPC ID (vpc-xxxxxxxx)")
        return value

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", value):
            raise ValueError(f"{value!r} is not an AWS region name such as us-east-1")
        return value

    @field_validator("public_subnets", "private_subnets")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if not re.fullmatch(r"subnet-[0-9a-f]{8,17}", s)]
        if bad:
            raise ValueError(f"not subnet IDs (subnet-xxxxxxxx): {bad}")
        return value


class _PascalModel(_Model):
    """SageMaker API shapes keep the API's PascalCase keys (as in the seed); snake_case also works."""

    model_config = ConfigDict(alias_generator=lambda name: to_camel(name)[0].upper() + to_camel(name)[1:])


def _number(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return number


class _NumericRange(_PascalModel):
    name: str = Field(description="Hyperparameter to tune.")
    min_value: str = Field(description="Lower bound (a number, passed to SageMaker as a string).")
    max_value: str = Field(description="Upper bound (a number, passed to SageMaker as a string).")
    scaling_type: ScalingType = Field(default="Auto", description="How SageMaker searches the range.")

    def _check_bounds(self, low: float, high: float) -> None:
        if low > high:
            raise ValueError(f"MinValue {self.min_value} is greater than MaxValue {self.max_value}")
        if self.scaling_type == "Logarithmic" and low <= 0:
            raise ValueError("Logarithmic scaling needs MinValue > 0")


class ContinuousParameterRange(_NumericRange):
    """A real-valued hyperparameter range."""

    @model_validator(mode="after")
    def _bounds(self) -> ContinuousParameterRange:
        low, high = _number(self.min_value, "MinValue"), _number(self.max_value, "MaxValue")
        self._check_bounds(low, high)
        if self.scaling_type == "ReverseLogarithmic" and not (low >= 0 and high < 1):
            raise ValueError("ReverseLogarithmic scaling needs 0 <= MinValue and MaxValue < 1")
        return self


class IntegerParameterRange(_NumericRange):
    """An integer hyperparameter range."""

    @model_validator(mode="after")
    def _bounds(self) -> IntegerParameterRange:
        low, high = _number(self.min_value, "MinValue"), _number(self.max_value, "MaxValue")
        if not (low.is_integer() and high.is_integer()):
            raise ValueError("integer ranges need whole-number MinValue and MaxValue")
        if self.scaling_type == "ReverseLogarithmic":
            raise ValueError("ReverseLogarithmic scaling is only valid for continuous ranges")
        self._check_bounds(low, high)
        return self


class CategoricalParameterRange(_PascalModel):
    """A hyperparameter chosen from a list of values."""

    name: str = Field(description="Hyperparameter to tune.")
    values: Annotated[list[str], Field(min_length=1, max_length=30)] = Field(
        description="Candidate values (SageMaker allows up to 30)."
    )


class ParameterRanges(_PascalModel):
    """Hyperparameter tuning ranges, in the shape of SageMaker's `ParameterRanges`."""

    continuous_parameter_ranges: list[ContinuousParameterRange] = Field(
        default_factory=list, description="Real-valued ranges."
    )
    integer_parameter_ranges: list[IntegerParameterRange] = Field(
        default_factory=list, description="Integer ranges."
    )
    categorical_parameter_ranges: list[CategoricalParameterRange] = Field(
        default_factory=list, description="Categorical ranges."
    )

    @model_validator(mode="after")
    def _names(self) -> ParameterRanges:
        names = self.names()
        if not names:
            raise ValueError("at least one range is needed for tuning")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"hyperparameters given more than one range: {duplicates}")
        return self

    def names(self) -> list[str]:
        """Every tuned hyperparameter's name."""
        ranges: list[_NumericRange | CategoricalParameterRange] = [
            *self.continuous_parameter_ranges,
            *self.integer_parameter_ranges,
            *self.categorical_parameter_ranges,
        ]
        return [r.name for r in ranges]

    def to_sagemaker(self) -> dict[str, list[dict[str, Any]]]:
        """The `ParameterRanges` document of CreateHyperParameterTuningJob."""
        return self.model_dump(by_alias=True)


def _default_parameter_ranges() -> ParameterRanges:
    # The seed module's default ranges, unchanged.
    auto = "Auto"
    return ParameterRanges(
        continuous_parameter_ranges=[
            ContinuousParameterRange(name="gamma", min_value="0", max_value="10", scaling_type=auto),
            ContinuousParameterRange(
                name="min_child_weight", min_value="1", max_value="20", scaling_type=auto
            ),
            ContinuousParameterRange(name="subsample", min_value="0.1", max_value="0.5", scaling_type=auto),
            ContinuousParameterRange(name="max_delta_step", min_value="0", max_value="1", scaling_type=auto),
            ContinuousParameterRange(
                name="scale_pos_weight", min_value="1", max_value="10", scaling_type=auto
            ),
        ],
        integer_parameter_ranges=[
            IntegerParameterRange(name="max_depth", min_value="1", max_value="10", scaling_type=auto),
        ],
    )


_CURRENT_GENERATION = (
    "The seed's default `ml.m4.xlarge` is a previous-generation instance type; `ml.m5.xlarge` is its current "
    "equivalent at a lower price."
)


def _instance_type(description: str) -> Any:
    return Field(default="ml.m5.xlarge", description=f"{description} {_CURRENT_GENERATION}")


# --- The development environment (mlops_component/dev_environment.py) ----------------------------------------------

_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")
# What SageMaker's GitConfig accepts as a repository URL and a branch.
_GIT_URL = re.compile(r"https://[^/\s]+/\S{3,1016}")
_GIT_BRANCH = re.compile(r"[^ ~^:?*\[\\]+")
# The idle check runs every 5 minutes, so a shorter limit could not be honoured.
IDLE_CHECK_INTERVAL_MINUTES = 5


class DevEnvironmentSettings(_Model):
    """The data scientists' notebook, its git repository and the small data lake (`enable_dev_environment`)."""

    instance_type: str = Field(
        default="ml.t3.medium",
        description="Notebook instance type. The small current-generation default suits editing and light "
        "exploration; heavy work belongs in the pipeline's jobs or Glue interactive sessions.",
    )
    volume_size_in_gb: int = Field(
        default=20,
        ge=5,
        le=16384,
        description="Size of the notebook's storage volume (`/home/ec2-user/SageMaker`, the only folder that "
        "survives a stop).",
    )
    platform_identifier: Literal["notebook-al2-v3", "notebook-al2023-v1"] = Field(
        default="notebook-al2-v3",
        description="Notebook runtime (Amazon Linux and JupyterLab version). The lifecycle scripts support both.",
    )
    root_access: bool = Field(
        default=False,
        description="Give notebook users root. Off: the lifecycle scripts still run as root, users do not.",
    )
    kms_key_arn: str | None = Field(
        default=None,
        description="KMS key for the notebook's storage volume; defaults to the top-level `kms_key_arn`.",
    )
    idle_shutdown_minutes: int | None = Field(
        default=60,
        ge=0,
        le=7 * 24 * 60,
        description="Stop the notebook after this many minutes without kernel or terminal activity. 0 or null "
        f"turns the safeguard off. Checked every {IDLE_CHECK_INTERVAL_MINUTES} minutes.",
    )
    git_repository_url: str | None = Field(
        default=None,
        description="HTTPS URL of an existing git repository (GitHub, GitLab, ...) to use instead of creating a "
        "CodeCommit repository. Needs `git_secret_arn`.",
    )
    git_secret_arn: str | None = Field(
        default=None,
        description='Secrets Manager secret holding `{"username": ..., "password": ...}` (a token) for '
        "`git_repository_url`. The notebook's role may read this one secret.",
    )
    git_branch: str | None = Field(
        default=None,
        description="Branch SageMaker checks out from `git_repository_url`; the repository's default when unset. "
        "A created CodeCommit repository starts empty, and its first push creates `main`.",
    )
    enable_interactive_sessions: bool = Field(
        default=False,
        description="Let the notebook start Glue interactive sessions (Spark with the `awsglue` library; they "
        "replace the retired Glue dev endpoints), with their own least-privilege runtime role.",
    )

    @field_validator("instance_type")
    @classmethod
    def _notebook_instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.fullmatch(value):
            raise ValueError(f"{value!r} is not a SageMaker instance type (ml.<family>.<size>)")
        return value

    @field_validator("kms_key_arn")
    @classmethod
    def _volume_key(cls, value: str | None) -> str | None:
        if value is not None and not _KMS_KEY_ARN.fullmatch(value):
            raise ValueError("must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
        return value

    @field_validator("idle_shutdown_minutes")
    @classmethod
    def _idle_limit(cls, value: int | None) -> int | None:
        if value and value < IDLE_CHECK_INTERVAL_MINUTES:
            raise ValueError(
                f"must be 0/null (off) or at least {IDLE_CHECK_INTERVAL_MINUTES} minutes, the check's interval"
            )
        return value or None

    @field_validator("git_repository_url")
    @classmethod
    def _git_url(cls, value: str | None) -> str | None:
        if value is not None and not _GIT_URL.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an https:// repository URL (SageMaker clones over HTTPS only)"
            )
        return value

    @field_validator("git_secret_arn")
    @classmethod
    def _git_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _SECRET_ARN.fullmatch(value):
            raise ValueError(
                "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
            )
        has_url = info.data.get("git_repository_url") is not None
        if "git_repository_url" in info.data and has_url != (value is not None):
            raise ValueError(
                "git_repository_url and git_secret_arn go together: give both to use an existing repository, "
                "or neither to create a CodeCommit repository"
            )
        return value

    @field_validator("git_branch")
    @classmethod
    def _branch(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if not _GIT_BRANCH.fullmatch(value) or len(value) > 1024:
            raise ValueError(f"{value!r} is not a git branch name")
        if "git_repository_url" in info.data and info.data["git_repository_url"] is None:
            raise ValueError(
                "only applies with git_repository_url; a created CodeCommit repository starts empty"
            )
        return value

    @property
    def uses_codecommit(self) -> bool:
        """True when the component creates the CodeCommit repository (no existing repository configured)."""
        return self.git_repository_url is None


# --- The processing pipeline (seed 004) ---------------------------------------------------------------------------

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


class ProcessingJobSettings(_Model):
    """The stack's defaults for one Processing job, used for every field an execution's input leaves out."""

    instance_type: str = Field(
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

    @field_validator("instance_type")
    @classmethod
    def _ml_instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.fullmatch(value):
            raise ValueError(f"{value!r} is not a SageMaker instance type (ml.<family>.<size>)")
        return value


class ProcessingSettings(_Model):
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
    # Imported here: the workflow module imports this one.
    from mlops_component import naming
    from mlops_component.workflows import training

    trigger = "the training trigger watches: landing files there would start a training run"
    workflow = "the training workflow writes"
    return {
        "input_prefix": {naming.TRAIN_PREFIX: trigger, naming.SCORE_PREFIX: trigger},
        "code_prefix": {naming.ETL_CODE_PREFIX: "holds the Glue job's code"},
        "preprocessed_prefix": {
            training.TRAIN_CHANNEL_PREFIX: workflow,
            training.VALIDATION_CHANNEL_PREFIX: workflow,
            training.SCORE_EXTRACT_KEY.split("/")[0] + "/": workflow,
            "schema/": workflow,
        },
        "predictions_prefix": {training.PREDICTIONS_PREFIX: "the training workflow writes and crawls"},
        "reports_prefix": {training.PREDICTIONS_PREFIX: "the training workflow writes and crawls"},
    }


class MlOpsConfig(_Model):
    """Everything the pipeline needs. Mirrors the seed module's 33 inputs, plus the settings this project adds."""

    # --- The seed module's inputs (same names; same defaults except where the description says why) ---------
    aws_credentials_file: str | None = Field(
        default=None,
        description="Path to an AWS shared credentials file for the AWS provider. Optional: when unset, the "
        "ambient provider configuration (environment, profile, `aws:` stack config) is used.",
    )
    environment: Environment | None = Field(
        default=None,
        description="The seed's standard environment input: VPC, region and subnets. Optional; the region maps "
        "onto the AWS provider.",
    )
    job_name: str = Field(
        description="Name prefix given to SageMaker models and training/tuning jobs (18 characters or less, so "
        "that the generated unique suffix keeps tuning job names within SageMaker's 32).",
    )
    name_prefix: str = Field(
        description=f"Prefix for every resource name. Lowercase letters, digits and hyphens, at most "
        f"{NAME_PREFIX_MAX} characters, because it is part of S3 bucket names.",
    )
    resource_tags: dict[str, str] = Field(
        default_factory=dict,
        description="Tags for every taggable resource the component creates (the name prefix is added as "
        "`mlops:name-prefix`).",
    )
    batch_transform_instance_count: int = Field(
        default=1, ge=1, description="Number of batch transform instances."
    )
    batch_transform_instance_type: str = _instance_type("Instance type for batch inference.")
    built_in_model_image: str | None = Field(
        default=None,
        description="A SageMaker built-in algorithm image URI to train and serve with. When set, the "
        "bring-your-own image is neither built nor pushed, and no ECR repository is created.",
    )
    byo_model_image_name: str = Field(
        default="byo-xgboost", description="Image and ECR repository name for the bring-your-own model."
    )
    byo_model_image_source_path: str = Field(
        default="container",
        description="Local Docker build context of the bring-your-own model image. The seed's default "
        "`source/containers/ml-ops-byo-xgboost` pointed into the old repository; `container` is this "
        "project's (and, when the library is installed, the copy it ships).",
    )
    byo_model_image_tag: str | None = Field(
        default="latest",
        description="An extra, movable tag pushed alongside the immutable content-derived tag (null: none). "
        "It is the only tag the repository lets be re-pushed. The workflow always runs the digest-pinned "
        "image, never this tag.",
    )
    endpoint_instance_count: int = Field(default=1, ge=1, description="Number of initial endpoint instances.")
    endpoint_instance_type: str = _instance_type("Instance type for the inference endpoint.")
    endpoint_name: str = Field(
        default="training-endpoint",
        description="SageMaker inference endpoint to create or update. It is created if it does not exist.",
    )
    endpoint_or_batch_transform: InferenceMode = Field(
        default=BATCH_TRANSFORM,
        description='Whether a run ends in batch inference ("Batch Transform") or creates/updates a real-time '
        'endpoint ("Create Model Endpoint Config").',
    )
    feature_store_override: str | None = Field(
        default=None,
        description="Name of an existing bucket to use as the feature store. It is only referenced: never "
        "created, changed or deleted (apart from the trigger's notification configuration).",
    )
    glue_job_name: str = Field(
        default="data-transformation",
        description="Name of the Glue data transformation job (after the prefix).",
    )
    glue_job_spark_flag: bool = Field(
        default=False, description="True for a Spark Glue job; false (the default) for a Python shell job."
    )
    inference_comparison_operator: ComparisonOperator = Field(
        default="NumericGreaterThan",
        description="Step Functions comparison between the tuning job's objective metric and "
        "`inference_metric_threshold`; a model is deployed only if it holds.",
    )
    inference_metric_threshold: float = Field(
        default=0.7, allow_inf_nan=False, description="Threshold the objective metric is compared with."
    )
    max_number_training_jobs: int = Field(
        default=3, ge=1, description="Maximum number of training jobs in hyperparameter tuning."
    )
    max_parallel_training_jobs: int = Field(
        default=1, ge=1, description="Maximum number of training jobs run in parallel during tuning."
    )
    parameter_ranges: ParameterRanges = Field(
        default_factory=_default_parameter_ranges,
        description="Hyperparameter tuning ranges: `ContinuousParameterRanges`, `IntegerParameterRanges` and/or "
        "`CategoricalParameterRanges`, each a list of `Name`, `MinValue`, `MaxValue`, `ScalingType` (or `Values`).",
    )
    score_local_path: str | None = Field(
        default="data/score.csv",
        description="Local scoring data uploaded to the feature store's `data/score/`; unused for endpoint "
        "inference, and null to land data yourself. The seed's `source/data/score.csv` pointed into the old "
        "repository; `mlops sample-data --out data` writes this file.",
    )
    script_path: str = Field(
        default="etl/transform.py",
        description="Local Glue script, uploaded to the source repository. The seed's "
        "`source/scripts/transform.py` pointed into the old repository; `etl/transform.py` is this project's.",
    )
    static_hyperparameters: dict[str, str] = Field(
        default_factory=lambda: {"kfold_splits": "5"},
        description="Hyperparameters passed unchanged to every training job, e.g. `{kfold_splits: '5'}`.",
    )
    train_local_path: str | None = Field(
        default="data/train.csv",
        description="Local training data uploaded to the feature store's `data/train/`; null to land data "
        "yourself. The seed's `source/data/train.csv` pointed into the old repository.",
    )
    training_job_instance_count: int = Field(
        default=1, ge=1, description="Number of instances per training job."
    )
    training_job_instance_type: str = _instance_type("Instance type for training jobs.")
    training_job_storage_in_gb: int = Field(
        default=30, ge=1, le=16384, description="Volume size in GB for each training instance."
    )
    tuning_metric: str = Field(
        default="accuracy",
        description="Objective metric, e.g. accuracy, roc_auc, f1. The training program prints it as "
        "`<metric>: <value>`.",
    )
    tuning_objective: Literal["Maximize", "Minimize"] = Field(
        default="Maximize", description="Whether tuning maximizes or minimizes the metric."
    )
    whl_path: str | None = Field(
        default=None,
        description="Optional local Python wheel given to the Glue job. The seed defaulted to a hand-built pandas "
        "wheel in the old repository; current Glue runtimes ship pandas, so no wheel is needed by default.",
    )

    # --- Settings this project adds ----------------------------------------------------------------------------
    kms_key_arn: str | None = Field(
        default=None,
        description="KMS key for the buckets' default encryption (SSE-KMS with a bucket key). When unset, "
        "buckets use SSE-S3.",
    )
    force_destroy: bool = Field(
        default=False,
        description="Allow `pulumi destroy` to delete buckets that still hold objects. Off, so data is never "
        "deleted by accident.",
    )
    glue_version: str = Field(
        default="5.0",
        description="Glue version of the Spark job (`glue_job_spark_flag` true): 4.0 or later, as earlier ones are "
        "retired or deprecated. A Python shell job always runs Python 3.9, which AWS provides as Glue 3.0.",
    )
    glue_python_shell_capacity: float = Field(
        default=0.0625,
        description="DPUs of the Python shell job: 0.0625 (1 GB of memory, the cheapest; the transform needs "
        "less than 1 GB for a million rows) or 1 (16 GB).",
    )
    glue_worker_type: str = Field(
        default="G.1X", description="Worker type of the Spark job, e.g. G.1X, G.2X, R.1X."
    )
    glue_number_of_workers: int = Field(
        default=2, ge=2, le=1000, description="Number of workers of the Spark job (Glue's minimum is 2)."
    )
    glue_job_timeout_minutes: int = Field(
        default=60,
        ge=1,
        le=2880,
        description="Minutes after which Glue stops the job. A million rows take under a minute of transform.",
    )
    glue_job_max_retries: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Times Glue reruns a failed job on its own. The job is idempotent, so retries are safe, but "
        "the default is 0: a Step Functions `.sync` task waits on the run it started, not on Glue's retries of "
        "it, so retries belong in the workflow.",
    )
    glue_additional_python_modules: list[str] = Field(
        default_factory=list,
        description='Extra Python requirements for the Glue job (the seed\'s "[TK] config variable"), e.g. '
        "`['scikit-learn==1.5.2']`. Glue installs them with pip at job start (`--additional-python-modules`). "
        "A Spark job also takes `s3://.../*.whl` wheels; a Python shell job only takes requirements.",
    )
    crawl_feature_store: bool = Field(
        default=False,
        description="Also crawl the feature store's `data/train/` and `data/score/` into the Glue catalog "
        "(tables `features_train`, `features_score`), so Athena can query the raw data. Always on with the "
        "development environment, whose data lake this is.",
    )
    enable_dev_environment: bool = Field(
        default=False,
        description="Create the development environment: a SageMaker notebook connected to a git repository, "
        "with example code, idle auto-stop, and a Glue catalog of the feature store for Athena.",
    )
    dev_environment: DevEnvironmentSettings = Field(
        default_factory=DevEnvironmentSettings,
        description="Settings of the development environment; used when `enable_dev_environment` is true.",
    )

    # --- Workflow settings this project adds ---------------------------------------------------------------------
    tuning_strategy: Literal["Bayesian", "Random"] = Field(
        default="Bayesian", description="SageMaker's search strategy for hyperparameter tuning."
    )
    training_job_max_runtime_seconds: int = Field(
        default=3600, ge=60, le=28 * 24 * 3600, description="Stopping condition for each training job."
    )
    use_validation_channel: bool = Field(
        default=False,
        description="Add a `validation` channel (the extracts store's `validation/` prefix) to training jobs. "
        "Built-in algorithms need it for `validation:*` objective metrics.",
    )
    batch_transform_timeout_minutes: int = Field(
        default=120, ge=5, description="How long the workflow waits for a batch transform job."
    )
    endpoint_wait_timeout_minutes: int = Field(
        default=60, ge=5, description="How long the workflow waits for the endpoint to be InService."
    )
    notification_email: str | None = Field(
        default=None,
        description="Email address subscribed to the failure topic (the subscription must be confirmed). "
        "Set it with `pulumi config set --secret` to keep it out of plain-text state.",
    )
    enable_xray_tracing: bool = Field(default=False, description="Trace workflow executions with AWS X-Ray.")
    log_retention_days: int = Field(
        default=30, description="Retention of the workflow's and the functions' CloudWatch log groups."
    )
    ecr_keep_images: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="How many of the most recently pushed bring-your-own images the ECR lifecycle policy keeps. "
        "An endpoint whose image was expired cannot launch new instances, so keep more images than model "
        "builds happen between two runs that update the endpoint.",
    )

    # --- The processing pipeline (seed 004) ------------------------------------------------------------------------
    enable_processing_pipeline: bool = Field(
        default=False,
        description="Also deploy the processing pipeline for legacy code: a Step Functions state machine that runs "
        "three SageMaker Processing jobs (PreProcessing, Inference, PostProcessing) whose settings come from each "
        "execution's input.",
    )
    processing: ProcessingSettings = Field(
        default_factory=ProcessingSettings,
        description="Settings of the processing pipeline (used when `enable_processing_pipeline` is true).",
    )

    # Top-level fields set with `pulumi config set --secret`; their values reach resources as Pulumi secrets.
    _secret_fields: frozenset[str] = PrivateAttr(default_factory=frozenset)

    # --- Field rules ---------------------------------------------------------------------------------------------
    @field_validator("job_name")
    @classmethod
    def _job_name(cls, value: str) -> str:
        if len(value) > 18:
            raise ValueError(f"must be at most 18 characters (got {len(value)})")
        if not _SAGEMAKER_NAME.fullmatch(value):
            raise ValueError("must use SageMaker name characters: letters, digits and single hyphens")
        return value

    @field_validator("name_prefix")
    @classmethod
    def _name_prefix(cls, value: str) -> str:
        # A trailing hyphen is the Terraform module's habit ("myproj-dev-"); the component adds its own.
        prefix = value.rstrip("-")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", prefix):
            raise ValueError("must be usable in S3 bucket names: lowercase letters, digits and hyphens")
        if len(prefix) > NAME_PREFIX_MAX:
            raise ValueError(f"must be at most {NAME_PREFIX_MAX} characters (got {len(prefix)})")
        if prefix.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
            raise ValueError("must not start with a prefix S3 reserves (xn--, sthree-, amzn-s3-demo-)")
        return prefix

    @field_validator("endpoint_name", "byo_model_image_name", "glue_job_name")
    @classmethod
    def _resource_name(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "byo_model_image_name":
            if not re.fullmatch(r"[a-z0-9]+([._-][a-z0-9]+)*", value):
                raise ValueError("must be a valid ECR repository name (lowercase, digits, . _ -)")
        elif not _SAGEMAKER_NAME.fullmatch(value) or len(value) > 63:
            raise ValueError("must be 1-63 letters, digits and single hyphens")
        return value

    @field_validator("byo_model_image_tag")
    @classmethod
    def _image_tag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", value):
            raise ValueError(
                "must be a Docker tag: letters, digits, _ . - (at most 128, not starting with . or -)"
            )
        if value.startswith(CONTENT_TAG_PREFIX):
            raise ValueError(
                f"must not start with {CONTENT_TAG_PREFIX!r}, which marks the immutable content tags"
            )
        return value

    @field_validator("batch_transform_instance_type", "endpoint_instance_type", "training_job_instance_type")
    @classmethod
    def _ml_instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.fullmatch(value):
            raise ValueError(f"{value!r} is not a SageMaker instance type (ml.<family>.<size>)")
        return value

    @field_validator("feature_store_override")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name")
        return value

    @field_validator("max_parallel_training_jobs")
    @classmethod
    def _parallel_within_total(cls, value: int, info: ValidationInfo) -> int:
        total = info.data.get("max_number_training_jobs")
        if total is not None and value > total:
            raise ValueError(f"must be at most max_number_training_jobs ({total})")
        return value

    @field_validator("tuning_metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        # The metric name becomes part of the MetricDefinitions regex, so keep it to regex-safe characters.
        if not re.fullmatch(r"[A-Za-z0-9_:-]+", value):
            raise ValueError("must be a metric name: letters, digits, _ : -")
        return value

    @field_validator("kms_key_arn")
    @classmethod
    def _kms_key(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+", value
        ):
            raise ValueError("must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
        return value

    @field_validator("notification_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("must be an email address")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in _LOG_RETENTION_DAYS:
            raise ValueError(f"must be a CloudWatch Logs retention period: {sorted(_LOG_RETENTION_DAYS)}")
        return value

    @field_validator("dev_environment")
    @classmethod
    def _dev_environment(cls, value: DevEnvironmentSettings, info: ValidationInfo) -> DevEnvironmentSettings:
        if not info.data.get("enable_dev_environment"):
            return value
        environment = info.data.get("environment")
        if environment is not None and environment.private_subnets and environment.vpc_id is None:
            raise ValueError(
                "environment.private_subnets puts the notebook in a private subnet, which needs "
                "environment.vpc_id for the notebook's security group"
            )
        if value.kms_key_arn is None and info.data.get("kms_key_arn"):
            # The volume inherits the stores' key, so one setting encrypts everything.
            return value.model_copy(update={"kms_key_arn": info.data["kms_key_arn"]})
        return value

    @field_validator("aws_credentials_file", "script_path", "whl_path", "train_local_path")
    @classmethod
    def _uploaded_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _existing_path(value, info, want_dir=False)

    @field_validator("byo_model_image_source_path")
    @classmethod
    def _image_context(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("built_in_model_image"):
            return value  # nothing is built, so the folder need not exist
        return _existing_path(value, info, want_dir=True)

    @field_validator("score_local_path")
    @classmethod
    def _score_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or info.data.get("endpoint_or_batch_transform") == ENDPOINT:
            return None  # endpoint inference scores through the endpoint, not a file
        return _existing_path(value, info, want_dir=False)

    @field_validator("whl_path")
    @classmethod
    def _wheel(cls, value: str | None) -> str | None:
        if value is not None and not value.endswith(".whl"):
            raise ValueError(
                "must be a Python wheel (a .whl file): Glue Python 3.9 jobs take no .egg or .zip"
            )
        return value

    @field_validator("glue_version")
    @classmethod
    def _glue_version(cls, value: str) -> str:
        if not re.fullmatch(r"\d+\.\d+", value) or float(value) < 4.0:
            raise ValueError(f"must be a Glue version such as 5.0, at least 4.0 (got {value!r})")
        return value

    @field_validator("glue_python_shell_capacity")
    @classmethod
    def _python_shell_capacity(cls, value: float) -> float:
        if value not in (0.0625, 1.0):
            raise ValueError(f"Python shell jobs run with 0.0625 or 1 DPU (got {value})")
        return value

    @field_validator("glue_worker_type")
    @classmethod
    def _worker_type(cls, value: str) -> str:
        if value == "G.025X":
            raise ValueError("G.025X workers are for streaming jobs only; use G.1X or larger")
        if not re.fullmatch(r"[GR]\.(1|2|4|8|12|16)X", value):
            raise ValueError(f"{value!r} is not a Glue Spark worker type (G.1X, G.2X, G.4X, G.8X, R.1X, ...)")
        return value

    @field_validator("glue_additional_python_modules")
    @classmethod
    def _python_modules(cls, value: list[str], info: ValidationInfo) -> list[str]:
        spark = info.data.get("glue_job_spark_flag", False)
        for module in value:
            if "," in module:
                raise ValueError(
                    f"{module!r}: Glue separates modules with commas, so one entry cannot hold a comma; "
                    "give one version specifier, e.g. 'pyarrow==14.0.2'"
                )
            if module.startswith("s3://"):
                if not spark:
                    raise ValueError(f"{module!r}: Python shell jobs cannot install from S3; use whl_path")
                if not module.endswith(".whl"):
                    raise ValueError(f"{module!r}: an S3 module must be a .whl file")
            elif not _REQUIREMENT.fullmatch(module):
                raise ValueError(f"{module!r} is not a pip requirement such as 'name' or 'name==1.2.3'")
        return value

    @field_validator("processing")
    @classmethod
    def _processing(cls, value: ProcessingSettings, info: ValidationInfo) -> ProcessingSettings:
        if info.data.get("built_in_model_image") is None:
            if value.inference_image_source_path is not None:
                raise ValueError(
                    "inference_image_source_path is only used when built_in_model_image is set; the "
                    "bring-your-own image runs the Inference job otherwise"
                )
            return value
        if not info.data.get("enable_processing_pipeline"):
            return value
        # With a built-in training image, the Inference job's image is built from this context.
        context = value.inference_image_source_path or info.data.get("byo_model_image_source_path")
        if context is None:
            return value  # byo_model_image_source_path failed its own validation, which names it
        try:
            resolved = _existing_path(context, info, want_dir=True)
        except ValueError as error:
            raise ValueError(f"inference image build context: {error}") from None
        return value.model_copy(update={"inference_image_source_path": resolved})

    # --- Derived values -------------------------------------------------------------------------------------------
    @property
    def is_batch(self) -> bool:
        """True when runs end in batch inference rather than a real-time endpoint."""
        return self.endpoint_or_batch_transform == BATCH_TRANSFORM

    @property
    def uses_own_image(self) -> bool:
        """True when the bring-your-own image is built and pushed."""
        return self.built_in_model_image is None

    @property
    def crawls_feature_store(self) -> bool:
        """True when the feature store is crawled into the catalog (asked for, or the dev environment's lake)."""
        return self.crawl_feature_store or self.enable_dev_environment

    @property
    def secret_fields(self) -> frozenset[str]:
        """Fields whose values came from encrypted stack config."""
        return self._secret_fields

    def with_secret_fields(self, fields: Iterable[str]) -> MlOpsConfig:
        """A copy that remembers which fields are secret."""
        copy = self.model_copy()
        copy._secret_fields = frozenset(fields)
        return copy

    @property
    def tags(self) -> dict[str, str]:
        """The tags every taggable resource gets."""
        return {**self.resource_tags, "mlops:name-prefix": self.name_prefix}


def _existing_path(value: str, info: ValidationInfo, *, want_dir: bool) -> str:
    """Resolve a local path the deployment reads, or fail naming it."""
    base = Path((info.context or {}).get("base_dir", "."))
    path = resolve_local_path(value, base)
    if path is None or path.is_dir() != want_dir:
        kind = "folder" if want_dir else "file"
        raise ValueError(f"{kind} {value!r} does not exist (looked in {base.resolve()})")
    return str(path)
