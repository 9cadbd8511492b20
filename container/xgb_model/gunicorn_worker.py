"""The serving workers' class: gunicorn's threaded (`gthread`) worker that starts its graceful stop at once.

gunicorn's gthread worker notices SIGTERM only when its event loop next wakes up, which it does at least once a
second, so every graceful stop (an endpoint's instance being replaced, the end of a batch transform, a local
run) waited up to a second for nothing. This worker also writes a byte to a pipe its loop listens on when SIGTERM
arrives, so the loop wakes at once; the stop itself is gunicorn's: no new connections, the requests in flight
are finished (up to the graceful timeout), then the worker exits.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from typing import Any

from gunicorn.workers.gthread import ThreadWorker


class PromptThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """`gthread`, woken by its SIGTERM handler."""

    _wake_read = -1
    _wake_write = -1

    def run(self) -> None:
        self.listen_for_wakeups()
        try:
            super().run()
        finally:
            os.close(self._wake_read)
            os.close(self._wake_write)

    def listen_for_wakeups(self) -> None:
        """Add the wake-up pipe to the loop's poller (created by `init_process`, which then calls `run`)."""
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.poller.register(self._wake_read, selectors.EVENT_READ, self._woken)

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)  # alive = False: the loop ends after this wake-up
        if self._wake_write >= 0:
            # OSError: the pipe is full (already woken) or closed (already stopping).
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"\0")

    def _woken(self, _: object) -> None:
        with contextlib.suppress(OSError):
            os.read(self._wake_read, 64)
