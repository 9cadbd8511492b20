"""Shared fixtures: a project folder holding every file a config points at, and configs built in it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from mlops_component.config import MlOpsConfig

# Hypothesis judges examples by what they return, never by time: a per-example deadline only fails tests when
# the shared machine is busy.
settings.register_profile("mlops", deadline=None)
settings.load_profile("mlops")

# The seed module's example configuration (employee attrition).
SEED_EXAMPLE: dict[str, Any] = {
    "job_name": "employee-attrition",
    "name_prefix": "mlops-test",
    "resource_tags": {"project": "employee-attrition", "owner": "platform"},
    "tuning_metric": "accuracy",
    "inference_metric_threshold": 0.7,
    "static_hyperparameters": {"kfold_splits": "5"},
}

# What a stack on SageMaker's built-in XGBoost must set instead of the bring-your-own image's metric and
# hyperparameters: one of the algorithm's own tuning metrics (computed on the validation channel) and num_round.
BUILT_IN_XGBOOST: dict[str, Any] = {
    "built_in_model_image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    "tuning_metric": "validation:auc",
    "use_validation_channel": True,
    "static_hyperparameters": {"num_round": "100", "objective": "binary:logistic"},
}


def write_project(folder: Path) -> Path:
    """Fill `folder` with the files the default config uploads or builds."""
    for relative, text in {
        "data/train.csv": "EmployeeNumber,Attrition\n1,Yes\n",
        "data/score.csv": "EmployeeNumber\n2\n",
        "etl/transform.py": "print('transform')\n",
        "container/Dockerfile": "FROM scratch\n",
    }.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account, whatever the machine's environment holds."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A Pulumi program folder with the files the default config uploads or builds."""
    return write_project(tmp_path)


@pytest.fixture(scope="session")
def shared_project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same folder for tests that must not use function-scoped fixtures (hypothesis)."""
    return write_project(tmp_path_factory.mktemp("project"))


@pytest.fixture
def make_config(project_dir: Path) -> Callable[..., MlOpsConfig]:
    """Build a config from the seed example plus overrides, with paths relative to `project_dir`."""

    def make(**overrides: Any) -> MlOpsConfig:
        return MlOpsConfig.model_validate({**SEED_EXAMPLE, **overrides}, context={"base_dir": project_dir})

    return make
