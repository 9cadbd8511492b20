"""The processing pipeline's definition (seed 004): PreProcessing, Inference and PostProcessing as three `.sync`
SageMaker Processing jobs whose settings come from the execution input.

The input has seed 004's request shape: one object per job, each field optional,

    {"PreProcessing": {"ProcessingJobName", "InputUri": {"S3Uri"}, "OutputUri": {"S3Uri"}, "CodeUri": {"S3Uri"},
                       "InstanceType", "VolumeSizeInGB", "MaxRuntimeInSeconds", "ImageUri", "RoleArn"},
     "Inference": {... "ModelUri": {"S3Uri"} instead of "CodeUri" ...},
     "PostProcessing": {... like PreProcessing ...}}

and the stack fills in every field left out. How, in Amazon States Language alone:

1. Every given field is checked first (a Choice state), so a bad value fails the run with a message naming it,
   through the failure notification, before any job starts. A wrong type would otherwise surface as an
   uncatchable runtime error, or as a job that fails after minutes of start-up.
2. Each job's object is merged over its defaults with `States.JsonMerge(defaults, given, false)`. Step Functions
   merges shallowly only, which is why the merge is per job object and why a location (`InputUri` ...) given
   must carry its `S3Uri`.
3. Defaults chain: a job's default input is what the previous job wrote, wherever the input sent it, so the
   defaults for Inference are computed after PreProcessing's settings are final, and so on.
4. Unique names come from the run name, `<job_name>-<12 hex digits>`: jobs are `<run>-preprocessing`, ...,
   and each job's default output is a folder of its own, `<prefix><run>/`, so runs never read each other's
   files.

`processing_definition` is a pure function of the config and plain names; the component feeds it resolved
Outputs, tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_component import layout
from mlops_component.builders.state_machines.states import (
    RUN_SUCCEEDED,
    State,
    Timings,
    fail_with,
    failure_states,
    task,
)
from mlops_component.builders.state_machines.training_workflow import JOB_START_OVERHEAD_SECONDS
from mlops_component.config import (
    PROCESSING_MAX_RUNTIME_SECONDS,
    PROCESSING_MAX_VOLUME_GB,
    MlOpsConfig,
    ProcessingJobSettings,
)

# The SageMaker Processing folder contract, the same in all three jobs: the scripts
# (processing/processing_job.py) and the container's batch-predict read and write exactly these folders.
PROCESSING_ROOT = "/opt/ml/processing"
INPUT_PATH = f"{PROCESSING_ROOT}/input"
OUTPUT_PATH = f"{PROCESSING_ROOT}/output"
CODE_PATH = f"{PROCESSING_ROOT}/code"
MODEL_PATH = f"{PROCESSING_ROOT}/model"
# The inference image's batch scoring program (container/batch-predict).
BATCH_PREDICT = "/opt/program/batch-predict"
# The scripts the code location holds (see mlops_component/components/processing_pipeline.py).
PREPROCESS_SCRIPT = "preprocess.py"
POSTPROCESS_SCRIPT = "postprocess.py"

# State names (the execution tests' mocked responses use them too).
READ_INPUT = "Read Input"
CHECK_INPUT_OBJECT = "Check Input Is An Object"
NAME_RUN = "Name Run"
DESCRIBE_JOBS = "Describe Given Jobs"
CHECK_INPUT = "Check Given Settings"
INVALID_INPUT = "Invalid Input"
ROUND_NUMBERS = "Round Given Numbers"
CHECK_WHOLE = "Check Whole Numbers"
SET_TIMEOUTS = "Set Job Timeouts"
SUMMARIZE = "Summarize Run"


@dataclass(frozen=True)
class Job:
    """One of the three jobs: its key in the execution input, its Task state and what it reads besides data."""

    key: str
    name_suffix: str
    extra_input: str  # "CodeUri" (a script job) or "ModelUri" (the inference job)
    entrypoint: tuple[str, ...]

    @property
    def state(self) -> str:
        """The Task state that runs the job (named like the input key, as in the seed)."""
        return self.key

    @property
    def defaults_state(self) -> str:
        return f"Default {self.key} Settings"

    @property
    def apply_state(self) -> str:
        return f"Apply {self.key} Defaults"

    def settings(self, config: MlOpsConfig) -> ProcessingJobSettings:
        """The stack's defaults for this job."""
        return getattr(config.processing, self.name_suffix)


