"""Settings of the optional development environment (`dev_environment`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from mlops_component.config.base import ConfigModel, InstanceType, KmsKeyArn

_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")
# What SageMaker's GitConfig accepts as a repository URL and a branch.
_GIT_URL = re.compile(r"https://[^/\s]+/\S{3,1016}")
_GIT_BRANCH = re.compile(r"[^ ~^:?*\[\\]+")
# The idle check runs every 5 minutes, so a shorter limit could not be honoured.
IDLE_CHECK_INTERVAL_MINUTES = 5


class DevEnvironmentSettings(ConfigModel):
    """The data scientists' notebook, its git repository and the small data lake (`enable_dev_environment`)."""

    instance_type: InstanceType = Field(
        default="ml.t3.medium",
        description="Notebook instance type. The small current-generation default suits editing and light "
        "exploration; heavy work belongs in the pipeline's jobs or Glue interactive sessions.",
    )
    volume_size_in_gb: int = Field(
        default=20,
        ge=5,
        le=16384,
        description="Size of the notebook's storage volume (`/home/ec2-user/SageMaker`, the only folder that "
        "survives a stop).",
    )
    platform_identifier: Literal["notebook-al2-v3", "notebook-al2023-v1"] = Field(
        default="notebook-al2023-v1",
        description="Notebook runtime (Amazon Linux and JupyterLab version). The lifecycle scripts support both; "
        "Amazon Linux 2 (`notebook-al2-v3`) support ended on 2026-06-30.",
    )
    root_access: bool = Field(
        default=False,
        description="Give notebook users root. Off: the lifecycle scripts still run as root, users do not.",
    )
    kms_key_arn: KmsKeyArn | None = Field(
        default=None,
        description="KMS key for the notebook's storage volume; defaults to the top-level `kms_key_arn`.",
    )
    idle_shutdown_minutes: int | None = Field(
        default=60,
        ge=0,
        le=7 * 24 * 60,
        description="Stop the notebook after this many minutes without kernel or terminal activity. 0 or null "
        f"turns the safeguard off. Checked every {IDLE_CHECK_INTERVAL_MINUTES} minutes.",
    )
    git_repository_url: str | None = Field(
        default=None,
        description="HTTPS URL of an existing git repository (GitHub, GitLab, ...) to use instead of creating a "
        "CodeCommit repository. Needs `git_secret_arn`.",
    )
    git_secret_arn: str | None = Field(
        default=None,
        description='Secrets Manager secret holding `{"username": ..., "password": ...}` (a token) for '
        "`git_repository_url`. The notebook's role may read this one secret.",
    )
    git_branch: str | None = Field(
        default=None,
        description="Branch SageMaker checks out from `git_repository_url`; the repository's default when unset. "
        "A created CodeCommit repository starts empty, and its first push creates `main`.",
    )
    enable_interactive_sessions: bool = Field(
        default=False,
        description="Let the notebook start Glue interactive sessions (Spark with the `awsglue` library; they "
        "replace the retired Glue dev endpoints), with their own least-privilege runtime role.",
    )

    @field_validator("idle_shutdown_minutes")
    @classmethod
    def _idle_limit(cls, value: int | None) -> int | None:
        if value and value < IDLE_CHECK_INTERVAL_MINUTES:
            raise ValueError(
                f"must be 0/null (off) or at least {IDLE_CHECK_INTERVAL_MINUTES} minutes, the check's interval"
            )
        return value or None

    @field_validator("git_repository_url")
    @classmethod
    def _git_url(cls, value: str | None) -> str | None:
        if value is not None and not _GIT_URL.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an https:// repository URL (SageMaker clones over HTTPS only)"
            )
        return value

    @field_validator("git_secret_arn")
    @classmethod
    def _git_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _SECRET_ARN.fullmatch(value):
            raise ValueError(
                "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
            )
        has_url = info.data.get("git_repository_url") is not None
        if "git_repository_url" in info.data and has_url != (value is not None):
            raise ValueError(
                "git_repository_url and git_secret_arn go together: give both to use an existing repository, "
                "or neither to create a CodeCommit repository"
            )
        return value

    @field_validator("git_branch")
    @classmethod
    def _branch(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if not _GIT_BRANCH.fullmatch(value) or len(value) > 1024:
            raise ValueError(f"{value!r} is not a git branch name")
        if "git_repository_url" in info.data and info.data["git_repository_url"] is None:
            raise ValueError(
                "only applies with git_repository_url; a created CodeCommit repository starts empty"
            )
        return value

    @property
    def uses_codecommit(self) -> bool:
        """True when the component creates the CodeCommit repository (no existing repository configured)."""
        return self.git_repository_url is None
