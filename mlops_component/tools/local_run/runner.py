"""`mlops local-run`: the whole pipeline on this machine, stage by stage, with the code the cloud runs.

The run follows one execution of the training workflow. The trigger function starts it in the embedded AWS;
then each stage the state machine would run is run here, with the parameters the real definition gives it,
resolved against a state document shaped like the execution's (`asl.py`):

| stage     | the workflow                         | here                                                       |
|-----------|--------------------------------------|------------------------------------------------------------|
| data      | (data lands in the feature store)    | the given files, or generated sample data                  |
| aws       | the stack                            | moto: the six stores, the state machine                    |
| land      | S3 event -> trigger function         | PutObject, then the trigger handler with the S3 event      |
| etl       | Transform Data (Glue)                | the Glue script's `run_s3` on the embedded S3              |
| tuning    | Name Run, Tune Hyperparameters       | `run_name`; the container's `train` per trial, with Optuna |
| metadata  | Record Run Metadata (function)       | the run-metadata handler, answering its Describe calls     |
| gate      | Check Objective Metric               | `gate_passes`; the Fail state's cause when it fails        |
| registry  | Register Model (function); approval  | the register-model handler on moto's model registry;       |
|           | mode: deploy, or Pending Approval    | `--approve` approves a pending package in the same run     |
| inference | the deployment workflow: Create Model| `serve` on the package's model + line-split mini-batches + |
|           | from the package, Batch Transform +  | the rename handler, or `serve` + `/ping` + one smoke       |
|           | Rename Output, or endpoint           | request                                                    |
| outputs   | (Glue crawler, metadata store)       | predictions.csv, summary.json, report.html, model/, s3/    |

Whatever happens, `summary.json` says how far the run got, the report shows the trials, and `s3/` holds every
object the embedded AWS stored; a failed stage says what went wrong and where to look.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_component import layout
from mlops_component.builders import naming
from mlops_component.builders.state_machines import deployment_workflow as deployment
from mlops_component.builders.state_machines import gate
from mlops_component.builders.state_machines import training_workflow as workflow
from mlops_component.builders.state_machines.deployment_workflow import (
    DeploymentResources,
    deployment_definition,
)
from mlops_component.builders.state_machines.training_workflow import (
    TrainingResources,
    run_name,
    training_definition,
)
from mlops_component.config import MlOpsConfig
from mlops_component.tools.local_run import asl, model_quality, report, score_only
from mlops_component.tools.local_run.aws import DEFAULT_REGION, EmbeddedAws
from mlops_component.tools.local_run.errors import LocalRunError, RunInterrupted
from mlops_component.tools.local_run.outputs import (
    DATA_DIR,
    LOGS_DIR,
    MODEL_DIR,
    OWNED,
    PREDICTIONS_FILE,
    REPORT_FILE,
    S3_DIR,
    SERVING_DIR,
    SUMMARY_FILE,
    TRIALS_DIR,
    OutputFolderError,
    atomic,
    clear,
    describe_outputs,
    display,
    output_paths,
    plan_clearing,
    replace_folder,
    write_marker,
    write_text,
)
from mlops_component.tools.local_run.progress import Progress
from mlops_component.tools.local_run.scoring import (
    ModelServer,
    TransformRequest,
    batch_transform,
    smoke_request,
    unpack_model,
)
from mlops_component.tools.local_run.shipped import load_etl_script, program_command, program_environment
from mlops_component.tools.local_run.tuning import LocalSageMaker, TrainingJob, TuningResult, tune
from mlops_component.tools.sample_data import DEFAULT_ROWS, DEFAULT_SEED, write_sample_data

STAGES = ["data", "aws", "land", "etl", "tuning", "metadata", "gate", "registry", "inference", "outputs"]
LOCAL_JOB_NAME = "employee-attrition"
LOCAL_NAME_PREFIX = "mlops-local"


@dataclass(frozen=True)
class LocalRunOptions:
    """What the command line gives a local run besides the config."""

    out_dir: Path
    train: Path | None = None
    score: Path | None = None
    stack_file: Path | None = None
    rows: int = DEFAULT_ROWS
    """Training rows of the generated sample data (when no training file is given)."""
    seed: int = DEFAULT_SEED
    """Seeds the sample data and the tuner's sampler."""
    approve: bool = False
    """Approve the registered package in the same run (manual approval mode), so that it deploys."""


def local_config() -> MlOpsConfig:
    """The configuration of a local run without a stack file: the defaults, plus names and no upload paths."""
    return MlOpsConfig.model_validate(
        {
            "job_name": LOCAL_JOB_NAME,
            "name_prefix": LOCAL_NAME_PREFIX,
            "train_local_path": None,
            "score_local_path": None,
        },
        context={"base_dir": Path.cwd()},
    )


