"""The one error a local run stops with: which stage failed, why, and what to look at."""

from __future__ import annotations


class LocalRunError(Exception):
    """A stage of `mlops local-run` failed for a reason the user can act on (bad input, a failed trial, the gate).

    The message alone explains it; `mlops local-run` prints it without a traceback and exits non-zero.
    """

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.kept: list[str] = []
        """What the run left in its output folder, one line each (empty when it wrote nothing)."""


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so the run stops its processes and writes its summary, as for Ctrl-C."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
