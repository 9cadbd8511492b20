"""The model server's settings, from the environment variables SageMaker (or the user) sets on the model.

- `MODEL_SERVER_WORKERS`: gunicorn worker processes (default: one per CPU). SageMaker's convention.
- `MODEL_SERVER_TIMEOUT`: seconds a request may take before its worker is restarted (default 60).
  SageMaker's convention.
- `MODEL_SERVER_MAX_PAYLOAD_MB`: largest request body in MiB (default 6, SageMaker's default `MaxPayloadInMB`
  and the real-time invocation limit); larger bodies get 413. Raise it together with a transform job's
  `MaxPayloadInMB`.
- `MODEL_SERVER_USER`: when `serve` starts as root, the unprivileged user it switches to first (the image sets
  `model-server`; unset means no switch).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from xgb_model.jobs import JobError

DEFAULT_TIMEOUT_S = 60
DEFAULT_MAX_PAYLOAD_MB = 6
# SageMaker Batch Transform never sends more than 100 MB in one request.
LARGEST_PAYLOAD_MB = 100


class SettingsError(JobError):
    """An environment variable holds an unusable value."""


@dataclass(frozen=True)
class ServingSettings:
    """How many workers, how long a request may take, how large it may be, and who serves."""

    workers: int
    timeout_s: int
    max_payload_mb: int
    cpu_count: int
    user: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServingSettings:
        """Read the settings; a bad value raises `SettingsError` naming the variable."""
        env = os.environ if environ is None else environ
        cpus = os.cpu_count() or 1
        return cls(
            workers=_integer(env, "MODEL_SERVER_WORKERS", cpus, 1, 256),
            timeout_s=_integer(env, "MODEL_SERVER_TIMEOUT", DEFAULT_TIMEOUT_S, 1, 3600),
            max_payload_mb=_integer(
                env, "MODEL_SERVER_MAX_PAYLOAD_MB", DEFAULT_MAX_PAYLOAD_MB, 1, LARGEST_PAYLOAD_MB
            ),
            cpu_count=cpus,
            user=env.get("MODEL_SERVER_USER") or None,
        )

    @property
    def threads_per_worker(self) -> int:
        """XGBoost threads per worker, so that all workers together use each CPU once."""
        return max(1, self.cpu_count // self.workers)

    @property
    def max_payload_bytes(self) -> int:
        """The request size limit in bytes."""
        return self.max_payload_mb * 1024 * 1024


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is outside {low}..{high}")
    return value
