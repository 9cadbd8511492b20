"""Where SageMaker puts inputs and expects outputs inside the container, under one overridable root.

SageMaker always uses `/opt/ml`. `MLOPS_ML_ROOT` moves the whole tree, so that the programs run as plain
processes in tests and in `mlops local-run`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ML_ROOT_ENV = "MLOPS_ML_ROOT"
DEFAULT_ML_ROOT = "/opt/ml"


@dataclass(frozen=True)
class MlPaths:
    """The `/opt/ml` tree of one job or endpoint."""

    root: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MlPaths:
        """The tree under `$MLOPS_ML_ROOT`, or `/opt/ml` when it is unset."""
        env = os.environ if environ is None else environ
        return cls(Path(env.get(ML_ROOT_ENV) or DEFAULT_ML_ROOT))

    @property
    def hyperparameters(self) -> Path:
        """The training job's hyperparameters: a JSON object of strings."""
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def resource_config(self) -> Path:
        """The training job's hosts (`hosts`, `current_host`); see `distributed`."""
        return self.root / "input" / "config" / "resourceconfig.json"

    @property
    def input_data_config(self) -> Path:
        """Each channel's settings, among them its `S3DistributionType`."""
        return self.root / "input" / "config" / "inputdataconfig.json"

    def channel(self, name: str) -> Path:
        """The folder SageMaker downloads one input channel into."""
        return self.root / "input" / "data" / name

    @property
    def model_dir(self) -> Path:
        """Training writes the model here; SageMaker tars it, and untars it here again for serving."""
        return self.root / "model"

    @property
    def failure_file(self) -> Path:
        """A training job's failure reason (its first 1024 characters become `FailureReason`)."""
        return self.root / "output" / "failure"

    @property
    def processing_message_file(self) -> Path:
        """A processing job's exit message (its first 1 KB becomes `ExitMessage`)."""
        return self.root / "output" / "message"

    def processing(self, *parts: str) -> Path:
        """A folder under `processing/`, where SageMaker Processing mounts inputs and collects outputs."""
        return self.root.joinpath("processing", *parts)
