"""Progress lines on stdout while a local run works: one per stage started and finished, one per trial.

Trials run on several threads at once, so every line is written whole under a lock.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Numbered stage headers (`[3/8] etl ...`), indented detail lines, and the time each stage took."""

    def __init__(self, stages: list[str], stream: TextIO | None = None) -> None:
        self._stages = stages
        self._stream = stream
        self._lock = threading.Lock()
        self.timings: dict[str, float] = {}
        """Seconds each finished (or failed) stage took, in the order they ran."""

    def line(self, text: str) -> None:
        """One detail line under the current stage."""
        self._write(f"      {text}")

    def note(self, text: str) -> None:
        """A line outside any stage (the run's header and its last words)."""
        self._write(text)

    @contextmanager
    def stage(self, name: str, what: str) -> Iterator[None]:
        """Announce stage `name`, time it, and say how long it took (also when it fails)."""
        number = self._stages.index(name) + 1
        self._write(f"[{number}/{len(self._stages)}] {name:<9} {what}")
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.timings[name] = round(time.perf_counter() - started, 3)
            self.line(f"{name} FAILED after {self.timings[name]:.1f}s")
            raise
        self.timings[name] = round(time.perf_counter() - started, 3)
        self.line(f"{name} done in {self.timings[name]:.1f}s")

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout  # looked up per line, so redirected output (tests) sees it
        with self._lock:
            stream.write(text + "\n")
            stream.flush()
