"""The pipeline's configuration: one pydantic model, validated once, before any resource exists.

Field names are the seed Terraform module's input names (snake_case); every model also accepts Pulumi's
camelCase spelling of each key. Cross-field rules live in field validators that read the fields declared
before them, so that one ValidationError names every bad key at once instead of stopping at the first."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

from mlops_component.config import builtin_xgboost
from mlops_component.config.base import (
    API_INTEGER_MAX,
    BATCH_TRANSFORM,
    BATCH_TRANSFORM_MAX_MINUTES,
    BUCKET_NAME,
    CONTENT_TAG_PREFIX,
    ENDPOINT,
    ENDPOINT_WAIT_MAX_MINUTES,
    JOB_START_OVERHEAD_SECONDS,
    LOG_RETENTION_DAYS,
    MAX_TAGS_PER_RESOURCE,
    MAX_USER_TAGS,
    NAME_PREFIX_MAX,
    PIP_REQUIREMENT,
    SAGEMAKER_NAME,
    TUNING_MAX_RUNTIME_SECONDS,
    ComparisonOperator,
    ConfigModel,
    InferenceMode,
    InstanceType,
    KmsKeyArn,
    existing_path,
    instance_type_field,
    tag_problems,
)
from mlops_component.config.dev_environment import DevEnvironmentSettings
from mlops_component.config.image_contract import (
    ImageContract,
    metric_problem,
    own_image_contract,
    range_problems,
    static_problems,
)
from mlops_component.config.processing_pipeline import ProcessingSettings
from mlops_component.config.ranges import ParameterRanges, seed_parameter_ranges

# EventBridge Scheduler's recurring expressions (its one-time `at()` would fire once and then lie in config).
_RATE = re.compile(r"rate\((?P<count>[1-9][0-9]*) (?P<unit>minutes?|hours?|days?)\)")
_CRON = re.compile(r"cron\(\S+( \S+){5}\)")


class Environment(ConfigModel):
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


def _image_contract(info: ValidationInfo) -> ImageContract | None:
    """The contract of the image training runs on, from the fields validated so far (None: unknown)."""
    if "built_in_model_image" not in info.data:
        return None  # the image setting failed its own validation, which names it
    if info.data["built_in_model_image"] is not None:
        return builtin_xgboost.CONTRACT
    return own_image_contract(info.data.get("byo_model_image_source_path"))


def _raise_all(problems: list[str]) -> None:
    if problems:
        raise ValueError("; ".join(problems))


class MlOpsConfig(ConfigModel):
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
        f"`mlops:name-prefix`). At most {MAX_USER_TAGS}, so that with the pipeline's own tags a resource stays "
        f"within AWS's {MAX_TAGS_PER_RESOURCE}; keys 1-128 and values 1-256 letters, digits, spaces and "
        "`_ . : / = + - @`, keys not starting with `aws:`.",
    )
    batch_transform_instance_count: int = Field(
        default=1, ge=1, le=API_INTEGER_MAX, description="Number of batch transform instances."
    )
    batch_transform_instance_type: InstanceType = instance_type_field("Instance type for batch inference.")
    built_in_model_image: str | None = Field(
        default=None,
        description="The image URI of SageMaker's built-in XGBoost algorithm to train and serve with. When set, "
        "the bring-your-own image is neither built nor pushed, and no ECR repository is created; "
        "`tuning_metric`, `static_hyperparameters` and `parameter_ranges` are checked against that algorithm.",
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
    endpoint_instance_count: int = Field(
        default=1, ge=1, le=API_INTEGER_MAX, description="Number of initial endpoint instances."
    )
    endpoint_instance_type: InstanceType = instance_type_field("Instance type for the inference endpoint.")
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
        default=3,
        ge=1,
        le=API_INTEGER_MAX,
        description="Maximum number of training jobs in hyperparameter tuning. Together with "
        "`max_parallel_training_jobs` and `training_job_max_runtime_seconds` it must fit SageMaker's longest "
        f"tuning job ({TUNING_MAX_RUNTIME_SECONDS} seconds).",
    )
    max_parallel_training_jobs: int = Field(
        default=1,
        ge=1,
        le=API_INTEGER_MAX,
        description="Maximum number of training jobs run in parallel during tuning.",
    )
    parameter_ranges: ParameterRanges = Field(
        default_factory=seed_parameter_ranges,
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
        description="Hyperparameters passed unchanged to every training job, e.g. `{kfold_splits: '5'}`. Each "
        "must be one the image knows, with a value it accepts; the built-in XGBoost algorithm needs "
        "`num_round` (here or tuned) and has no `kfold_splits`.",
    )
    train_local_path: str | None = Field(
        default="data/train.csv",
        description="Local training data uploaded to the feature store's `data/train/`; null to land data "
        "yourself. The seed's `source/data/train.csv` pointed into the old repository.",
    )
    training_job_instance_count: int = Field(
        default=1, ge=1, le=API_INTEGER_MAX, description="Number of instances per training job."
    )
    training_job_instance_type: InstanceType = instance_type_field("Instance type for training jobs.")
    training_job_storage_in_gb: int = Field(
        default=30, ge=1, le=16384, description="Volume size in GB for each training instance."
    )
    tuning_metric: str = Field(
        default="accuracy",
        description="Objective metric: one the image emits. The bring-your-own image prints `accuracy`, "
        "`roc_auc`, `precision`, `recall`, `f1` and `logloss` (`container/xgb_model/contract.json`); the "
        "built-in XGBoost algorithm's are `validation:auc`, `validation:logloss`, ... (they need "
        "`use_validation_channel`).",
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
    kms_key_arn: KmsKeyArn | None = Field(
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
        "The built-in XGBoost algorithm needs it: its tuning metrics (`validation:*`) are computed on it.",
    )
    batch_transform_timeout_minutes: int = Field(
        default=120,
        ge=5,
        le=BATCH_TRANSFORM_MAX_MINUTES,
        description="How long the workflow waits for a batch transform job (at most 30 days).",
    )
    endpoint_wait_timeout_minutes: int = Field(
        default=60,
        ge=5,
        le=ENDPOINT_WAIT_MAX_MINUTES,
        description="How long the workflow waits for the endpoint to be InService (at most a day).",
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

    # --- The model registry and schedules --------------------------------------------------------------------------
    model_approval_mode: Literal["automatic", "manual"] = Field(
        default="automatic",
        description="What happens to a model that passes the gate. `automatic`: it is registered in the stack's "
        "model package group as `Approved` and deployed in the same run. `manual`: it is registered as "
        "`PendingManualApproval` and the run ends there; approving the package later deploys it.",
    )
    retrain_schedule: str | None = Field(
        default=None,
        description="EventBridge Scheduler expression (`rate(7 days)`, `cron(0 3 ? * MON *)`, in UTC) on which the "
        "workflow retrains on the newest train data. Off when unset.",
    )
    score_schedule: str | None = Field(
        default=None,
        description="EventBridge Scheduler expression on which the newest score data is scored with the latest "
        "approved model, without retraining. Batch mode only; off when unset.",
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
        if not SAGEMAKER_NAME.fullmatch(value):
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
        elif not SAGEMAKER_NAME.fullmatch(value) or len(value) > 63:
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

    @field_validator("feature_store_override")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None and not BUCKET_NAME.fullmatch(value):
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
    def _metric(cls, value: str, info: ValidationInfo) -> str:
        # The metric name becomes part of the MetricDefinitions regex, so keep it to regex-safe characters.
        if not re.fullmatch(r"[A-Za-z0-9_:-]+", value):
            raise ValueError("must be a metric name: letters, digits, _ : -")
        contract = _image_contract(info)
        _raise_all([p for p in [contract and metric_problem(contract, value)] if p])
        return value

    @field_validator("tuning_objective")
    @classmethod
    def _objective(cls, value: str, info: ValidationInfo) -> str:
        contract, metric = _image_contract(info), info.data.get("tuning_metric")
        direction = contract.metrics.get(metric) if contract and metric else None
        if direction is not None and direction != value:
            raise ValueError(
                f"{metric} is a metric to {direction.lower()} (tuning_metric), not to {value.lower()}"
            )
        return value

    @field_validator("resource_tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        _raise_all(tag_problems(value))
        return value

    @field_validator("parameter_ranges")
    @classmethod
    def _ranges_fit_the_image(cls, value: ParameterRanges, info: ValidationInfo) -> ParameterRanges:
        contract = _image_contract(info)
        _raise_all(range_problems(contract, value) if contract else [])
        return value

    @field_validator("static_hyperparameters")
    @classmethod
    def _static_fit_the_image(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        contract, ranges = _image_contract(info), info.data.get("parameter_ranges")
        tuned = ranges.names() if ranges is not None else []
        _raise_all(static_problems(contract, value, tuned) if contract else [])
        return value

    @field_validator("training_job_max_runtime_seconds")
    @classmethod
    def _tuning_fits(cls, value: int, info: ValidationInfo) -> int:
        total, parallel = (
            info.data.get("max_number_training_jobs"),
            info.data.get("max_parallel_training_jobs"),
        )
        if total is None or parallel is None:
            return value
        # Training jobs run in waves of `parallel`; the tuning job (and the workflow's wait) must outlast them.
        longest = math.ceil(total / parallel) * (value + JOB_START_OVERHEAD_SECONDS)
        if longest > TUNING_MAX_RUNTIME_SECONDS:
            raise ValueError(
                f"{math.ceil(total / parallel)} waves of training jobs (max_number_training_jobs {total} / "
                f"max_parallel_training_jobs {parallel}) of up to {value} s each, plus {JOB_START_OVERHEAD_SECONDS} s "
                f"start-up, take {longest} s: more than SageMaker's longest tuning job ({TUNING_MAX_RUNTIME_SECONDS} s)"
            )
        return value

    @field_validator("use_validation_channel")
    @classmethod
    def _validation_channel(cls, value: bool, info: ValidationInfo) -> bool:
        contract, metric = _image_contract(info), info.data.get("tuning_metric", "")
        prefix = contract.validation_metric_prefix if contract else None
        if prefix and metric.startswith(prefix) and not value:
            raise ValueError(f"must be true: tuning_metric {metric} is computed on the validation channel")
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
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be a CloudWatch Logs retention period: {sorted(LOG_RETENTION_DAYS)}")
        return value

    @field_validator("retrain_schedule", "score_schedule")
    @classmethod
    def _schedule(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if not (_RATE.fullmatch(value) or _CRON.fullmatch(value)):
            raise ValueError(
                "must be an EventBridge Scheduler expression: rate(<n> minute[s]|hour[s]|day[s]) or "
                "cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)"
            )
        rate = _RATE.fullmatch(value)
        if rate and (rate["count"] == "1") != (not rate["unit"].endswith("s")):
            raise ValueError(
                "rate() takes a singular unit for 1 and a plural one otherwise, e.g. rate(1 day), rate(7 days)"
            )
        if (
            info.field_name == "score_schedule"
            and info.data.get("endpoint_or_batch_transform") != BATCH_TRANSFORM
        ):
            raise ValueError("applies to batch mode only: an endpoint scores requests as they arrive")
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
        return None if value is None else existing_path(value, info, want_dir=False)

    @field_validator("byo_model_image_source_path")
    @classmethod
    def _image_context(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("built_in_model_image"):
            return value  # nothing is built, so the folder need not exist
        return existing_path(value, info, want_dir=True)

    @field_validator("score_local_path")
    @classmethod
    def _score_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or info.data.get("endpoint_or_batch_transform") == ENDPOINT:
            return None  # endpoint inference scores through the endpoint, not a file
        return existing_path(value, info, want_dir=False)

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
        # None when the flag itself is invalid: its own error names it, and the job type stays unknown.
        spark = info.data.get("glue_job_spark_flag")
        for module in value:
            if "," in module:
                raise ValueError(
                    f"{module!r}: Glue separates modules with commas, so one entry cannot hold a comma; "
                    "give one version specifier, e.g. 'pyarrow==14.0.2'"
                )
            if module.startswith("s3://"):
                if spark is False:
                    raise ValueError(f"{module!r}: Python shell jobs cannot install from S3; use whl_path")
                if not module.endswith(".whl"):
                    raise ValueError(f"{module!r}: an S3 module must be a .whl file")
            elif not PIP_REQUIREMENT.fullmatch(module):
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
            resolved = existing_path(context, info, want_dir=True)
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