PREPROCESSING = Job(
    "PreProcessing", "preprocessing", "CodeUri", ("python3", f"{CODE_PATH}/{PREPROCESS_SCRIPT}")
)
INFERENCE = Job("Inference", "inference", "ModelUri", (BATCH_PREDICT,))
POSTPROCESSING = Job(
    "PostProcessing", "postprocessing", "CodeUri", ("python3", f"{CODE_PATH}/{POSTPROCESS_SCRIPT}")
)
JOBS = (PREPROCESSING, INFERENCE, POSTPROCESSING)


@dataclass(frozen=True)
class ProcessingResources:
    """Names, URIs and ARNs of what the pipeline uses, resolved from the component's Outputs."""

    feature_bucket: str
    source_bucket: str
    extracts_bucket: str
    models_bucket: str
    output_bucket: str
    framework_image_uri: str  # runs preprocess.py and postprocess.py
    inference_image_uri: str  # runs batch-predict
    role_arn: str  # the processing jobs' execution role: the only role the state machine may pass
    topic_arn: str


@dataclass(frozen=True)
class Area:
    """A bucket prefix the processing jobs read or write."""

    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        """`s3://<bucket>/<prefix>`."""
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class Areas:
    """The stores' prefixes the pipeline works in. The processing role grants exactly these, and a location an
    execution gives outside them is refused before any job starts rather than failing in the job."""

    code: Area
    input: Area
    preprocessed: Area
    model: Area
    trained_models: Area
    predictions: Area
    reports: Area

    def allowed(self, field: str) -> tuple[Area, ...]:
        """The areas a location field may point into."""
        return {
            "CodeUri": (self.code,),
            "ModelUri": (self.model, self.trained_models),
            "InputUri": (self.input, self.preprocessed, self.predictions),
            "OutputUri": self.writable,
        }[field]

    @property
    def readable(self) -> tuple[Area, ...]:
        """Every area a job reads from."""
        return (self.code, self.model, self.trained_models, self.input, self.preprocessed, self.predictions)

    @property
    def writable(self) -> tuple[Area, ...]:
        """Every area a job writes to."""
        return (self.preprocessed, self.predictions, self.reports)


def processing_areas(config: MlOpsConfig, resources: ProcessingResources) -> Areas:
    """Where the pipeline's code, data and models live (config.processing's prefixes in the stores)."""
    s = config.processing
    return Areas(
        code=Area(resources.source_bucket, s.code_prefix),
        input=Area(resources.feature_bucket, s.input_prefix),
        preprocessed=Area(resources.extracts_bucket, s.preprocessed_prefix),
        model=Area(resources.models_bucket, s.model_prefix),
        # The training workflow's models, so a run record's model_data_url can be given as ModelUri.
        trained_models=Area(resources.models_bucket, layout.MODELS_PREFIX),
        predictions=Area(resources.output_bucket, s.predictions_prefix),
        reports=Area(resources.output_bucket, s.reports_prefix),
    )


def processing_tags(config: MlOpsConfig) -> list[dict[str, str]]:
    """Tags of the processing jobs, which Pulumi does not track; they find them for cost reports and clean-up."""
    tags = {**config.tags, "mlops:created-by": "processing-pipeline"}
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def pipeline_timeout_seconds() -> int:
    """An upper bound for a whole run: each job's longest allowed runtime plus its start-up allowance."""
    return len(JOBS) * (PROCESSING_MAX_RUNTIME_SECONDS + JOB_START_OVERHEAD_SECONDS) + 600


def processing_definition(
    config: MlOpsConfig, resources: ProcessingResources, timings: Timings | None = None
) -> dict[str, Any]:
    """The Amazon States Language definition of the processing pipeline."""
    timings = timings or Timings()
    states: dict[str, State] = {
        **_input_states(config, resources),
        **_settings_states(config, resources),
        **_job_states(config, resources, timings),
        RUN_SUCCEEDED: {"Type": "Succeed"},
        **failure_states(resources.topic_arn, f"{config.name_prefix} processing pipeline", timings),
    }
    return {
        "Comment": f"Processing pipeline for {config.job_name}: "
        + " -> ".join(job.key for job in JOBS)
        + ", each a SageMaker Processing job with settings from the execution input",
        "StartAt": READ_INPUT,
        "TimeoutSeconds": pipeline_timeout_seconds(),
        "States": states,
    }


