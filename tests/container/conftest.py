"""Fixtures for the container's tests: its package importable without Docker, generated data, `/opt/ml` trees.

`container/` goes on `sys.path` here, so the tests import `xgb_model` exactly as the image does. The
programs themselves (`train`, `serve`, `batch-predict`) run as plain processes with `MLOPS_ML_ROOT` pointing
at a temporary tree.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

CONTAINER_DIR = Path(__file__).resolve().parents[2] / "container"
sys.path.insert(0, str(CONTAINER_DIR))

# Spinning OpenMP threads stall for seconds on a shared, busy machine such as a CI runner; waiting passively
# costs nothing at these sizes. It has to be set before xgboost loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from xgb_model.model import Model  # noqa: E402
from xgb_model.paths import ML_ROOT_ENV, MlPaths  # noqa: E402
from xgb_model.training import train  # noqa: E402

from tests.container.synthetic import make_frame, write_train_csv  # noqa: E402

TRAIN_ROWS = 1470  # the size of the example dataset


def make_ml_tree(root: Path, frame: pd.DataFrame, hyperparameters: dict[str, str] | None = None) -> MlPaths:
    """An `/opt/ml` tree with a train channel holding `frame` and the given hyperparameters."""
    paths = MlPaths(root)
    write_train_csv(frame, paths.channel("train") / "train.csv")
    paths.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    paths.hyperparameters.write_text(json.dumps(hyperparameters or {}))
    return paths


def process_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment a container program runs with in tests."""
    return {**os.environ, ML_ROOT_ENV: str(root), **extra}


@pytest.fixture(scope="session")
def train_frame() -> pd.DataFrame:
    """The labelled rows every trained model in these tests learns from."""
    return make_frame(TRAIN_ROWS, seed=0)


@pytest.fixture(scope="session")
def holdout_frame() -> pd.DataFrame:
    """Rows from the same distribution that no model saw."""
    return make_frame(2000, seed=1)


@pytest.fixture
def ml_tree(tmp_path: Path, train_frame: pd.DataFrame) -> Callable[..., MlPaths]:
    """Make an `/opt/ml` tree under tmp_path: `ml_tree(frame=None, hyperparameters=None)`."""

    def make(frame: pd.DataFrame | None = None, hyperparameters: dict[str, str] | None = None) -> MlPaths:
        return make_ml_tree(tmp_path / "ml", train_frame if frame is None else frame, hyperparameters)

    return make


@pytest.fixture(scope="session")
def trained_root(tmp_path_factory: pytest.TempPathFactory, train_frame: pd.DataFrame) -> MlPaths:
    """An `/opt/ml` tree whose model folder holds a model trained once, with default hyperparameters."""
    paths = make_ml_tree(tmp_path_factory.mktemp("trained") / "ml", train_frame, {"kfold_splits": "5"})
    train(paths, log=lambda _: None, nthread=1)
    return paths


@pytest.fixture(scope="session")
def model(trained_root: MlPaths) -> Model:
    """The trained model, loaded as the server loads it."""
    return Model.load(trained_root.model_dir, nthread=1)
