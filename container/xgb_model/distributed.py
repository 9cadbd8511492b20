"""Training one model across the hosts of a multi-instance training job, with XGBoost's own collective.

SageMaker starts the same `train` program on every instance and writes `/opt/ml/input/config/
resourceconfig.json` (`hosts`, `current_host`) on each. As in SageMaker's own XGBoost container, the first
host listed runs XGBoost's tracker on port 9099, every host (the first included) joins as a worker, and each
host's rank is its position in `hosts`, so rank 0 is the first host. Inside the group, XGBoost builds the
quantile sketch and every tree from all hosts' rows (histograms are summed with allreduce), so all hosts hold
the same model; only rank 0 writes it and prints the metrics.

Which rows a host trains on depends on the channel's `S3DistributionType` in `inputdataconfig.json`:
`ShardedByS3Key` gives each host its own files, which it uses whole; `FullyReplicated` (or no config) gives
every host every file, and each host keeps the rows whose position is its rank modulo the host count, so no
row is used twice. Metrics are computed on every host from all hosts' labels and predictions, gathered
exactly (see `Group.gather`), never from one host's share.

A host that fails before the group trains (bad data, a missing channel) tells the others through `agreed`,
so every host stops with that host's message. A host that dies while training breaks the group's sockets:
the others fail at once with `ClusterError`, and the collective timeout bounds a host that hangs.

Settings for runs outside SageMaker (tests, `mlops local-run`), all optional:
- `MLOPS_HOST_ADDRESS`: the address every host name resolves to (e.g. 127.0.0.1 for processes on one
  machine); unset, names are resolved by DNS, retried while the cluster's names come up.
- `MLOPS_TRACKER_PORT`: the tracker's port (default 9099), so that several groups can share one machine.
- `MLOPS_COLLECTIVE_TIMEOUT_S`: seconds one collective operation may wait for the other hosts (default 300);
  the group must form within `BOOTSTRAP_TIMEOUT_S` or this, whichever is larger.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any, NoReturn, TypeVar

import numpy as np

from xgb_model.data import LabeledData
from xgb_model.jobs import JobError
from xgb_model.paths import MlPaths
from xgb_model.xgboost_runtime import xgboost as xgb

HOST_ADDRESS_ENV = "MLOPS_HOST_ADDRESS"
TRACKER_PORT_ENV = "MLOPS_TRACKER_PORT"
TIMEOUT_ENV = "MLOPS_COLLECTIVE_TIMEOUT_S"
DEFAULT_TRACKER_PORT = 9099  # SageMaker's XGBoost container's; training instances are single-tenant
DEFAULT_TIMEOUT_S = 300
# Hosts download their channels before starting `train`, but reading and checking a large channel still
# takes a while; the group waits this long for every host to join.
BOOTSTRAP_TIMEOUT_S = 900
# SageMaker documents that a cluster's host names may take a moment to resolve after the containers start.
DNS_WAIT_S = 300
SHARDED = "ShardedByS3Key"

T = TypeVar("T")


class ClusterError(JobError):
    """The hosts could not form a group, or lost one of them."""


@dataclass(frozen=True)
class Cluster:
    """The hosts of one training job, as this host sees them."""

    hosts: tuple[str, ...]
    current_host: str
    tracker_address: str
    port: int
    timeout_s: int

    @property
    def rank(self) -> int:
        """This host's position in `hosts`: rank 0 runs the tracker and writes the model."""
        return self.hosts.index(self.current_host)

    @property
    def size(self) -> int:
        """How many hosts train together."""
        return len(self.hosts)


def load_cluster(paths: MlPaths, environ: Mapping[str, str] | None = None) -> Cluster | None:
    """The cluster of `resourceconfig.json`, or None for a single host (no file, or one host in it)."""
    env = os.environ if environ is None else environ
    if not paths.resource_config.is_file():
        return None
    try:
        document = json.loads(paths.resource_config.read_text(encoding="utf-8"))
        hosts = tuple(document["hosts"])
        current = document["current_host"]
    except (ValueError, KeyError, TypeError) as error:
        raise ClusterError(f"{paths.resource_config} is not a resource config: {error}") from None
    if not hosts or not all(isinstance(h, str) and h for h in hosts) or len(set(hosts)) != len(hosts):
        raise ClusterError(f"{paths.resource_config}: `hosts` must be distinct host names, not {list(hosts)}")
    if current not in hosts:
        raise ClusterError(f"{paths.resource_config}: current_host {current!r} is not in hosts {list(hosts)}")
    if len(hosts) == 1:
        return None
    return Cluster(
        hosts=hosts,
        current_host=current,
        tracker_address=resolve(hosts[0], env),
        port=_setting(env, TRACKER_PORT_ENV, DEFAULT_TRACKER_PORT, 1, 65535),
        timeout_s=_setting(env, TIMEOUT_ENV, DEFAULT_TIMEOUT_S, 1, 86400),
    )