def _input_states(config: MlOpsConfig, resources: ProcessingResources) -> dict[str, State]:
    """Read the execution input, name the run, and check every given field (the module's steps 1 and 4)."""
    rules, explanations = _input_rules(config, resources, processing_areas(config, resources))
    return {
        READ_INPUT: {
            "Type": "Pass",
            "Parameters": {
                "given.$": "$",
                # Only a JSON object can be merged; its text is the one test that tells an object from an array.
                "given_json.$": "States.JsonToString($)",
                "no_jobs": {job.key: {} for job in JOBS},
            },
            "Next": CHECK_INPUT_OBJECT,
        },
        CHECK_INPUT_OBJECT: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.given_json", "StringMatches": "{*", "Next": NAME_RUN}],
            "Default": INVALID_INPUT,
        },
        INVALID_INPUT: fail_with(
            "InvalidInput",
            "The execution input must be a JSON object with the optional keys "
            + ", ".join(job.key for job in JOBS)
            + " (the request syntax of seed 004); the stack fills in every field left out",
        ),
        NAME_RUN: {
            "Type": "Pass",
            "Parameters": {
                # Every job key present (given or empty), so the steps below never meet a missing path.
                "given.$": "States.JsonMerge($.no_jobs, $.given, false)",
                "run": {
                    "name.$": f"States.Format('{config.job_name}-{{}}', "
                    "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4))"
                },
            },
            "ResultPath": "$",
            "Next": DESCRIBE_JOBS,
        },
        DESCRIBE_JOBS: {
            "Type": "Pass",
            "Parameters": {f"{job.key}.$": f"States.JsonToString($.given.{job.key})" for job in JOBS},
            "ResultPath": "$.given_json",
            "Next": CHECK_INPUT,
        },
        CHECK_INPUT: {"Type": "Choice", "Choices": rules, "Default": JOBS[0].defaults_state},
        **explanations,
    }


def _settings_states(config: MlOpsConfig, resources: ProcessingResources) -> dict[str, State]:
    """Each job's settings merged over its defaults in order (steps 2 and 3), then checked for whole numbers."""
    areas = processing_areas(config, resources)
    states: dict[str, State] = {}
    for index, job in enumerate(JOBS):
        states[job.defaults_state] = {
            "Type": "Pass",
            "Parameters": _defaults(job, config, resources, areas),
            "ResultPath": "$.defaults",
            "Next": job.apply_state,
        }
        settled = {f"{done.key}.$": f"$.jobs.{done.key}" for done in JOBS[:index]}
        states[job.apply_state] = {
            "Type": "Pass",
            "Parameters": {
                **settled,
                f"{job.key}.$": f"States.JsonMerge($.defaults, $.given.{job.key}, false)",
            },
            "ResultPath": "$.jobs",
            "Next": JOBS[index + 1].defaults_state if index + 1 < len(JOBS) else ROUND_NUMBERS,
        }
    return {**states, **_whole_number_states()}


def _whole_number_states() -> dict[str, State]:
    """Refuse a fraction where SageMaker wants an integer. Choice rules have no integer test, but
    States.MathAdd rounds a non-integer argument to the nearest integer (AWS's intrinsic functions
    reference), so a number is whole exactly when it equals itself plus 0. The fields are checked for type and
    range first (CHECK_INPUT), and the stack's own defaults are integers, so every value here is a number."""
    fields = ("VolumeSizeInGB", "MaxRuntimeInSeconds")
    rounded = {
        job.key: {
            field: {
                "given.$": f"$.jobs.{job.key}.{field}",
                "rounded.$": f"States.MathAdd($.jobs.{job.key}.{field}, 0)",
            }
            for field in fields
        }
        for job in JOBS
    }
    return {
        ROUND_NUMBERS: {
            "Type": "Pass",
            "Parameters": rounded,
            "ResultPath": "$.rounded",
            "Next": CHECK_WHOLE,
        },
        CHECK_WHOLE: {
            "Type": "Choice",
            "Choices": [
                {
                    "Not": {
                        "Variable": f"$.rounded.{job.key}.{field}.given",
                        "NumericEqualsPath": f"$.rounded.{job.key}.{field}.rounded",
                    },
                    # Only a given value can be a fraction: its check's Fail state names it.
                    "Next": f"Invalid {job.key} {field}",
                }
                for job in JOBS
                for field in fields
            ],
            "Default": SET_TIMEOUTS,
        },
    }


