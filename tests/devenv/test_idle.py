"""The idle auto-stop's decision (lib/idle.py): the pure rule, and the program against a Jupyter API."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops_component.builders.notebook_bundle import idle
from tests.devenv.conftest import FakeJupyter

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
IDLE_PY = Path(idle.__file__)


def ago(minutes: float) -> str:
    """A Jupyter timestamp `minutes` before NOW, in Jupyter's own format."""
    return (NOW - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def session(state: str, last_minutes_ago: float, path: str = "notebooks/01-land-data.ipynb") -> dict:
    return {"path": path, "kernel": {"execution_state": state, "last_activity": ago(last_minutes_ago)}}


def decide(
    sessions: list, terminals: list, started_minutes_ago: float = 600, limit: int = 60
) -> idle.Decision:
    return idle.decide(
        sessions, terminals, started=NOW - timedelta(minutes=started_minutes_ago), now=NOW, idle_minutes=limit
    )


def test_idle_kernels_quiet_for_longer_than_the_limit_stop_the_notebook() -> None:
    decision = decide([session("idle", 90), session("idle", 61)], [])
    assert decision.idle
    assert "idle for 61 min (limit 60)" in decision.reason


def test_a_busy_kernel_keeps_the_notebook_running_however_old_its_activity() -> None:
    decision = decide([session("idle", 500), session("busy", 500, path="train.ipynb")], [])
    assert not decision.idle
    assert decision.reason == "kernel of train.ipynb is busy"


@pytest.mark.parametrize("state", ["starting", "restarting", "autorestarting", "unknown"])
def test_any_state_but_idle_or_dead_counts_as_working(state: str) -> None:
    assert not decide([session(state, 500)], []).idle


def test_recent_kernel_activity_keeps_it_running() -> None:
    decision = decide([session("idle", 90), session("idle", 10)], [])
    assert not decision.idle
    assert "active 10 min ago" in decision.reason


def test_terminal_activity_counts_so_a_git_push_in_the_terminal_is_not_cut_off() -> None:
    assert not decide([session("idle", 90)], [{"name": "1", "last_activity": ago(5)}]).idle
    assert decide([session("idle", 90)], [{"name": "1", "last_activity": ago(75)}]).idle


def test_without_kernels_or_terminals_the_server_start_is_the_last_activity() -> None:
    assert not decide([], [], started_minutes_ago=30).idle
    assert decide([], [], started_minutes_ago=60).idle  # the limit itself counts as idle


def test_a_dead_kernel_does_not_keep_the_notebook_running() -> None:
    assert decide([session("dead", 120)], []).idle


def test_older_jupyter_answers_without_activity_fields_fall_back_to_the_start_time() -> None:
    sessions = [{"kernel": {"execution_state": "idle"}}]
    assert decide(sessions, [{"name": "1"}], started_minutes_ago=61).idle
    assert not decide(sessions, [{"name": "1"}], started_minutes_ago=59).idle


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        decide([], [], limit=0)


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00.000000Z",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.123z",
        "2024-05-01T12:00:00+00:00",
    ],
)
def test_jupyter_timestamps_parse_to_aware_utc(text: str) -> None:
    parsed = idle.parse_time(text)
    assert parsed.tzinfo is not None
    assert abs((parsed - NOW).total_seconds()) < 1


def serve(jupyter: FakeJupyter, *, started: float, sessions: list, terminals: list) -> None:
    jupyter.answers["/api/status"] = {
        "started": ago(started),
        "last_activity": ago(0),
        "kernels": len(sessions),
    }
    jupyter.answers["/api/sessions"] = sessions
    jupyter.answers["/api/terminals"] = terminals


def test_main_reads_the_jupyter_api_and_exits_0_when_idle(jupyter: FakeJupyter, capsys) -> None:
    serve(jupyter, started=600, sessions=[session("idle", 120)], terminals=[])
    assert idle.main(["--idle-minutes", "60", "--url", jupyter.url], now=NOW) == idle.EXIT_IDLE
    assert "idle for 120 min" in capsys.readouterr().out


def test_main_exits_1_while_in_use(jupyter: FakeJupyter, capsys) -> None:
    serve(jupyter, started=600, sessions=[session("busy", 1)], terminals=[])
    assert idle.main(["--idle-minutes", "60", "--url", jupyter.url], now=NOW) == idle.EXIT_ACTIVE
    assert "is busy" in capsys.readouterr().out


def test_main_never_stops_on_a_guess(jupyter: FakeJupyter, capsys) -> None:
    jupyter.answers["/api/status"] = "<html>Jupyter is restarting</html>"
    assert idle.main(["--idle-minutes", "60", "--url", jupyter.url], now=NOW) == idle.EXIT_UNKNOWN
    assert "cannot tell" in capsys.readouterr().out
    # Nothing listening at all.
    assert idle.main(["--idle-minutes", "60", "--url", "http://127.0.0.1:9"], now=NOW) == idle.EXIT_UNKNOWN


def runnable(python: str) -> str | None:
    """An interpreter by name, from PATH or pyenv's versions, that actually starts (pyenv shims may not)."""
    candidates = [
        shutil.which(python),
        *map(str, sorted(Path.home().glob(f".pyenv/versions/*/bin/{python}"))),
    ]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("python", ["python3.7", "python3"])
def test_it_runs_on_the_notebooks_system_python(python: str, jupyter: FakeJupyter) -> None:
    """Amazon Linux 2's /usr/bin/python3 is 3.7 and has only the standard library."""
    interpreter = runnable(python)
    if interpreter is None:
        pytest.skip(f"{python} is not installed here")
    serve(jupyter, started=600, sessions=[session("idle", 1)], terminals=[])  # active: activity is "now"-ish
    result = subprocess.run(
        [interpreter, "-I", str(IDLE_PY), "--idle-minutes", "60", "--url", jupyter.url],
        capture_output=True,
        text=True,
        check=False,
    )
    # The real clock is later than NOW, so the fake activity is long past: the program must say idle.
    assert result.returncode == idle.EXIT_IDLE, result.stdout + result.stderr
    assert result.stdout.startswith("idle for ")
