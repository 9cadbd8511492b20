"""Hyperparameter tuning on this machine: the tuning job the workflow would create, run with Optuna.

The input is the workflow's own CreateHyperParameterTuningJob request (the Tune state's parameters, resolved),
so the strategy, objective, limits, ranges, static hyperparameters, metric definitions, channels, output path
and stopping condition are the ones SageMaker would get:

- Strategy `Bayesian` is Optuna's TPE sampler, `Random` its random sampler, both seeded.
- Ranges keep their scaling: `Logarithmic` samples on a log scale; `ReverseLogarithmic` samples `1 - x` on a
  log scale (SageMaker's definition, for values just below 1); `Auto` and `Linear` sample linearly.
- `MaxNumberOfTrainingJobs` trials run, `MaxParallelTrainingJobs` at a time but never more than the CPUs.
- Each trial is a training job: the container's `train` program in its own `/opt/ml` tree (channels, the
  all-string `hyperparameters.json` with SageMaker's `_tuning_objective_metric`), stopped after
  `MaxRuntimeInSeconds`. With `ResourceConfig.InstanceCount` above 1 a trial is that many cooperating `train`
  processes (at most one per CPU), each in its own tree with a `resourceconfig.json` naming all of them
  (`algo-1` is the trial's folder, the others are under its `hosts/`), training one model over loopback as
  the instances would; `algo-1` writes the model and prints the metrics. A `ShardedByS3Key` channel's
  objects are dealt to the processes (`shard`), a `FullyReplicated` one's are all in every tree, and each
  tree's `inputdataconfig.json` says which, as SageMaker writes it. Its metrics are read from its output with the request's MetricDefinitions regexes,
  the last match of each counting, as SageMaker's final metrics do. A completed trial's model folder is
  tarred to `<S3OutputPath><training job>/output/model.tar.gz` in the models store.

A failed trial fails the local run (see `TuningResult.check`): locally a failure is almost always a bug in the
container, the data or the ranges that every SageMaker training job would hit as well, so after the first
failure no new trial starts, the running ones finish, and the run stops with the failure file's reason.

`LocalSageMaker` answers DescribeHyperParameterTuningJob and DescribeTrainingJob from the result, in the API's
shapes, so the run-metadata function records the local tuning exactly as it records a real one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from mlops_component.config import ParameterRanges
from mlops_component.tools.local_run.errors import LocalRunError

TrialStatus = Literal["Completed", "Failed", "Stopped"]
# SageMaker keeps the first 1024 characters of the failure file as the job's FailureReason.
FAILURE_REASON_CHARS = 1024
# Lines of a trial's log quoted when it failed without writing a failure file.
_LOG_TAIL_LINES = 15


# --- The search space --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSpace:
    """Optuna distributions for a tuning job's `ParameterRanges`, and the way back to SageMaker's strings."""

    distributions: dict[str, BaseDistribution]
    reversed_log: frozenset[str] = frozenset()
    """Continuous ranges sampled as `1 - x` on a log scale (ReverseLogarithmic)."""

    @classmethod
    def from_ranges(cls, ranges: ParameterRanges) -> SearchSpace:
        """The search space of validated ranges (the config model checks bounds and scalings)."""
        distributions: dict[str, BaseDistribution] = {}
        reversed_log: set[str] = set()
        for continuous in ranges.continuous_parameter_ranges:
            low, high = float(continuous.min_value), float(continuous.max_value)
            if continuous.scaling_type == "ReverseLogarithmic":
                # 0 <= low <= high < 1, so 1 - x lies in (0, 1]: a valid log-scale range.
                distributions[continuous.name] = FloatDistribution(1 - high, 1 - low, log=True)
                reversed_log.add(continuous.name)
            else:
                log = continuous.scaling_type == "Logarithmic"
                distributions[continuous.name] = FloatDistribution(low, high, log=log)
        for integer in ranges.integer_parameter_ranges:
            distributions[integer.name] = IntDistribution(
                int(float(integer.min_value)),
                int(float(integer.max_value)),
                log=integer.scaling_type == "Logarithmic",
            )
        for categorical in ranges.categorical_parameter_ranges:
            distributions[categorical.name] = CategoricalDistribution(list(categorical.values))
        return cls(distributions=distributions, reversed_log=frozenset(reversed_log))

    def hyperparameters(self, params: Mapping[str, Any]) -> dict[str, str]:
        """A trial's sampled values as SageMaker passes tuned hyperparameters: strings."""
        values: dict[str, str] = {}
        for name, value in params.items():
            if name in self.reversed_log:
                value = 1 - value
            values[name] = repr(float(value)) if isinstance(value, float) else str(value)
        return dict(sorted(values.items()))