def _job_states(config: MlOpsConfig, resources: ProcessingResources, timings: Timings) -> dict[str, State]:
    """The three jobs, each waited on for its own runtime, and the run's summary."""
    states: dict[str, State] = {
        SET_TIMEOUTS: {
            "Type": "Pass",
            # Each Task waits for its job's MaxRuntimeInSeconds plus the time SageMaker takes to start it.
            "Parameters": {
                f"{job.key}.$": f"States.MathAdd($.jobs.{job.key}.MaxRuntimeInSeconds, {JOB_START_OVERHEAD_SECONDS})"
                for job in JOBS
            },
            "ResultPath": "$.timeouts",
            "Next": JOBS[0].state,
        }
    }
    for index, job in enumerate(JOBS):
        states[job.state] = _processing_job(
            job,
            config,
            resources,
            timings,
            next_state=JOBS[index + 1].state if index + 1 < len(JOBS) else SUMMARIZE,
        )
    states[SUMMARIZE] = {
        "Type": "Pass",
        "Parameters": {
            "run.$": "$.run.name",
            "jobs.$": "$.results",
            "preprocessed.$": f"$.jobs.{PREPROCESSING.key}.OutputUri.S3Uri",
            "predictions.$": f"$.jobs.{INFERENCE.key}.OutputUri.S3Uri",
            "report.$": f"$.jobs.{POSTPROCESSING.key}.OutputUri.S3Uri",
        },
        "Next": RUN_SUCCEEDED,
    }
    return states


# --- Checking the given settings ---------------------------------------------------------------------------------


def _location_fields(job: Job) -> tuple[str, ...]:
    return ("InputUri", job.extra_input, "OutputUri")


def _input_rules(
    config: MlOpsConfig, resources: ProcessingResources, areas: Areas
) -> tuple[list[dict[str, Any]], dict[str, State]]:
    """One Choice rule per job and per given field that is wrong, each leading to a Fail that names it."""
    rules: list[dict[str, Any]] = []
    explanations: dict[str, State] = {}

    def add(name: str, condition: dict[str, Any], cause: str, *shown: str) -> None:
        rules.append({**condition, "Next": name})
        explanations[name] = fail_with("InvalidInput", cause, *shown)

    for job in JOBS:
        add(
            f"Invalid {job.key}",
            {"Not": {"Variable": f"$.given_json.{job.key}", "StringMatches": "{*"}},
            f"{job.key} must be a JSON object of the settings to change (got {{}})",
            f"$.given_json.{job.key}",
        )
    for job in JOBS:
        for field, valid, requirement in _field_checks(job, config, resources, areas):
            path = f"$.given.{job.key}.{field}"
            add(
                f"Invalid {job.key} {field}",
                # A field left out takes its default; one given must be valid.
                {"And": [{"Variable": path, "IsPresent": True}, {"Not": valid}]},
                f"{job.key}.{field} {requirement} (got {{}})",
                f"States.JsonToString({path})",
            )
    return rules, explanations