def resolve(host: str, environ: Mapping[str, str], wait_s: float = DNS_WAIT_S) -> str:
    """The IP address of `host`: `MLOPS_HOST_ADDRESS` if set, else DNS, retried for up to `wait_s`."""
    if environ.get(HOST_ADDRESS_ENV):
        return environ[HOST_ADDRESS_ENV]
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError as error:
            if time.monotonic() >= deadline:
                raise ClusterError(f"host {host!r} did not resolve within {wait_s:.0f}s: {error}") from None
            time.sleep(1)


def _setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ClusterError(f"{name}={raw!r} is not a whole number in {low}..{high}")
    return int(raw)


class Group:
    """The hosts training together. A single host is a group of one whose operations do nothing."""

    def __init__(self, cluster: Cluster | None = None, paths: MlPaths | None = None) -> None:
        self.cluster = cluster
        self.paths = paths

    @property
    def rank(self) -> int:
        """This host's rank (0 on a single host)."""
        return 0 if self.cluster is None else self.cluster.rank

    @property
    def size(self) -> int:
        """The number of hosts."""
        return 1 if self.cluster is None else self.cluster.size

    @property
    def writes_model(self) -> bool:
        """Only the first host writes the model and prints the metrics."""
        return self.rank == 0

    def describe(self) -> str:
        """One log line on who this host is."""
        if self.cluster is None:
            return "single host"
        return f"host {self.cluster.current_host}, rank {self.rank} of {self.size} ({', '.join(self.cluster.hosts)})"

    def agreed(self, step: Callable[[], T]) -> T:
        """Run `step` on every host; if it fails on any, every host raises the first failing host's error."""
        try:
            result, problem = step(), None
        except JobError as error:
            if self.cluster is None:
                raise
            result, problem = None, str(error)
        if self.cluster is not None:
            flags = np.zeros(self.size, dtype=np.int32)
            flags[self.rank] = problem is not None
            failed = np.flatnonzero(xgb.collective.allreduce(flags, xgb.collective.Op.SUM))
            if failed.size:
                first = int(failed[0])
                message = xgb.collective.broadcast(problem if first == self.rank else None, first)
                raise JobError(f"host {self.cluster.hosts[first]}: {message}")
        return result  # type: ignore[return-value]  # None only when a problem was raised above

    def share(self, data: LabeledData, channel: str) -> LabeledData:
        """This host's rows of a channel: all of its files when sharded, else every `size`-th row."""
        if self.cluster is None or self.distribution(channel) == SHARDED:
            return data
        rows = slice(self.rank, None, self.size)
        return replace(
            data,
            features=np.ascontiguousarray(data.features[rows]),
            labels=np.ascontiguousarray(data.labels[rows]),
        )

    def distribution(self, channel: str) -> str:
        """The channel's S3DistributionType from `inputdataconfig.json` (FullyReplicated without one)."""
        path = self.paths.input_data_config if self.paths else None
        if path is None or not path.is_file():
            return "FullyReplicated"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
            return str(config.get(channel, {}).get("S3DistributionType", "FullyReplicated"))
        except (ValueError, AttributeError) as error:
            raise ClusterError(f"{path} is not an input data config: {error}") from None

    def total(self, values: list[int]) -> list[int]:
        """Each value summed over all hosts."""
        if self.cluster is None:
            return values
        summed = xgb.collective.allreduce(np.asarray(values, dtype=np.int64), xgb.collective.Op.SUM)
        return [int(v) for v in summed]

    def gather(self, values: np.ndarray) -> np.ndarray:
        """Every host's `values` (1-D), concatenated in rank order, on every host.

        An exact all-gather made of allreduce: each host writes its values into its own slice of a zero
        array and the arrays are summed, so each slice is one host's values plus zeros (float64 holds
        float32 probabilities and 0/1 labels exactly).
        """
        if self.cluster is None:
            return values
        counts = np.zeros(self.size, dtype=np.int64)
        counts[self.rank] = values.shape[0]
        counts = xgb.collective.allreduce(counts, xgb.collective.Op.SUM)
        start = int(counts[: self.rank].sum())
        combined = np.zeros(int(counts.sum()), dtype=np.float64)
        combined[start : start + values.shape[0]] = values
        return xgb.collective.allreduce(combined, xgb.collective.Op.SUM)

    def same_everywhere(self, what: str, value: Any) -> None:
        """Fail (on every host, through `agreed`) unless `value` equals the first host's."""
        if self.cluster is None:
            return
        first = xgb.collective.broadcast(value if self.rank == 0 else None, 0)

        def check() -> None:
            if value != first:
                raise JobError(f"its {what} differ from host {self.cluster.hosts[0]}'s")  # type: ignore[union-attr]

        self.agreed(check)


