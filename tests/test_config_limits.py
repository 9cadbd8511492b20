"""MlOpsConfig's limits at their edges: the last value AWS accepts is accepted, the first it refuses is named.

Each limit is the one the service documents (SageMaker, Glue, S3, CloudWatch Logs, ECR, EventBridge
Scheduler); an off-by-one either way fails a deployment that should work or lets through one that fails late.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlops_component.config.base import TUNING_MAX_RUNTIME_SECONDS

BYO_WAVE = 3600 + 900  # one wave of training jobs: the runtime limit plus SageMaker's start-up allowance

# (field, last accepted value, first refused value, other settings needed)
EDGES: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("job_name", "a" * 18, "a" * 19, {}),
    ("name_prefix", "a" * 24, "a" * 25, {}),
    ("max_parallel_training_jobs", 4, 5, {"max_number_training_jobs": 4}),
    ("max_parallel_training_jobs", 1, 0, {}),
    ("max_number_training_jobs", 1, 0, {}),
    # Instance counts: at least one, and at most what an API integer holds.
    ("training_job_instance_count", 1, 0, {}),
    ("training_job_instance_count", 2**31 - 1, 2**31, {}),
    ("endpoint_instance_count", 1, 0, {}),
    ("endpoint_instance_count", 2**31 - 1, 2**31, {}),
    ("batch_transform_instance_count", 1, 0, {}),
    ("batch_transform_instance_count", 2**31 - 1, 2**31, {}),
    ("training_job_storage_in_gb", 16384, 16385, {}),
    ("training_job_storage_in_gb", 1, 0, {}),
    ("glue_number_of_workers", 2, 1, {}),
    ("glue_number_of_workers", 1000, 1001, {}),
    ("glue_job_timeout_minutes", 1, 0, {}),
    ("glue_job_timeout_minutes", 2880, 2881, {}),
    ("glue_job_max_retries", 0, -1, {}),
    ("glue_job_max_retries", 10, 11, {}),
    ("training_job_max_runtime_seconds", 60, 59, {}),
    ("training_job_max_runtime_seconds", 28 * 24 * 3600, 28 * 24 * 3600 + 1, {"max_number_training_jobs": 1}),
    # Waves of training jobs that fill SageMaker's longest tuning job exactly, then one second more each.
    ("training_job_max_runtime_seconds", 3600, 3601, {"max_number_training_jobs": TUNING_MAX_RUNTIME_SECONDS // BYO_WAVE}),
    ("batch_transform_timeout_minutes", 5, 4, {}),
    ("batch_transform_timeout_minutes", 30 * 24 * 60, 30 * 24 * 60 + 1, {}),
    ("endpoint_wait_timeout_minutes", 5, 4, {}),
    ("endpoint_wait_timeout_minutes", 24 * 60, 24 * 60 + 1, {}),
    ("ecr_keep_images", 1, 0, {}),
    ("ecr_keep_images", 1000, 1001, {}),
    ("glue_version", "4.0", "3.0", {}),
    ("glue_python_shell_capacity", 1.0, 0.5, {}),
    ("glue_python_shell_capacity", 0.0625, 0.125, {}),
    ("endpoint_name", "e" * 63, "e" * 64, {}),
    ("glue_job_name", "g" * 63, "g" * 64, {}),
    # Waves of two parallel jobs: an odd count's last wave runs one job but takes a whole wave.
    ("training_job_max_runtime_seconds", 3600, 3601, {"max_number_training_jobs": 2 * (TUNING_MAX_RUNTIME_SECONDS // BYO_WAVE) - 1, "max_parallel_training_jobs": 2}),
    ("glue_worker_type", "R.1X", "G.025X", {}),
    ("log_retention_days", 30, 31, {}),
    ("retrain_schedule", "rate(1 day)", "rate(1 days)", {}),
    ("retrain_schedule", "rate(2 days)", "rate(2 day)", {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "accepted", "refused", "others"), EDGES, ids=[f"{e[0]}={e[1]!r}" for e in EDGES]
)
def test_the_last_value_aws_accepts_is_accepted_and_the_next_refused(
    make_config, key: str, accepted: Any, refused: Any, others: dict[str, Any]
) -> None:
    # The tuning rule applies to the seed example's runtime (3600 s) unless the case sets its own.
    assert getattr(make_config(**others, **{key: accepted}), key) == accepted
    with pytest.raises(ValidationError) as error:
        make_config(**others, **{key: refused})
    assert {".".join(map(str, e["loc"])) for e in error.value.errors()} == {key}


def test_the_tuning_edge_is_reachable_exactly() -> None:
    assert TUNING_MAX_RUNTIME_SECONDS % BYO_WAVE == 0


def test_a_glue_wheel_must_be_a_wheel(make_config, project_dir) -> None:
    (project_dir / "dist").mkdir()
    (project_dir / "dist" / "helpers-1.0-py3-none-any.whl").write_bytes(b"PK")
    (project_dir / "dist" / "helpers.tar.gz").write_bytes(b"gz")
    assert make_config(whl_path="dist/helpers-1.0-py3-none-any.whl").whl_path.endswith(".whl")
    with pytest.raises(ValidationError, match="whl_path"):
        make_config(whl_path="dist/helpers.tar.gz")