def _field_checks(
    job: Job, config: MlOpsConfig, resources: ProcessingResources, areas: Areas
) -> list[tuple[str, dict[str, Any], str]]:
    """(field, a Choice rule true for a valid value, what a valid value is) for each field of one job."""
    base = f"$.given.{job.key}"
    checks: list[tuple[str, dict[str, Any], str]] = [
        (
            "ProcessingJobName",
            _all(
                f"{base}.ProcessingJobName",
                {"IsString": True},
                {"StringMatches": f"{config.job_name}-*"},
            ),
            f"must be a name starting with {config.job_name}- (the pipeline may only create processing jobs named "
            "so); leave it out for a unique name",
        )
    ]
    for field in _location_fields(job):
        allowed = areas.allowed(field)
        uri = f"{base}.{field}.S3Uri"
        checks.append(
            (
                field,
                {
                    "And": [
                        {"Variable": uri, "IsPresent": True},
                        {"Variable": uri, "IsString": True},
                        {"Or": [{"Variable": uri, "StringMatches": f"{area.uri}*"} for area in allowed]},
                    ]
                },
                "must be an object whose S3Uri is under "
                + " or ".join(area.uri for area in allowed)
                + ", where the processing role may "
                + ("write" if field == "OutputUri" else "read"),
            )
        )
    checks += [
        (
            "InstanceType",
            _all(f"{base}.InstanceType", {"IsString": True}, {"StringMatches": "ml.*"}),
            "must be a SageMaker instance type such as ml.m5.xlarge",
        ),
        (
            "VolumeSizeInGB",
            _all(
                f"{base}.VolumeSizeInGB",
                {"IsNumeric": True},
                {"NumericGreaterThanEquals": 1},
                {"NumericLessThanEquals": PROCESSING_MAX_VOLUME_GB},
            ),
            f"must be a whole number of GB from 1 to {PROCESSING_MAX_VOLUME_GB}",
        ),
        (
            "MaxRuntimeInSeconds",
            _all(
                f"{base}.MaxRuntimeInSeconds",
                {"IsNumeric": True},
                {"NumericGreaterThanEquals": 1},
                {"NumericLessThanEquals": PROCESSING_MAX_RUNTIME_SECONDS},
            ),
            f"must be a whole number of seconds from 1 to {PROCESSING_MAX_RUNTIME_SECONDS}",
        ),
        (
            "ImageUri",
            _all(f"{base}.ImageUri", {"IsString": True}, {"Not": {"StringEquals": ""}}),
            "must be a container image URI",
        ),
        (
            "RoleArn",
            _all(f"{base}.RoleArn", {"IsString": True}, {"StringEquals": resources.role_arn}),
            f"must be {resources.role_arn}, the processing role of the stack and the only role the pipeline "
            "may pass to SageMaker; leave it out to use it",
        ),
    ]
    return checks


def _all(path: str, *tests: dict[str, Any]) -> dict[str, Any]:
    """A rule that holds when every test holds for the value at `path`, checked in order (type first)."""
    return {"And": [_on(path, test) for test in tests]}


def _on(path: str, test: dict[str, Any]) -> dict[str, Any]:
    if "Not" in test:
        return {"Not": _on(path, test["Not"])}
    return {"Variable": path, **test}


# --- Defaults and the jobs ---------------------------------------------------------------------------------------


def _defaults(job: Job, config: MlOpsConfig, resources: ProcessingResources, areas: Areas) -> dict[str, Any]:
    """The stack's settings for `job`, in the request shape; `.$` fields are filled in per run."""
    settings = job.settings(config)

    def per_run(area: Area) -> dict[str, str]:
        return {"S3Uri.$": f"States.Format('{area.uri}{{}}/', $.run.name)"}

    # Each job reads what the one before it wrote, wherever the input sent it.
    if job is PREPROCESSING:
        locations: dict[str, Any] = {
            "InputUri": {"S3Uri": areas.input.uri},
            "OutputUri": per_run(areas.preprocessed),
            "CodeUri": {"S3Uri": areas.code.uri},
        }
    elif job is INFERENCE:
        locations = {
            "InputUri": {"S3Uri.$": f"$.jobs.{PREPROCESSING.key}.OutputUri.S3Uri"},
            "OutputUri": per_run(areas.predictions),
            "ModelUri": {"S3Uri": areas.model.uri},
        }
    else:
        locations = {
            "InputUri": {"S3Uri.$": f"$.jobs.{INFERENCE.key}.OutputUri.S3Uri"},
            "OutputUri": per_run(areas.reports),
            "CodeUri": {"S3Uri": areas.code.uri},
        }
    return {
        "ProcessingJobName.$": f"States.Format('{{}}-{job.name_suffix}', $.run.name)",
        **locations,
        "InstanceType": settings.instance_type,
        "VolumeSizeInGB": settings.volume_size_in_gb,
        "MaxRuntimeInSeconds": settings.max_runtime_in_seconds,
        "ImageUri": job_image(job, resources),
        "RoleArn": resources.role_arn,
    }


def job_image(job: Job, resources: ProcessingResources) -> str:
    """The stack's image for a job: the inference image for Inference, the framework image for the scripts."""
    return resources.inference_image_uri if job is INFERENCE else resources.framework_image_uri