@contextmanager
def joined(paths: MlPaths, log: Callable[[str], None]) -> Iterator[Group]:
    """The group of this training job, formed for the duration of the block (a no-op on one host)."""
    cluster = load_cluster(paths)
    if cluster is None:
        yield Group(None, paths)
        return
    tracker = _start_tracker(cluster) if cluster.rank == 0 else None
    args = {
        "dmlc_communicator": "rabit",
        "dmlc_tracker_uri": cluster.tracker_address,
        "dmlc_tracker_port": cluster.port,
        "dmlc_task_id": f"{cluster.rank:06d}",  # with sortby="task", ranks follow the order of `hosts`
        "dmlc_timeout": cluster.timeout_s,
        "dmlc_retry": connect_attempts(_bootstrap_s(cluster)),
    }
    group = Group(cluster, paths)
    log(f"distributed training: {group.describe()}; tracker {cluster.hosts[0]}:{cluster.port}")
    try:
        _init(cluster, args)
    except xgb.core.XGBoostError as error:
        _free(tracker)
        raise ClusterError(
            f"the {cluster.size} hosts did not form a training group within {_bootstrap_s(cluster)}s "
            f"({group.describe()}): {_reason(error)}"
        ) from None
    try:
        yield group
        xgb.collective.finalize()
        if tracker is not None:
            tracker.wait_for(cluster.timeout_s)
    except xgb.core.XGBoostError as error:
        _leave(tracker)
        raise ClusterError(
            f"lost contact with another host while training ({group.describe()}); the job stops on every "
            f"host: {_reason(error)}"
        ) from None
    except BaseException:
        _leave(tracker)
        raise


def _bootstrap_s(cluster: Cluster) -> int:
    return max(BOOTSTRAP_TIMEOUT_S, cluster.timeout_s)


def connect_attempts(seconds: int) -> int:
    """XGBoost's `dmlc_retry` for connections that must keep trying for about `seconds`: a worker may start
    long before the first host's tracker listens. XGBoost backs off linearly (measured with xgboost 3.2: 3
    attempts gave up after 10 s, 10 after 93 s, about n * (n - 1) seconds), so n = sqrt(seconds) + 2."""
    return math.isqrt(seconds) + 2


def _start_tracker(cluster: Cluster) -> Any:
    try:
        tracker = xgb.tracker.RabitTracker(
            n_workers=cluster.size,
            host_ip=cluster.tracker_address,
            port=cluster.port,
            sortby="task",
            timeout=_bootstrap_s(cluster),
        )
        tracker.start()
    except (xgb.core.XGBoostError, ValueError) as error:
        raise ClusterError(
            f"could not start the tracker on {cluster.tracker_address}:{cluster.port}: {_reason(error)}"
        ) from None
    return tracker


def _init(cluster: Cluster, args: dict[str, Any]) -> None:
    xgb.collective.init(**args)
    if xgb.collective.get_rank() != cluster.rank:
        raise ClusterError(f"the tracker gave rank {xgb.collective.get_rank()}, expected {cluster.rank}")


def _leave(tracker: Any) -> None:
    """Leave a failed group without `finalize`: it reconnects to the tracker, which may be gone, and would keep
    retrying for the whole bootstrap time. The communicator is left open, and an interpreter exiting normally
    with it open crashes in XGBoost's destructors, so the program must end with `exit_now` (see `must_exit`)."""
    _FAILED.append(True)
    _free(tracker)


_FAILED: list[bool] = []


def must_exit() -> bool:
    """Whether this process left a group without finalizing it, and must end with `os._exit`."""
    return bool(_FAILED)


def exit_now(status: int) -> NoReturn:
    """End the process with `status` after flushing its output, skipping the interpreter's teardown."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _free(tracker: Any) -> None:
    """Stop a failed group's tracker now, not in a destructor that reports its error as 'ignored'."""
    if tracker is not None:
        with suppress(xgb.core.XGBoostError):
            tracker.free()


def _reason(error: Exception) -> str:
    """XGBoost's errors start with a source location and end with a stack trace; keep the messages."""
    messages = [line.split("]: ", 1)[1].strip() for line in str(error).splitlines() if line.startswith("- [")]
    return "; ".join(m for m in messages if m) or str(error).splitlines()[0]