def sampler(strategy: str, seed: int) -> optuna.samplers.BaseSampler:
    """The Optuna sampler for SageMaker's tuning strategy."""
    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(seed=seed)
    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise LocalRunError("tuning", f"tuning strategy {strategy!r} cannot run locally (Bayesian or Random)")


# --- One training job ---------------------------------------------------------------------------------------------


@dataclass
class Trial:
    """One training job of the tuning job, and how it went."""

    number: int
    """1-based, in the order the trials started."""
    name: str
    """The training job name, `<tuning job>-<3 digits>-<8 hex>` as SageMaker names them."""
    folder: Path
    """Its `/opt/ml` tree; `train.log` holds its output."""
    tuned: dict[str, str]
    hyperparameters: dict[str, str]
    """Everything the program received, static and tuned (without SageMaker's `_tuning_objective_metric`)."""
    status: TrialStatus = "Failed"
    metrics: dict[str, float] = field(default_factory=dict)
    objective: float | None = None
    failure: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    seconds: float = 0.0
    model_data_url: str | None = None
    hosts: int = 1
    """How many cooperating `train` processes ran it (the request's InstanceCount, capped by the CPUs)."""

    @property
    def log_path(self) -> Path:
        """Everything the training program printed (stdout and stderr)."""
        return self.folder / "train.log"

    @property
    def model_dir(self) -> Path:
        """The model folder the training program wrote."""
        return self.folder / "model"

    @property
    def failure_path(self) -> Path:
        """The failure file the training program writes when it fails."""
        return self.folder / "output" / "failure"