def _s3_input(name: str, uri_path: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri.$": uri_path,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _processing_job(
    job: Job, config: MlOpsConfig, resources: ProcessingResources, timings: Timings, *, next_state: str
) -> State:
    """CreateProcessingJob from the job's final settings (`$.jobs.<key>`), waited on until it ends."""
    settings = f"$.jobs.{job.key}"
    inputs = [
        _s3_input("data", f"{settings}.InputUri.S3Uri", INPUT_PATH),
        (
            _s3_input("code", f"{settings}.CodeUri.S3Uri", CODE_PATH)
            if job.extra_input == "CodeUri"
            else _s3_input("model", f"{settings}.ModelUri.S3Uri", MODEL_PATH)
        ),
    ]
    app: dict[str, Any] = {"ImageUri.$": f"{settings}.ImageUri", "ContainerEntrypoint": list(job.entrypoint)}
    if job is POSTPROCESSING:
        app["ContainerArguments"] = ["--threshold", str(config.processing.positive_threshold)]
    output: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": "output",
                "S3Output": {
                    "S3Uri.$": f"{settings}.OutputUri.S3Uri",
                    "LocalPath": OUTPUT_PATH,
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    cluster: dict[str, Any] = {
        "InstanceCount": 1,
        "InstanceType.$": f"{settings}.InstanceType",
        "VolumeSizeInGB.$": f"{settings}.VolumeSizeInGB",
    }
    if config.kms_key_arn:
        output["KmsKeyId"] = config.kms_key_arn
        cluster["VolumeKmsKeyId"] = config.kms_key_arn
    state = task(
        "arn:aws:states:::sagemaker:createProcessingJob.sync",
        {
            "ProcessingJobName.$": f"{settings}.ProcessingJobName",
            # The one role an execution may name (CHECK_INPUT refuses any other), so it is written here rather
            # than read from the input: the definition itself shows what the jobs run as.
            "RoleArn": resources.role_arn,
            "AppSpecification": app,
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": output,
            "ProcessingResources": {"ClusterConfig": cluster},
            "StoppingCondition": {"MaxRuntimeInSeconds.$": f"{settings}.MaxRuntimeInSeconds"},
            # Inputs and outputs move through SageMaker itself; the containers need no network.
            "NetworkConfig": {"EnableNetworkIsolation": True},
            "Tags": processing_tags(config),
        },
        next_state=next_state,
        timings=timings,
        timeout_seconds=PROCESSING_MAX_RUNTIME_SECONDS + JOB_START_OVERHEAD_SECONDS,
        result_path=f"$.results.{job.key}",
        result_selector={
            "ProcessingJobName.$": "$.ProcessingJobName",
            "ProcessingJobArn.$": "$.ProcessingJobArn",
            "ProcessingJobStatus.$": "$.ProcessingJobStatus",
        },
    )
    # The wait follows this run's MaxRuntimeInSeconds (SET_TIMEOUTS), which a static TimeoutSeconds cannot.
    del state["TimeoutSeconds"]
    state["TimeoutSecondsPath"] = f"$.timeouts.{job.key}"
    return state


# --- What users start it with ------------------------------------------------------------------------------------


def example_execution_input(config: MlOpsConfig, resources: ProcessingResources) -> dict[str, Any]:
    """A ready-to-use execution input in seed 004's request shape, with this stack's buckets, images and role.

    It leaves out what is unique per run: ProcessingJobName (generated), each OutputUri (a fresh folder per
    run) and the InputUri of Inference and PostProcessing (what the previous job wrote). A fixed output folder
    would mix a run's files with those an earlier run left there, which the next job would read.
    """
    areas = processing_areas(config, resources)
    example: dict[str, Any] = {}
    for job in JOBS:
        settings = job.settings(config)
        fields: dict[str, Any] = {}
        if job is PREPROCESSING:
            fields["InputUri"] = {"S3Uri": areas.input.uri}
        fields[job.extra_input] = {"S3Uri": (areas.code if job.extra_input == "CodeUri" else areas.model).uri}
        example[job.key] = {
            **fields,
            "InstanceType": settings.instance_type,
            "VolumeSizeInGB": settings.volume_size_in_gb,
            "MaxRuntimeInSeconds": settings.max_runtime_in_seconds,
            "ImageUri": job_image(job, resources),
            "RoleArn": resources.role_arn,
        }
    return example


__all__ = [
    "JOBS",
    "Area",
    "ProcessingResources",
    "example_execution_input",
    "processing_areas",
    "processing_definition",
]