def unsupported(config: MlOpsConfig) -> list[str]:
    """Settings a local run cannot honour, each with the reason."""
    problems = []
    if config.built_in_model_image:
        problems.append(
            f"built_in_model_image ({config.built_in_model_image}) is a SageMaker image that needs Docker and "
            "AWS to run; local runs train and serve with the bring-your-own container folder "
            "(byo_model_image_source_path)"
        )
    return problems


def run_local(
    config: MlOpsConfig, options: LocalRunOptions, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the pipeline locally; return the summary. Raises LocalRunError after writing what it could."""
    stages = score_only.STAGES if _score_only(options) else STAGES
    return LocalRun(config, options, progress or Progress(stages)).run()


def _score_only(options: LocalRunOptions) -> bool:
    return score_only.wanted(options.out_dir.resolve(), options.train, options.score)


class LocalRun:
    """One local run: the state it has reached, and a method per stage."""

    def __init__(self, config: MlOpsConfig, options: LocalRunOptions, progress: Progress) -> None:
        self.config = config
        self.options = options
        self.progress = progress
        # Absolute, because the container's programs run in folders of their own.
        self.out = options.out_dir.resolve()
        self.mode = "batch" if config.is_batch else "endpoint"
        self.region = (config.environment.aws_region if config.environment else None) or DEFAULT_REGION
        self.container_dir = Path(config.byo_model_image_source_path)
        self.state: dict[str, Any] = {}
        """The execution's state document, as the state machine would hold it."""
        self.summary: dict[str, Any] = {
            "status": "running",
            "failed_stage": None,
            "error": None,
            "mode": self.mode,
            "run_name": None,
            "config": {
                "stack_file": str(options.stack_file) if options.stack_file else None,
                "name_prefix": config.name_prefix,
                "job_name": config.job_name,
                "region": self.region,
                "etl_script": config.script_path,
                "container": str(self.container_dir),
            },
            "objective": {"metric": config.tuning_metric, "type": config.tuning_objective},
            "operator": config.inference_comparison_operator,
            "threshold": config.inference_metric_threshold,
            "gate_passed": None,
            "static_hyperparameters": dict(config.static_hyperparameters),
            "trials": [],
            "best": None,
            "timings": {},
        }
        self.tuning: TuningResult | None = None
        self.aws: EmbeddedAws | None = None
        self.inputs: tuple[Path | None, Path | None] = (None, None)
        self.definition: dict[str, Any] = {}
        """The training workflow's definition, as the stack would deploy it for this config."""
        self.deployment: dict[str, Any] = {}
        """The deployment workflow's definition, as the stack would deploy it for this config."""
        self.deployment_state: dict[str, Any] = {}
        """The deployment execution's state document, once the model is registered and approved."""
        self.state_machine_arn = ""
        self.score_only = _score_only(options)
        """Score with the package an earlier run in `--out` approved, without training (`score_only.py`)."""
        self.previous: score_only.ApprovedPackage | None = None

    # --- The run ------------------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        # Bad input files stop the run before anything in the output folder changes.
        self.inputs = (
            self._input_file("--train", self.options.train),
            self._input_file("--score", self.options.score),
        )
        if self.score_only:  # read before the folder is cleared; refused with nothing changed
            self.previous = score_only.approved_package(self.out)
        self._prepare_output_folder()
        if self.previous is not None:
            self.progress.note(
                f"mlops local-run: score only, with model package version {self.previous.version} "
                f"({self.previous.arn}) that the earlier run in {display(self.out)} approved; no training"
            )
        else:
            self.progress.note(
                f"mlops local-run: {self.mode} mode, {self.config.max_number_training_jobs} trial(s) "
                f"({self.config.max_parallel_training_jobs} at a time), gate {self.config.tuning_metric} "
                f"{self.config.inference_comparison_operator} {self.config.inference_metric_threshold}"
            )
        try:
            with _sigterm_interrupts():
                self._run_stages(started)
        except LocalRunError as error:
            error.kept = describe_outputs(self.out)
            raise
        return self.summary

    def _run_stages(self, started: float) -> None:
        """The stages, then the outputs whatever happened; the summary says how the run ended."""
        try:
            try:
                self._stages()
                self.summary["status"] = "succeeded"
            except LocalRunError as error:
                self.summary.update(status="failed", failed_stage=error.stage, error=error.message)
                raise
            except KeyboardInterrupt as error:
                # A second signal must not cut the summary short: it is written in a moment.
                _ignore_signals()
                why = error.signal_name if isinstance(error, RunInterrupted) else "Ctrl-C"
                self.summary.update(status="interrupted", error=f"interrupted ({why})")
                raise
            except Exception as error:  # unexpected: the traceback is kept with the run's other traces
                self.summary.update(
                    status="failed", failed_stage="unexpected", error=f"{type(error).__name__}: {error}"
                )
                write_text(self.out / LOGS_DIR / "traceback.txt", traceback.format_exc())
                raise
            finally:
                self._write_outputs(started)
        finally:
            if self.aws is not None:
                self.aws.stop()

    def _stages(self) -> None:
        with self.progress.stage("data", "input files"):
            train, score = self._score_data() if self.previous else self._data()
        with self.progress.stage("aws", "embedded AWS (moto, in this process)"):
            # Assigned before it starts, so that an interruption during the start still stops it.
            self.aws = EmbeddedAws(
                self.config.name_prefix, self.region, feature_store=self.config.feature_store_override
            )
            self.aws.start()
            self._aws(self.aws)
        if self.previous is not None and score is not None:
            self._score_only_pipeline(self.aws, self.previous, score)
        else:
            self._pipeline(self.aws, train, score)

    def _score_data(self) -> tuple[Path, Path | None]:
        score = self.inputs[1]
        assert score is not None
        self.progress.line(f"score: {display(score)}; no training file: nothing is trained")
        self.summary["data"] = {"train": None, "score": str(score)}
        self.summary["score_only"] = True
        return score, score

    def _score_only_pipeline(
        self, aws: EmbeddedAws, previous: score_only.ApprovedPackage, score: Path
    ) -> None:
        """The deployment workflow's path for a score file landing alone, with the earlier run's package."""
        stage, line = self.progress.stage, self.progress.line
        with stage(
            "registry", "the earlier run's approved package, registered again; the latest approved one"
        ):
            restored = score_only.register_again(
                previous,
                sagemaker=aws.sagemaker,
                s3=aws.s3,
                group=self._group_name(),
                image=self.container_dir.resolve().as_uri(),
                extracts_bucket=aws.buckets["extracts"],
            )
            line(f"model package {restored} (the earlier run's {previous.arn}): Approved")
            landed = aws.land(score, layout.SCORE_PREFIX)
            line(f"landed {landed.uri}; the deployment starts with no package named (cause score-landed)")
            self.deployment_state = {
                "modelPackageArn": None,
                "score": {
                    "bucket": landed.bucket,
                    "key": landed.key,
                    "version_id": landed.version_id,
                    "etag": landed.etag,
                },
                "cause": "score-landed",
            }
            found = aws.sagemaker.list_model_packages(**self._deployment_parameters(deployment.FIND_APPROVED))
            if not found["ModelPackageSummaryList"]:
                failure = self.deployment["States"][deployment.NO_APPROVED_MODEL]["Parameters"]
                raise LocalRunError("registry", f"{failure['Error']}: {failure['Cause']}")
            arn = found["ModelPackageSummaryList"][0]["ModelPackageArn"]
            self._start_deployment(aws, arn, cause="score-landed", score=self.deployment_state["score"])
            package = self.deployment_state["package"]
            line(f"latest approved: {arn} (version {package.get('ModelPackageVersion')})")
            self.summary["model_package"] = {
                "arn": arn,
                "group": self._group_name(),
                "version": package.get("ModelPackageVersion"),
                "status": package.get("ModelApprovalStatus"),
                "approval_mode": previous.approval_mode,
                "restored_from": previous.arn,
                "model_data_url": previous.model_data_url,
            }
        with stage("etl", "Prepare Score Data: the ETL script as a scoring-only run"):
            self._etl(aws, self._deployment_parameters(deployment.PREPARE_SCORE))
        with stage(
            "inference", "deployment workflow: Create Model from the package, Batch Transform, Rename Output"
        ):
            self._inference(aws)

    def _pipeline(self, aws: EmbeddedAws, train: Path, score: Path | None) -> None:
        stage = self.progress.stage
        with stage("land", f"data into the feature store; the trigger function decides ({self.mode} mode)"):
            self._land(aws, train, score)
        with stage("etl", f"Transform Data: {display(Path(self.config.script_path))} on the embedded S3"):
            self._etl(aws, self._parameters(workflow.TRANSFORM_DATA))
        with stage("tuning", "Name Run, Tune Hyperparameters: the container's train program per trial"):
            self._tune(aws)
        with stage("metadata", "Record Run Metadata: the run-metadata function"):
            self._record(aws)
        with stage("gate", "Check Objective Metric"):
            self._gate()
        with stage(
            "registry",
            f"Register Model: the register-model function ({self.config.model_approval_mode} approval)",
        ):
            approved = self._register(aws)
        what = (
            "deployment workflow: Create Model from the package, Batch Transform (serve + line-split "
            "mini-batches), Rename Output"
            if self.mode == "batch"
            else "deployment workflow: Create Model from the package, endpoint (serve + /ping + one smoke request)"
        )
        with stage("inference", what):
            if approved:
                self._inference(aws)
            else:
                self.progress.line(
                    "skipped: the package awaits approval (run again with --approve to deploy it)"
                )

    def _parameters(self, state: str) -> dict[str, Any]:
        """The parameters the workflow's `state` would send, resolved against the run's state document."""
        resolved: dict[str, Any] = asl.resolve(asl.state_parameters(self.definition, state), self.state)
        return resolved

    def _deployment_parameters(self, state: str) -> dict[str, Any]:
        """The parameters the deployment workflow's `state` would send, against its execution's state."""
        resolved: dict[str, Any] = asl.resolve(
            asl.state_parameters(self.deployment, state), self.deployment_state
        )
        return resolved

    # --- Stages ---------------------------------------------------------------------------------------------------

    def _data(self) -> tuple[Path, Path | None]:
        line = self.progress.line
        train, score = self.inputs
        if train is None and self.config.train_local_path:
            train = Path(self.config.train_local_path)
            line(f"train: {display(train)} (trainLocalPath of the stack)")
        if score is None and self.config.score_local_path and self.config.is_batch:
            score = Path(self.config.score_local_path)
            line(f"score: {display(score)} (scoreLocalPath of the stack)")
        if train is None:
            files = write_sample_data(self.out / DATA_DIR, self.options.rows, seed=self.options.seed)
            line(
                f"generated sample data (seed {self.options.seed}): {display(files.train)} ({files.train_rows} rows), "
                f"{display(files.score)} ({files.score_rows} rows)"
            )
            train = files.train
            if score is None:
                score = files.score
        elif self.options.train:
            line(f"train: {display(train)}")
        if not self.config.is_batch:
            if score is not None:
                line("endpoint mode scores nothing from a file: the score file is not used")
            score = None
        elif score is None:
            score = train
            line(
                f"score: {display(train)} (no score file given: batch mode scores the training file; its label is ignored)"
            )
        elif self.options.score:
            line(f"score: {display(score)}")
        self.summary["data"] = {"train": str(train), "score": str(score) if score else None}
        return train, score

    def _input_file(self, option: str, path: Path | None) -> Path | None:
        if path is None:
            return None
        if not path.exists():
            raise LocalRunError("data", f"{option} {path}: no such file")
        if not path.is_file():
            raise LocalRunError("data", f"{option} {path}: not a file")
        if not os.access(path, os.R_OK):
            raise LocalRunError("data", f"{option} {path}: not readable")
        return path

    def _aws(self, aws: EmbeddedAws) -> None:
        aws.create_stores()
        for store, bucket in aws.buckets.items():
            self.progress.line(f"{store:<17} s3://{bucket}")
        if self.config.kms_key_arn:
            self.progress.line("kms_key_arn is not emulated: the local stores use SSE-S3")
        self.definition = training_definition(self.config, self._resources(aws))
        machine = naming.resource_name(self.config.name_prefix, "training")
        self.state_machine_arn = aws.create_state_machine(machine, self.definition)
        self.progress.line(
            f"state machine {self.state_machine_arn} (the real definition; moto does not run it)"
        )
        self.deployment = deployment_definition(self.config, self._deployment_resources(aws))
        deployment_arn = aws.create_state_machine(
            naming.resource_name(self.config.name_prefix, naming.DEPLOYMENT_STATE_MACHINE), self.deployment
        )
        self.progress.line(f"state machine {deployment_arn} (the deployment workflow)")
        group = aws.create_model_package_group(self._group_name())
        self.progress.line(f"model package group {group}")
        self.summary["stores"] = dict(aws.buckets)
        self.summary["state_machine"] = self.state_machine_arn

    def _resources(self, aws: EmbeddedAws) -> TrainingResources:
        """What the definition names; the ARNs follow the deployment's naming, for a realistic definition."""
        prefix, account = self.config.name_prefix, aws.account

        def function(module: str) -> str:
            return account.arn("lambda", f"function:{naming.resource_name(prefix, module)}")

        return TrainingResources(
            glue_job_name=naming.resource_name(prefix, self.config.glue_job_name),
            etl_timeout_seconds=self.config.glue_job_timeout_minutes * 60,
            extracts_bucket=aws.buckets["extracts"],
            models_bucket=aws.buckets["models"],
            metadata_bucket=aws.buckets["metadata"],
            image_uri=self.container_dir.resolve().as_uri(),
            sagemaker_role_arn=account.arn("iam", f"role/{prefix}-sagemaker", regional=False),
            topic_arn=account.arn("sns", naming.resource_name(prefix, "failures")),
            run_metadata_function_arn=function("run-metadata"),
            register_model_function_arn=function("register-model"),
            deployment_state_machine_arn=account.arn(
                "states", f"stateMachine:{naming.resource_name(prefix, naming.DEPLOYMENT_STATE_MACHINE)}"
            ),
        )

    def _group_name(self) -> str:
        return naming.resource_name(self.config.name_prefix, naming.MODEL_PACKAGE_GROUP)

    def _deployment_resources(self, aws: EmbeddedAws) -> DeploymentResources:
        """What the deployment definition names, by the deployment's naming."""
        prefix, account, batch = self.config.name_prefix, aws.account, self.config.is_batch

        def function(module: str) -> str:
            return account.arn("lambda", f"function:{naming.resource_name(prefix, module)}")

        return DeploymentResources(
            model_package_group=self._group_name(),
            extracts_bucket=aws.buckets["extracts"],
            output_bucket=aws.buckets["output"],
            metadata_bucket=aws.buckets["metadata"],
            sagemaker_role_arn=account.arn("iam", f"role/{prefix}-sagemaker", regional=False),
            topic_arn=account.arn("sns", naming.resource_name(prefix, "failures")),
            glue_job_name=naming.resource_name(prefix, self.config.glue_job_name) if batch else None,
            etl_timeout_seconds=self.config.glue_job_timeout_minutes * 60,
            rename_output_function_arn=function("rename-output") if batch else None,
            prediction_crawler_name=naming.resource_name(prefix, "predictions-crawler") if batch else None,
            endpoint_function_arn=None if batch else function("endpoint"),
        )

    def _land(self, aws: EmbeddedAws, train: Path, score: Path | None) -> None:
        log = self.out / LOGS_DIR / "trigger.log"
        started: list[dict[str, Any]] = []
        for path, prefix in ((train, layout.TRAIN_PREFIX), (score, layout.SCORE_PREFIX)):
            if path is None:
                continue
            landed = aws.land(path, prefix)
            self.progress.line(f"landed {landed.uri} (version {landed.version_id}, {landed.size} bytes)")
            result = aws.notify_trigger(
                landed, state_machine_arn=self.state_machine_arn, inference_mode=self.mode, log_path=log
            )
            started += result["started"]
            self.progress.line(_trigger_outcome(result))
        if not started:
            raise LocalRunError("land", f"the trigger function started no run; see {display(log)}")
        execution = started[-1]
        self.state = aws.execution_input(execution["execution_arn"])
        self.summary["execution"] = {
            "name": execution["execution_name"],
            "arn": execution["execution_arn"],
            "input": copy.deepcopy(self.state),
        }

    def _etl(self, aws: EmbeddedAws, parameters: dict[str, Any]) -> None:
        arguments = {name.removeprefix("--"): value for name, value in parameters["Arguments"].items()}
        self.progress.line(" ".join(f"--{k} {v or '(empty)'}" for k, v in arguments.items()))
        script_path = Path(self.config.script_path)
        if self.config.glue_job_spark_flag:
            # The engine the Glue job runs (local PySpark), when the script has its Spark pair. Imported here:
            # the component module loads Pulumi, which a run without the flag does not need.
            from mlops_component.components.etl import spark_script_path

            script_path = spark_script_path(str(script_path)) or script_path
        script = load_etl_script(script_path)
        rejected = getattr(script, "TransformError", ValueError)
        log = self.out / LOGS_DIR / "etl.log"
        with _logging_to(log):
            try:
                written = script.run_s3(aws.s3, **arguments)
            except rejected as error:
                files = self.summary["data"]
                raise LocalRunError(
                    "etl",
                    f"the ETL rejected the data: {error}\n  train file: {files['train']}\n  score file: "
                    f"{files['score'] or '(none: endpoint mode)'}",
                ) from None
            # A user's own script may fail in any way; its traceback goes to the log.
            except Exception as error:
                logging.getLogger("mlops.local_run").exception("the ETL script failed")
                raise LocalRunError(
                    "etl",
                    f"the ETL script failed: {type(error).__name__}: {error} (traceback in {display(log)})",
                ) from None
        for key, outcome in written.items():
            self.progress.line(f"{outcome} s3://{arguments['destination_bucket']}/{key}")

    def _tune(self, aws: EmbeddedAws) -> None:
        name = run_name(self.config.job_name)
        self.state["run"] = {"name": name}
        self.summary["run_name"] = name
        self.progress.line(f"run name {name}")
        request = self._parameters(workflow.TUNE)
        job = TrainingJob.from_request(
            request,
            s3=aws.s3,
            command=program_command(self.container_dir, "train"),
            channels_dir=self.out / TRIALS_DIR / ".channels",
            environment=program_environment(),
            cpus=_cpus(),
        )
        self.tuning = tune(
            request,
            job=job,
            s3=aws.s3,
            trials_dir=self.out / TRIALS_DIR,
            seed=self.options.seed,
            cpus=_cpus(),
            say=self.progress.line,
        )
        self._summarise_trials()
        self.tuning.check(lambda path: display(path))
        best = self.tuning.best
        assert best is not None  # check() fails the run when no trial completed
        self.progress.line(
            f"best: trial {best.number} ({best.name}) {self.tuning.objective_metric}={best.objective:.4f}"
        )

    def _record(self, aws: EmbeddedAws) -> None:
        assert self.tuning is not None and self.tuning.best is not None
        best = self.tuning.best
        sagemaker = LocalSageMaker(
            self.tuning,
            arn=aws.account.sagemaker,
            training_image=self.container_dir.resolve().as_uri(),
        )
        described = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=self.tuning.name
        )
        # Tune Hyperparameters' ResultSelector keeps the tuning job's name and its best training job.
        self.state["tuning"] = {
            "name": described["HyperParameterTuningJobName"],
            "best": described["BestTrainingJob"],
        }
        payload = self._parameters(workflow.RECORD_METADATA)["Payload"]
        result = aws.invoke(
            "run_metadata",
            payload,
            environment={
                "METADATA_BUCKET": aws.buckets["metadata"],
                "METADATA_PREFIX": layout.METADATA_PREFIX,
            },
            clients={"sagemaker": sagemaker},
            log_path=self.out / LOGS_DIR / "run_metadata.log",
            stage="metadata",
        )
        # The Lambda task's ResultSelector keeps the function's payload as `result`.
        self.state["metadata"] = {"result": result}
        self.summary["run_record"] = result["metadata_uri"]
        self.progress.line(f"run record {result['metadata_uri']}")
        self.progress.line(f"best model {result['model_data_url']}")
        replace_folder(best.model_dir, self.out / MODEL_DIR)
        self.progress.line(f"the best trial's model folder copied to {display(self.out / MODEL_DIR)}")

    def _gate(self) -> None:
        value = float(asl.path_value(gate.OBJECTIVE_VALUE_PATH, self.state))
        operator, threshold = (
            self.config.inference_comparison_operator,
            self.config.inference_metric_threshold,
        )
        passed = gate.gate_passes(operator, value, threshold)
        self.summary["gate_passed"] = passed
        if not passed:
            # The words of the workflow's own Fail state, evaluated from the definition.
            failure = self._parameters(workflow.EXPLAIN_GATE_FAILURE)
            raise LocalRunError("gate", f"{failure['Error']}: {failure['Cause']}")
        self.progress.line(f"{self.config.tuning_metric} {value:.4f} {operator} {threshold}: passed")

    def _register(self, aws: EmbeddedAws) -> bool:
        """Register the model in the embedded registry as the workflow does; True when it may deploy."""
        payload = self._parameters(workflow.REGISTER_MODEL)["Payload"]
        result = aws.invoke(
            "register_model",
            payload,
            environment={
                "MODEL_PACKAGE_GROUP": self._group_name(),
                "IMAGE_URI": self.definition["States"][workflow.TUNE]["Parameters"]["TrainingJobDefinition"][
                    "AlgorithmSpecification"
                ]["TrainingImage"],
                "APPROVAL_MODE": self.config.model_approval_mode,
                "METADATA_BUCKET": aws.buckets["metadata"],
                "MODEL_QUALITY_PREFIX": layout.MODEL_QUALITY_PREFIX,
                "INFERENCE_MODE": self.mode,
                "INSTANCE_TYPE": self.config.batch_transform_instance_type
                if self.config.is_batch
                else self.config.endpoint_instance_type,
            },
            clients={"sagemaker": aws.sagemaker},
            log_path=self.out / LOGS_DIR / "register_model.log",
            stage="registry",
        )
        self.state["registration"] = {"result": result}
        arn, status = result["model_package_arn"], result["status"]
        self.progress.line(f"model package {arn} (version {result['version']}): {status}")
        if result["model_quality_uri"]:
            self.progress.line(f"model quality report {result['model_quality_uri']}")
        else:
            self.progress.line(f"no model quality report: {result['model_quality_note']}")
        approved_here = status == "PendingManualApproval" and self.options.approve
        if approved_here:
            aws.sagemaker.update_model_package(
                ModelPackageArn=arn,
                ModelApprovalStatus="Approved",
                ApprovalDescription="approved with mlops local-run --approve",
            )
            status = "Approved"
            self.progress.line("approved with --approve")
        self.summary["model_package"] = {
            "arn": arn,
            "group": self._group_name(),
            "version": result["version"],
            "status": status,
            "approval_mode": self.config.model_approval_mode,
            "approved_with_flag": approved_here,
            "model_quality_uri": result["model_quality_uri"],
            "model_quality_note": result["model_quality_note"],
            "model_data_url": payload["Run"]["model_data_url"],
        }
        if status != "Approved":
            # What the training workflow's Pending Manual Approval state ends with.
            self.progress.line(f"{workflow.PENDING_APPROVAL}: {result['message']}")
            return False
        self._start_deployment(aws, arn, cause="training", score=self.state.get("score"))
        return True

    def _start_deployment(self, aws: EmbeddedAws, package_arn: str, *, cause: str, score: Any) -> None:
        """The deployment execution's state after its lookup states: the package named, described, approved."""
        package = aws.sagemaker.describe_model_package(ModelPackageName=package_arn)
        if package.get("ModelApprovalStatus") != "Approved":
            failure = self.deployment["States"][deployment.NOT_APPROVED]["Parameters"]
            raise LocalRunError(
                "registry", f"{failure['Error']}: model package {package_arn} is not Approved"
            )
        self.deployment_state = {
            "modelPackageArn": package_arn,
            "score": score,
            "cause": cause,
            "deployment": {"name": run_name(self.config.job_name)},
            # Describe Model Package keeps the whole response.
            "package": package,
        }
        self.summary["deployment"] = {
            "name": self.deployment_state["deployment"]["name"],
            "model_package_arn": package_arn,
        }

    def _inference(self, aws: EmbeddedAws) -> None:
        model = self._deployment_parameters(deployment.CREATE_MODEL)
        # CreateModel names the package; SageMaker takes the image and the artifact from its container.
        (container,) = self.deployment_state["package"]["InferenceSpecification"]["Containers"]
        model_data_url = container["ModelDataUrl"]
        root = self.out / SERVING_DIR
        root.mkdir(parents=True, exist_ok=True)
        archive = root / "model.tar.gz"
        bucket, _, key = model_data_url.removeprefix("s3://").partition("/")
        aws.s3.download_file(bucket, key, str(archive))
        unpack_model(archive, root / "model")
        self.progress.line(
            f"model {model['ModelName']}: {model_data_url} unpacked into {display(root / 'model')}"
        )
        server = ModelServer(
            program_command(self.container_dir, "serve"),
            root,
            self.out / LOGS_DIR / "serve.log",
            program_environment(),
        )
        if self.mode == "batch":
            self._batch(aws, server)
        else:
            self._endpoint(aws, server)

    def _batch(self, aws: EmbeddedAws, server: ModelServer) -> None:
        request = TransformRequest.from_parameters(self._deployment_parameters(deployment.BATCH_TRANSFORM))
        with server:
            self.progress.line(f"serve answered /ping on 127.0.0.1:{server.port}")
            result = batch_transform(server, aws.s3, request, server.root)
        self.progress.line(
            f"{result.records} records in {result.batches} mini-batch(es) of at most "
            f"{request.max_payload_bytes // (1024 * 1024)} MB, {result.concurrency} in flight; "
            f"{len(result.output_keys)} input file(s) for {request.instance_count} instance(s); "
            f"wrote {', '.join(f's3://{request.output_bucket}/{key}' for key in result.output_keys)}"
        )
        self._check_stopped(server)
        payload = self._deployment_parameters(deployment.RENAME_OUTPUT)["Payload"]
        renamed = aws.invoke(
            "rename_output",
            payload,
            environment={},
            clients={},
            log_path=self.out / LOGS_DIR / "rename_output.log",
            stage="inference",
        )
        outputs = [f"s3://{renamed['bucket']}/{key}" for key in renamed["keys"]]
        self.progress.line(f"renamed to {', '.join(outputs)}")
        rows = self._write_predictions(aws, renamed["bucket"], renamed["keys"])
        if rows != result.records:
            raise LocalRunError(
                "inference",
                f"{rows} predictions for {result.records} scoring rows; every row needs one prediction",
            )
        self.summary["inference"] = {
            "mode": "batch",
            "records": result.records,
            "mini_batches": result.batches,
            "max_payload_mb": request.max_payload_bytes // (1024 * 1024),
            "concurrent_requests": result.concurrency,
            "instances": request.instance_count,
            "input_files": len(result.output_keys),
            "outputs": outputs,
            "server_stopped": f"exit {server.exit_status} after SIGTERM in {server.stop_seconds}s",
        }
        self.summary["predictions"] = {"path": str(self.out / PREDICTIONS_FILE), "rows": rows}
        self.progress.line(f"{rows} predictions in {display(self.out / PREDICTIONS_FILE)}")

    def _endpoint(self, aws: EmbeddedAws, server: ModelServer) -> None:
        extracts = aws.buckets["extracts"]
        schema = json.loads(aws.s3.get_object(Bucket=extracts, Key=layout.SCHEMA_KEY)["Body"].read())
        body = aws.s3.get_object(Bucket=extracts, Key=f"{layout.TRAIN_CHANNEL_PREFIX}train.csv")["Body"]
        lines = body.iter_lines()
        header = next(csv.reader([next(lines).decode("utf-8")]))
        first = dict(zip(header, next(csv.reader([next(lines).decode("utf-8")])), strict=True))
        record = [first[name] for name in schema["features"]]
        with server:
            ping = time.perf_counter()
            self.progress.line(f"serve answered /ping on 127.0.0.1:{server.port}")
            probability = smoke_request(server, record)
            seconds = round(time.perf_counter() - ping, 3)
            self.progress.line(
                f"smoke request: {schema['id']} {first.get(schema['id'])} -> probability {probability:.4f}; "
                f"endpoint {self.config.endpoint_name} would be created or updated in AWS"
            )
        self._check_stopped(server)
        self.summary["inference"] = {
            "mode": "endpoint",
            "endpoint_name": self.config.endpoint_name,
            "ping": 200,
            "smoke_request": {
                "id": first.get(schema["id"]),
                "probability": probability,
                "seconds": seconds,
            },
            "server_stopped": f"exit {server.exit_status} after SIGTERM in {server.stop_seconds}s",
        }

    def _check_stopped(self, server: ModelServer) -> None:
        if not server.stopped_cleanly:
            raise LocalRunError(
                "inference",
                f"the model server did not stop cleanly on SIGTERM (exit {server.exit_status}); see {display(server.log_path)}",
            )
        self.progress.line(
            f"serve stopped on SIGTERM in {server.stop_seconds:.1f}s (exit {server.exit_status})"
        )

    # --- Outputs --------------------------------------------------------------------------------------------------

    def _write_predictions(self, aws: EmbeddedAws, bucket: str, keys: list[str]) -> int:
        """The renamed Batch Transform outputs, in key order (part order is row order), with a header, as
        `predictions.csv`; returns the row count."""
        extracts = aws.buckets["extracts"]
        schema = json.loads(aws.s3.get_object(Bucket=extracts, Key=layout.SCHEMA_KEY)["Body"].read())
        id_column = schema.get("id") or "id"
        target = self.out / PREDICTIONS_FILE
        rows = 0
        with atomic(target) as partial, partial.open("w", encoding="utf-8", newline="") as sink:
            sink.write(f"{id_column},probability\n")
            for key in sorted(keys):
                for line in aws.s3.get_object(Bucket=bucket, Key=key)["Body"].iter_lines():
                    if line.strip():
                        sink.write(line.decode("utf-8") + "\n")
                        rows += 1
        return rows

    def _summarise_trials(self) -> None:
        assert self.tuning is not None
        self.summary["tuning_job"] = self.tuning.name
        self.summary["trials"] = [
            {
                "number": t.number,
                "name": t.name,
                "status": t.status,
                "hyperparameters": t.tuned,
                "objective": t.objective,
                "metrics": t.metrics,
                "seconds": t.seconds,
                "failure": t.failure,
                "hosts": t.hosts,
                "model_data_url": t.model_data_url,
                "folder": str(t.folder),
            }
            for t in self.tuning.trials
        ]
        best = self.tuning.best
        if best is not None:
            self.summary["best"] = {
                "trial": best.number,
                "training_job": best.name,
                "hyperparameters": best.tuned,
                "objective_metric": self.tuning.objective_metric,
                "value": best.objective,
                "metrics": best.metrics,
                "model_data_url": best.model_data_url,
                "model": str(self.out / MODEL_DIR),
            }
            self.summary["model_quality"] = model_quality.read(best.model_dir)

    def _prepare_output_folder(self) -> None:
        """Clear what an earlier run provably wrote, or refuse the folder before anything in it changes."""
        inputs = [
            path for path in (*self.inputs, self._local_path("train"), self._local_path("score")) if path
        ]
        try:
            cleared = plan_clearing(self.out, inputs)
        except OutputFolderError as error:
            raise LocalRunError("data", str(error)) from None
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            clear(self.out, cleared)
            write_marker(self.out, complete=False)
            (self.out / LOGS_DIR).mkdir()
        except OSError as error:
            raise LocalRunError(
                "data", f"cannot write to {self.options.out_dir}: {error.strerror or error}"
            ) from None
        names = [name for name in OWNED if name in {entry.split("/")[0] for entry in cleared}]
        if names:
            self.progress.note(f"cleared the previous run's {', '.join(names)} in {display(self.out)}")

    def _local_path(self, kind: str) -> Path | None:
        value = self.config.train_local_path if kind == "train" else self.config.score_local_path
        return Path(value) if value else None

    def _write_outputs(self, started: float) -> None:
        """The embedded S3's objects, summary.json and report.html, whatever state the run ended in."""
        with self.progress.stage(
            "outputs", f"summary, report and the embedded S3's objects in {display(self.out)}"
        ):
            if self.aws is not None and self.aws.active and self.aws.s3 is not None:
                count = self.aws.dump(self.out / S3_DIR)
                self.progress.line(f"{count} object(s) of the embedded S3 in {display(self.out / S3_DIR)}")
        self.summary["timings"] = {**self.progress.timings, "total": round(time.perf_counter() - started, 3)}
        self.summary["outputs"] = output_paths(self.out)
        write_text(self.out / REPORT_FILE, report.render(self.summary))
        write_text(self.out / SUMMARY_FILE, json.dumps(self.summary, indent=2, default=str) + "\n")
        write_marker(self.out, complete=True)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM interrupts the run as Ctrl-C does (by default it would end the process at
    once, leaving the trials' and the server's processes running and no summary). Only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise RunInterrupted(signal.Signals(signum).name)

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGTERM,)}
    previous[signal.SIGINT] = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _ignore_signals() -> None:
    """Ignore SIGINT and SIGTERM until `_sigterm_interrupts` restores the handlers (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _trigger_outcome(result: dict[str, Any]) -> str:
    if result["started"]:
        return f"trigger: started execution {result['started'][0]['execution_name']}"
    if result["duplicates"]:
        return f"trigger: execution {result['duplicates'][0]['execution_name']} already exists"
    reasons = "; ".join(item["reason"] for item in result["ignored"]) or "no reason given"
    return f"trigger: no run yet ({reasons})"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """Send INFO and above from every logger to `path` for the block (the ETL logs as Glue would)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


__all__ = ["STAGES", "LocalRun", "LocalRunOptions", "local_config", "run_local", "unsupported"]