@dataclass(frozen=True)
class TrainingJob:
    """What every training job of the tuning job shares: the request's TrainingJobDefinition, made local."""

    command: list[str]
    channels: dict[str, Path]
    """Each channel's files, downloaded once and linked into every trial's tree."""
    static_hyperparameters: dict[str, str]
    objective_metric: str
    metric_definitions: list[dict[str, str]]
    max_runtime_seconds: int
    output_bucket: str
    output_prefix: str
    environment: dict[str, str]
    hosts: int = 1
    """Processes per trial: the request's InstanceCount, capped by the CPUs."""
    requested_hosts: int = 1
    input_data_config: dict[str, dict[str, str]] = field(default_factory=dict)
    """`/opt/ml/input/config/inputdataconfig.json`: each channel's content type, input mode and distribution."""
    _running: set[subprocess.Popen[bytes]] = field(default_factory=set, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _stopped: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @classmethod
    def from_request(
        cls,
        request: Mapping[str, Any],
        *,
        s3: Any,
        command: list[str],
        channels_dir: Path,
        environment: dict[str, str],
        cpus: int | None = None,
    ) -> TrainingJob:
        """The training job of a CreateHyperParameterTuningJob request, with its channels downloaded."""
        definition = request["TrainingJobDefinition"]
        channels = {
            channel["ChannelName"]: download_channel(
                s3, channel["DataSource"]["S3DataSource"]["S3Uri"], channels_dir / channel["ChannelName"]
            )
            for channel in definition["InputDataConfig"]
        }
        bucket, _, prefix = (
            definition["OutputDataConfig"]["S3OutputPath"].removeprefix("s3://").partition("/")
        )
        objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        requested = int(definition.get("ResourceConfig", {}).get("InstanceCount", 1))
        mode = definition["AlgorithmSpecification"].get("TrainingInputMode", "File")
        return cls(
            command=command,
            channels=channels,
            static_hyperparameters=dict(definition.get("StaticHyperParameters", {})),
            objective_metric=objective["MetricName"],
            metric_definitions=list(definition["AlgorithmSpecification"].get("MetricDefinitions", [])),
            max_runtime_seconds=int(definition["StoppingCondition"]["MaxRuntimeInSeconds"]),
            output_bucket=bucket,
            output_prefix=prefix,
            environment=environment,
            hosts=max(1, min(requested, cpus or os.cpu_count() or 1)),
            requested_hosts=requested,
            input_data_config={
                channel["ChannelName"]: channel_config(channel, mode)
                for channel in definition["InputDataConfig"]
            },
        )

    def describe_hosts(self) -> str:
        """How many processes run each trial, and why, for the run's output."""
        if self.requested_hosts == 1:
            return "1 process per trial"
        capped = f", capped at {self.hosts} by the CPUs" if self.hosts < self.requested_hosts else ""
        sharded = [
            f"{name} ShardedByS3Key: {sum(1 for _ in _channel_files(self.channels[name]))} objects dealt to them"
            for name, config in sorted(self.input_data_config.items())
            if config["S3DistributionType"] == SHARDED and name in self.channels
        ]
        return (
            f"{self.hosts} cooperating processes per trial (InstanceCount {self.requested_hosts}{capped}; "
            "distributed XGBoost over loopback" + "".join(f"; {line}" for line in sharded) + ")"
        )

    def run(self, trial: Trial, s3: Any) -> Trial:
        """Run one trial to the end; never raises for the trial's own failures, which land in `trial`."""
        started = time.perf_counter()
        trial.started_at = datetime.now(UTC)
        trial.hosts = self.hosts
        try:
            self._prepare(trial)
            status = self._execute(trial)
            if status == 0:
                self._collect(trial, s3)
            elif status is None:
                trial.status, trial.failure = (
                    "Stopped",
                    f"stopped after MaxRuntimeInSeconds ({self.max_runtime_seconds}s)",
                )
            else:
                trial.failure = _failure_reason(trial, status)
        except OSError as error:
            trial.failure = f"could not run the training job locally: {error}"
        trial.ended_at = datetime.now(UTC)
        trial.seconds = round(time.perf_counter() - started, 3)
        return trial

    def _prepare(self, trial: Trial) -> None:
        """Each host's `/opt/ml` tree: its channels' files (linked), and the config files SageMaker writes."""
        if trial.folder.exists():
            shutil.rmtree(trial.folder)
        names, folders = host_names(self.hosts), host_folders(trial, self.hosts)
        # SageMaker adds the objective's name to every tuned job's hyperparameters; the program ignores it.
        hyperparameters = {**trial.hyperparameters, "_tuning_objective_metric": self.objective_metric}
        for rank, (name, folder) in enumerate(zip(names, folders, strict=True)):
            for channel, source in self.channels.items():
                self._link_channel(channel, source, folder / "input" / "data" / channel, rank)
            config = folder / "input" / "config"
            config.mkdir(parents=True, exist_ok=True)
            (config / "hyperparameters.json").write_text(_json(hyperparameters), encoding="utf-8")
            (config / "inputdataconfig.json").write_text(_json(self.input_data_config), encoding="utf-8")
            if self.hosts > 1:
                resources = {"current_host": name, "hosts": names}
                (config / "resourceconfig.json").write_text(_json(resources), encoding="utf-8")
            (folder / "output").mkdir()
        (trial.folder / "model").mkdir()  # only the first host writes the model

    def _link_channel(self, channel: str, source: Path, target: Path, rank: int) -> None:
        """A channel's files in one host's tree: its shard if the channel is ShardedByS3Key, else all."""
        files = _channel_files(source)
        config = self.input_data_config.get(channel, {})
        if config.get("S3DistributionType") == SHARDED:
            files = shard(files, rank, self.hosts)
        target.mkdir(parents=True, exist_ok=True)  # SageMaker creates a shard's folder even when it is empty
        for relative in files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(source / relative, target / relative)

    def _execute(self, trial: Trial) -> int | None:
        """The program's exit status (host 1's, or the first failing host's), or None if it ran out of time
        and was killed."""
        # Every host resolves to this machine; each trial's group gets a port of its own.
        cluster = {"MLOPS_HOST_ADDRESS": "127.0.0.1", "MLOPS_TRACKER_PORT": str(_free_port())}
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for folder in host_folders(trial, self.hosts):
                env = {
                    **self.environment,
                    "MLOPS_ML_ROOT": str(folder),
                    **(cluster if self.hosts > 1 else {}),
                }
                with (folder / "train.log").open("wb") as log:
                    processes.append(
                        subprocess.Popen(
                            self.command,
                            cwd=folder,
                            env=env,
                            stdin=subprocess.DEVNULL,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
                with self._lock:
                    self._running.add(processes[-1])
                    stopped = self._stopped.is_set()
                if stopped:  # the run was interrupted while this trial was starting
                    _kill_group(processes[-1])
            return _wait_all(processes, time.monotonic() + self.max_runtime_seconds)
        finally:
            for process in processes:
                if process.poll() is None:  # out of time, interrupted, or another host failed
                    _kill_group(process)
                with self._lock:
                    self._running.discard(process)

    def stop_all(self) -> None:
        """Kill every running trial with its process group (the run is being interrupted)."""
        with self._lock:
            self._stopped.set()
            running = list(self._running)
        for process in running:
            _kill_group(process)

    def _collect(self, trial: Trial, s3: Any) -> None:
        output = trial.log_path.read_text(encoding="utf-8", errors="replace")
        trial.metrics = parse_metrics(output, self.metric_definitions)
        trial.objective = trial.metrics.get(self.objective_metric)
        if trial.objective is None:
            regex = next(
                (d["Regex"] for d in self.metric_definitions if d["Name"] == self.objective_metric), None
            )
            trial.failure = (
                f"the training program exited 0 but printed no final {self.objective_metric} (MetricDefinitions "
                f"regex {regex!r}); SageMaker would record no objective for it"
            )
            return
        if not any(trial.model_dir.iterdir()):
            trial.failure = "the training program exited 0 but wrote nothing to its model folder"
            return
        archive = trial.folder / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for item in sorted(trial.model_dir.iterdir()):
                tar.add(item, arcname=item.name)
        key = f"{self.output_prefix}{trial.name}/output/model.tar.gz"
        s3.upload_file(str(archive), self.output_bucket, key)
        trial.model_data_url = f"s3://{self.output_bucket}/{key}"
        trial.status = "Completed"


def download_channel(s3: Any, uri: str, folder: Path) -> Path:
    """A channel's objects under `folder`, as SageMaker's File mode copies an S3Prefix data source."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                continue  # a folder placeholder
            target = folder / (item["Key"][len(prefix) :].lstrip("/") or Path(item["Key"]).name)
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            count += 1
    if count == 0:
        raise LocalRunError(
            "tuning",
            f"channel {folder.name}: no objects under {uri}; SageMaker fails training jobs on it too",
        )
    return folder


def parse_metrics(output: str, definitions: list[dict[str, str]]) -> dict[str, float]:
    """Each defined metric's last value in the program's output, as SageMaker reads final metrics."""
    metrics: dict[str, float] = {}
    for definition in definitions:
        matches = re.findall(definition["Regex"], output)
        for match in reversed(matches):
            text = match if isinstance(match, str) else match[0]
            try:
                value = float(text)
            except ValueError:
                continue  # e.g. "1.2.3": SageMaker drops values it cannot parse
            if math.isfinite(value):
                metrics[definition["Name"]] = value
                break
    return metrics


def _failure_reason(trial: Trial, status: int) -> str:
    if trial.failure_path.is_file():
        reason = trial.failure_path.read_text(encoding="utf-8", errors="replace").strip()
        return reason[:FAILURE_REASON_CHARS] or f"exit status {status} with an empty failure file"
    lines = trial.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    tail = "\n".join(lines[-_LOG_TAIL_LINES:])
    return f"exit status {status} and no failure file; the last lines of its output:\n{tail}"


def _wait_all(processes: list[subprocess.Popen[bytes]], deadline: float) -> int | None:
    """The first non-zero exit status as soon as one host fails (SageMaker then stops the others), else 0;
    None at the deadline."""
    if len(processes) == 1:
        try:
            return processes[0].wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None
    while time.monotonic() < deadline:
        statuses = [process.poll() for process in processes]
        failed = [status for status in statuses if status]
        if failed or None not in statuses:
            return failed[0] if failed else 0
        time.sleep(0.05)
    return None


SHARDED = "ShardedByS3Key"


def channel_config(channel: Mapping[str, Any], mode: str) -> dict[str, str]:
    """One channel's entry in `inputdataconfig.json`, from its InputDataConfig entry in the request."""
    source = channel["DataSource"]["S3DataSource"]
    return {
        **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
        "TrainingInputMode": channel.get("InputMode", mode),
        "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
        "RecordWrapperType": channel.get("RecordWrapperType", "None"),
    }


def shard(keys: list[str], rank: int, hosts: int) -> list[str]:
    """The objects of a ShardedByS3Key channel that host `rank` (0-based) of `hosts` gets.

    AWS documents only that each of n instances gets about 1/n of the objects (and none when there are fewer
    objects than instances), not which ones; here they are dealt round-robin in key order, so with one
    object per instance (what the ETL writes) each host gets exactly one, as on SageMaker.
    """
    return keys[rank::hosts]


def _channel_files(source: Path) -> list[str]:
    """A downloaded channel's files as their keys below the channel's prefix, in S3's (UTF-8 byte) order."""
    return sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())


def host_names(count: int) -> list[str]:
    """SageMaker's names for a training job's instances."""
    return [f"algo-{number}" for number in range(1, count + 1)]


def host_folders(trial: Trial, count: int) -> list[Path]:
    """Each host's `/opt/ml` tree: host 1's is the trial's folder, the others are under its `hosts/`."""
    return [trial.folder] + [trial.folder / "hosts" / name for name in host_names(count)[1:]]


def _free_port() -> int:
    """A TCP port free on loopback now (the tracker binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a trial's process group (it runs in a session of its own), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # the trials only read their channels; one copy on disk is enough
    except OSError:
        shutil.copyfile(source, target)


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# --- The tuning job -----------------------------------------------------------------------------------------------


@dataclass
class TuningResult:
    """Every trial of one tuning job, and the best completed one."""

    name: str
    request: dict[str, Any]
    trials: list[Trial]
    objective_metric: str
    objective_type: str
    created_at: datetime
    ended_at: datetime
    planned: int
    """MaxNumberOfTrainingJobs: how many trials the tuning job would have run."""

    @property
    def completed(self) -> list[Trial]:
        """The trials that finished with an objective value and a model."""
        return [t for t in self.trials if t.status == "Completed"]

    @property
    def failed(self) -> list[Trial]:
        """The trials that failed or were stopped."""
        return [t for t in self.trials if t.status != "Completed"]

    @property
    def best(self) -> Trial | None:
        """The completed trial with the best objective (the first of equals), as SageMaker picks it."""
        pick = max if self.objective_type == "Maximize" else min
        completed = self.completed
        return pick(completed, key=_objective) if completed else None

    def check(self, where: Callable[[Path], str]) -> None:
        """Fail the run if any trial failed: a local run exists to surface exactly these problems.

        `where` renders a path for the message (relative to the output folder).
        """
        if not self.failed:
            return
        skipped = self.planned - len(self.trials)
        lines = [
            f"{len(self.failed)} of {len(self.trials)} trial(s) failed"
            + (f" ({skipped} more not started after the first failure)" if skipped else "")
            + "; a failed trial fails the local run:"
        ]
        for trial in self.failed:
            lines.append(f"  trial {trial.number} ({trial.name}): {trial.failure}")
            lines.append(f"    output: {where(trial.log_path)}")
            if trial.failure_path.is_file():
                lines.append(f"    failure file: {where(trial.failure_path)}")
        raise LocalRunError("tuning", "\n".join(lines))


ProgressLine = Callable[[str], None]


def tune(
    request: Mapping[str, Any],
    *,
    job: TrainingJob,
    s3: Any,
    trials_dir: Path,
    seed: int,
    cpus: int,
    say: ProgressLine,
) -> TuningResult:
    """Run the tuning job `request` (a CreateHyperParameterTuningJob request) with the training job `job`."""
    config = request["HyperParameterTuningJobConfig"]
    limits = config["ResourceLimits"]
    total = int(limits["MaxNumberOfTrainingJobs"])
    # A trial of several hosts takes a CPU per host.
    parallel = max(1, min(int(limits["MaxParallelTrainingJobs"]), cpus // job.hosts, total))
    objective = config["HyperParameterTuningJobObjective"]
    space = SearchSpace.from_ranges(ParameterRanges.model_validate(config["ParameterRanges"]))
    direction: Literal["maximize", "minimize"] = "maximize" if objective["Type"] == "Maximize" else "minimize"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, sampler=sampler(config["Strategy"], seed))
    name = str(request["HyperParameterTuningJobName"])
    created_at = datetime.now(UTC)
    say(
        f"tuning job {name}: {total} trial(s), {parallel} at a time, {config['Strategy']} "
        f"(Optuna {type(study.sampler).__name__}, seed {seed}), {objective['Type'].lower()} "
        f"{objective['MetricName']}; {job.describe_hosts()}"
    )

    tuner = _Tuner(study, space, job, s3, name=name, total=total, trials_dir=trials_dir, say=say)
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="trial") as pool:
        try:
            while True:
                # After a failure no new trial starts: the next would most likely fail the same way.
                while len(tuner.running) < parallel and len(tuner.trials) < total and not tuner.any_failed:
                    tuner.launch(pool)
                if not tuner.running:
                    break
                done, _ = wait(tuner.running, return_when=FIRST_COMPLETED)
                for future in done:
                    tuner.finish(future)
        except BaseException:  # Ctrl-C, or a failure of the run itself: no trial may outlive it
            job.stop_all()
            raise
    return TuningResult(
        name=name,
        request=dict(request),
        trials=tuner.trials,
        objective_metric=str(objective["MetricName"]),
        objective_type=str(objective["Type"]),
        created_at=created_at,
        ended_at=datetime.now(UTC),
        planned=total,
    )


class _Tuner:
    """The trials of one tuning job: Optuna asks for each one's values and is told each one's outcome."""

    def __init__(
        self,
        study: optuna.Study,
        space: SearchSpace,
        job: TrainingJob,
        s3: Any,
        *,
        name: str,
        total: int,
        trials_dir: Path,
        say: ProgressLine,
    ) -> None:
        self.study, self.space, self.job, self.s3 = study, space, job, s3
        self.name, self.total, self.trials_dir, self.say = name, total, trials_dir, say
        self.trials: list[Trial] = []
        self.running: dict[Future[Trial], optuna.trial.Trial] = {}
        self.best: float | None = None

    @property
    def any_failed(self) -> bool:
        """Whether a trial has ended without a result."""
        return any(t.ended_at is not None and t.status != "Completed" for t in self.trials)

    def launch(self, pool: ThreadPoolExecutor) -> None:
        """Ask Optuna for the next trial's values and start it."""
        asked = self.study.ask(self.space.distributions)
        tuned = self.space.hyperparameters(asked.params)
        number = len(self.trials) + 1
        # SageMaker names a tuning job's training jobs `<tuning job>-<3 digits>-<8 hex>`.
        job_name = f"{self.name}-{number:03d}-{secrets.token_hex(4)}"
        trial = Trial(
            number=number,
            name=job_name,
            folder=self.trials_dir / job_name,
            tuned=tuned,
            hyperparameters={**self.job.static_hyperparameters, **tuned},
        )
        self.trials.append(trial)
        self.say(f"trial {number}/{self.total} started: {_describe(tuned)}")
        self.running[pool.submit(self.job.run, trial, self.s3)] = asked

    def finish(self, future: Future[Trial]) -> None:
        """Tell Optuna how a finished trial went, and say it."""
        asked = self.running.pop(future)
        trial = future.result()
        where = f"trial {trial.number}/{self.total}"
        if trial.status != "Completed" or trial.objective is None:
            self.study.tell(asked, state=optuna.trial.TrialState.FAIL)
            first_line = (trial.failure or "").splitlines()[0] if trial.failure else ""
            self.say(f"{where} {trial.status.upper()} in {trial.seconds:.1f}s: {first_line}")
            return
        self.study.tell(asked, trial.objective)
        maximize = self.study.direction == optuna.study.StudyDirection.MAXIMIZE
        improved = self.best is None or (
            trial.objective > self.best if maximize else trial.objective < self.best
        )
        if improved:
            self.best = trial.objective
        metric = self.job.objective_metric
        self.say(
            f"{where} {metric}={trial.objective:.4f}{' (best so far)' if improved else ''} in {trial.seconds:.1f}s"
        )


def _objective(trial: Trial) -> float:
    assert trial.objective is not None, "completed trials always have an objective value"
    return trial.objective


def _describe(values: Mapping[str, str]) -> str:
    def short(text: str) -> str:
        try:
            number = float(text)
        except ValueError:
            return text
        return text if number.is_integer() and "." not in text else f"{number:.4g}"

    return " ".join(f"{k}={short(v)}" for k, v in values.items())


# --- SageMaker's Describe responses -------------------------------------------------------------------------------


class LocalSageMaker:
    """DescribeHyperParameterTuningJob and DescribeTrainingJob for a local tuning job, in the API's shapes.

    The run-metadata function calls exactly these two operations; given this object as its SageMaker client, it
    records a local run as it records one in AWS.
    """

    def __init__(self, result: TuningResult, *, arn: Callable[[str, str], str], training_image: str) -> None:
        self._result = result
        self._arn = arn
        self._image = training_image

    def describe_hyper_parameter_tuning_job(self, *, HyperParameterTuningJobName: str) -> dict[str, Any]:
        """The tuning job, with its best training job (None when no trial completed)."""
        result = self._result
        if HyperParameterTuningJobName != result.name:
            raise LocalRunError("metadata", f"no local tuning job named {HyperParameterTuningJobName}")
        request = result.request
        response: dict[str, Any] = {
            "HyperParameterTuningJobName": result.name,
            "HyperParameterTuningJobArn": self._arn("hyper-parameter-tuning-job", result.name),
            "HyperParameterTuningJobConfig": request["HyperParameterTuningJobConfig"],
            "TrainingJobDefinition": request["TrainingJobDefinition"],
            "HyperParameterTuningJobStatus": "Completed" if result.completed else "Failed",
            "CreationTime": result.created_at,
            "HyperParameterTuningEndTime": result.ended_at,
            "LastModifiedTime": result.ended_at,
            "TrainingJobStatusCounters": {
                "Completed": len(result.completed),
                "InProgress": 0,
                "RetryableError": 0,
                "NonRetryableError": sum(t.status == "Failed" for t in result.trials),
                "Stopped": sum(t.status == "Stopped" for t in result.trials),
            },
            "ObjectiveStatusCounters": {
                "Succeeded": len(result.completed),
                "Pending": 0,
                "Failed": len(result.failed),
            },
        }
        best = result.best
        if best is not None:
            response["BestTrainingJob"] = {
                "TrainingJobName": best.name,
                "TrainingJobArn": self._arn("training-job", best.name),
                "CreationTime": best.started_at,
                "TrainingStartTime": best.started_at,
                "TrainingEndTime": best.ended_at,
                "TrainingJobStatus": best.status,
                "TunedHyperParameters": dict(best.tuned),
                "FinalHyperParameterTuningJobObjectiveMetric": {
                    "Type": result.objective_type,
                    "MetricName": result.objective_metric,
                    "Value": best.objective,
                },
                "ObjectiveStatus": "Succeeded",
            }
        return response

    def describe_training_job(self, *, TrainingJobName: str) -> dict[str, Any]:
        """One trial as a training job: its hyperparameters, final metrics and model artifact."""
        trial = next((t for t in self._result.trials if t.name == TrainingJobName), None)
        if trial is None:
            raise LocalRunError("metadata", f"no local training job named {TrainingJobName}")
        definition = self._result.request["TrainingJobDefinition"]
        metrics = [
            {"MetricName": name, "Value": value, "Timestamp": trial.ended_at}
            for name, value in sorted(trial.metrics.items())
        ]
        if trial.objective is not None:
            metrics.append(
                {"MetricName": "ObjectiveMetric", "Value": trial.objective, "Timestamp": trial.ended_at}
            )
        response: dict[str, Any] = {
            "TrainingJobName": trial.name,
            "TrainingJobArn": self._arn("training-job", trial.name),
            "TuningJobArn": self._arn("hyper-parameter-tuning-job", self._result.name),
            "TrainingJobStatus": trial.status,
            "HyperParameters": {
                **trial.hyperparameters,
                "_tuning_objective_metric": self._result.objective_metric,
            },
            "AlgorithmSpecification": {**definition["AlgorithmSpecification"], "TrainingImage": self._image},
            "RoleArn": definition.get("RoleArn"),
            "InputDataConfig": definition.get("InputDataConfig", []),
            "OutputDataConfig": definition.get("OutputDataConfig", {}),
            "ResourceConfig": definition.get("ResourceConfig", {}),
            "StoppingCondition": definition.get("StoppingCondition", {}),
            "CreationTime": trial.started_at,
            "TrainingStartTime": trial.started_at,
            "TrainingEndTime": trial.ended_at,
            "FinalMetricDataList": metrics,
            "TrainingTimeInSeconds": math.ceil(trial.seconds),
        }
        if trial.model_data_url:
            response["ModelArtifacts"] = {"S3ModelArtifacts": trial.model_data_url}
        if trial.failure:
            response["FailureReason"] = trial.failure[:FAILURE_REASON_CHARS]
        return response
