"""The idle auto-stop's decision: has this notebook's Jupyter server been idle for N minutes?

`bin/autostop.sh` runs this file every few minutes with the notebook's system Python (3.7 on Amazon Linux 2),
so it uses the standard library only. It asks the local Jupyter server for its kernels (`/api/sessions`),
terminals (`/api/terminals`) and start time (`/api/status`), prints why it decided, and exits 0 when the
notebook should stop, 1 when it is in use, and 2 when it cannot tell (an unknown state never stops anything).

The decision itself, `decide`, is a pure function of that data and the clock.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

# SageMaker notebook instances serve Jupyter here, with a self-signed certificate.
DEFAULT_JUPYTER_URL = "https://localhost:8443"
EXIT_IDLE, EXIT_ACTIVE, EXIT_UNKNOWN = 0, 1, 2
# Kernel states that mean nothing is running. A dead kernel cannot be busy either.
_RESTING_STATES = frozenset({"idle", "dead"})


class Decision(NamedTuple):
    """Whether to stop, and the reason, for the log."""

    idle: bool
    reason: str


def parse_time(text: str) -> datetime:
    """A Jupyter timestamp (`2024-05-01T12:00:00.123456Z`) as an aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)  # noqa: UP017 (runs on 3.7)


def decide(
    sessions: Sequence[dict[str, Any]],
    terminals: Sequence[dict[str, Any]],
    *,
    started: datetime,
    now: datetime,
    idle_minutes: int,
) -> Decision:
    """Idle when no kernel is executing and nothing (kernel or terminal) has been active for `idle_minutes`.

    Open browser tabs do not count as activity: a tab left open overnight is exactly what this is for. With
    no kernels and no terminals, the server's start time is the last activity, so a notebook nobody opens
    after starting still stops.
    """
    if idle_minutes <= 0:
        raise ValueError("idle_minutes must be positive")
    last = started
    for session in sessions:
        kernel = session.get("kernel") or {}
        state = kernel.get("execution_state", "unknown")
        name = session.get("path") or session.get("name") or kernel.get("id", "?")
        if state not in _RESTING_STATES:
            return Decision(False, f"kernel of {name} is {state}")
        if kernel.get("last_activity"):
            last = max(last, parse_time(kernel["last_activity"]))
    for terminal in terminals:
        if terminal.get("last_activity"):
            last = max(last, parse_time(terminal["last_activity"]))
    quiet = now - last
    limit = timedelta(minutes=idle_minutes)
    summary = f"{len(sessions)} kernel(s), {len(terminals)} terminal(s), last activity {last.isoformat()}"
    if quiet >= limit:
        return Decision(True, f"idle for {_minutes(quiet)} min (limit {idle_minutes}): {summary}")
    return Decision(False, f"active {_minutes(quiet)} min ago (limit {idle_minutes}): {summary}")


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def fetch(base_url: str, path: str, timeout: float = 10.0) -> Any:
    """GET a Jupyter API path and decode its JSON. Certificates are not checked: the server is this machine's."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(
        f"{base_url.rstrip('/')}{path}", timeout=timeout, context=context
    ) as response:
        return json.load(response)


def main(argv: Sequence[str] | None = None, now: datetime | None = None) -> int:
    """Print the decision and exit 0 (idle), 1 (active) or 2 (could not tell)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--idle-minutes", type=int, required=True, help="minutes without activity before stopping"
    )
    parser.add_argument("--url", default=DEFAULT_JUPYTER_URL, help="the Jupyter server")
    args = parser.parse_args(argv)
    if args.idle_minutes <= 0:
        parser.error("--idle-minutes must be positive")
    try:
        status = fetch(args.url, "/api/status")
        sessions = fetch(args.url, "/api/sessions")
        terminals = fetch(args.url, "/api/terminals")
        decision = decide(
            sessions,
            terminals,
            started=parse_time(status["started"]),
            now=now or datetime.now(timezone.utc),  # noqa: UP017 (runs on 3.7)
            idle_minutes=args.idle_minutes,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        # Jupyter restarting, or an answer in an unexpected shape: never stop on a guess.
        print(f"cannot tell whether the notebook is idle: {type(error).__name__}: {error}")
        return EXIT_UNKNOWN
    print(decision.reason)
    return EXIT_IDLE if decision.idle else EXIT_ACTIVE


if __name__ == "__main__":
    sys.exit(main())
