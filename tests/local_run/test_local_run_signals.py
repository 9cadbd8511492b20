"""A real `mlops local-run` process stopped by a real signal: it ends "interrupted", writes its summary, and
leaves no process behind.

Trials and the model server run in sessions of their own, so a process group cannot find them once the run is
gone; every process of the run inherits a unique environment variable instead, which /proc shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.local_run.conftest import SMALL, write_stack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the run's processes in /proc"),
]

TAG = "MLOPS_SIGNAL_TEST_TAG"


def tagged_processes(tag: str) -> list[int]:
    """The live processes whose environment holds TAG=tag."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{TAG}={tag}".encode() in environment.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


class LocalRunProcess:
    """`mlops local-run` as a process of its own, its output collected line by line."""

    def __init__(self, tmp_path: Path, stack: dict[str, object]) -> None:
        self.tag = uuid.uuid4().hex
        self.out = tmp_path / "out"
        self.lines: list[str] = []
        command = [
            sys.executable,
            "-c",
            "import sys; from mlops_component.tools.cli import main; sys.exit(main())",
            "local-run",
            "--out",
            str(self.out),
            "--rows",
            "400",
            "--stack-file",
            str(write_stack(tmp_path, stack)),
        ]
        env = {**os.environ, TAG: self.tag, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            assert self.process.poll() is None, f"the run ended before {text!r}:\n{''.join(self.lines)}"
            time.sleep(0.01)
        raise AssertionError(f"no {text!r} within {timeout_s}s:\n{''.join(self.lines)}")

    def finish(self, timeout_s: float = 60) -> tuple[int, str]:
        try:
            status = self.process.wait(timeout=timeout_s)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
        self._reader.join(timeout=5)
        assert self.process.stderr is not None
        return status, self.process.stderr.read()

    def kill_leftovers(self) -> list[int]:
        """Kill (and return) whatever process of the run is still alive."""
        left = tagged_processes(self.tag)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return left


def stop(run: LocalRunProcess, signal_number: int) -> tuple[int, str, list[int]]:
    """Send the signal; return the exit status, stderr, and the run's processes still alive a moment later."""
    run.process.send_signal(signal_number)
    status, stderr = run.finish()
    # A train process may take a moment to be reaped after the run exits; none may be left after that.
    deadline = time.monotonic() + 5
    while tagged_processes(run.tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    return status, stderr, tagged_processes(run.tag)


def assert_interrupted(run: LocalRunProcess, status: int, stderr: str, left: list[int], why: str) -> None:
    assert left == [], f"processes of the run outlived it: {left}"
    assert status == 130, (status, stderr)
    assert "Traceback" not in stderr + "".join(run.lines), stderr
    assert "mlops local-run interrupted" in stderr
    summary = json.loads((run.out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["error"] == f"interrupted ({why})"
    assert (run.out / "report.html").is_file()


# Trials long enough to be running when the signal comes.
SLOW_TRIALS = {
    **SMALL,
    "mlops:maxNumberTrainingJobs": 2,
    "mlops:maxParallelTrainingJobs": 2,
    "mlops:staticHyperparameters": {"kfold_splits": "5", "num_round": "3000"},
}


def test_sigterm_during_tuning_stops_the_trials_and_writes_the_summary(tmp_path: Path) -> None:
    run = LocalRunProcess(tmp_path, SLOW_TRIALS)
    try:
        run.wait_for("trial 2/2 started")
        deadline = time.monotonic() + 30
        while len(tagged_processes(run.tag)) < 3 and time.monotonic() < deadline:  # the run and two trials
            time.sleep(0.05)
        assert len(tagged_processes(run.tag)) >= 3
        status, stderr, left = stop(run, signal.SIGTERM)
    finally:
        run.kill_leftovers()
    assert_interrupted(run, status, stderr, left, "SIGTERM")
    summary = json.loads((run.out / "summary.json").read_text())
    assert "tuning" in summary["timings"] and "inference" not in summary["timings"]


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.25, 0.4, 0.6])
def test_ctrl_c_during_the_embedded_aws_stage_ends_without_a_traceback(tmp_path: Path, delay: float) -> None:
    # The stage takes under a second; the delays land in the moto start, the stores' creation (a half-created
    # set of stores once made the final dump fail with NoSuchBucket) and the state machine's.
    run = LocalRunProcess(tmp_path, SMALL)
    try:
        run.wait_for("[2/10] aws")
        time.sleep(delay)
        status, stderr, left = stop(run, signal.SIGINT)
    finally:
        run.kill_leftovers()
    assert_interrupted(run, status, stderr, left, "Ctrl-C")
