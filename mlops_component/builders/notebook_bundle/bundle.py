"""The notebook's bundle: the files it downloads from S3 at every start, and the stack settings among them.

Bundle layout (under `devenv/` in the source repository store, and in `/opt/mlops` on the notebook):

    bin/*.sh                      the scripts the lifecycle scripts hand over to
    lib/idle.py                   the idle auto-stop's decision
    project/...                   the project template: README.md, gitignore, src/
    project/notebooks/*.ipynb     the example notebooks (generated for the stack)
    stack.json                    the deployed stack's names (generated)

The lifecycle scripts themselves stay small and fixed: they find the bundle through the notebook's
`BUNDLE_TAG` tag, so a new stack setting never needs a new lifecycle configuration.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlops_component import layout
from mlops_component.builders.notebook_bundle import notebooks

BUNDLE_TAG = "mlops:devenv-bundle"
STACK_FILE = "stack.json"
SCHEMA_VERSION = 1

_HERE = Path(__file__).resolve().parent
LifecycleHook = Literal["on-create", "on-start"]


def lifecycle_script(hook: LifecycleHook) -> str:
    """The text of a lifecycle script: the shared hook, told which one it is."""
    shebang, rest = (_HERE / "lifecycle" / "hook.sh").read_text().split("\n", 1)
    return f"{shebang}\nreadonly MLOPS_HOOK={hook.removeprefix('on-')}\n{rest}"


def lifecycle_content(hook: LifecycleHook) -> str:
    """A lifecycle script as SageMaker takes it: base64."""
    return base64.b64encode(lifecycle_script(hook).encode()).decode()


def static_files() -> dict[str, Path]:
    """The bundle's fixed files: key under the bundle prefix to the file shipped in this package."""
    files = {f"bin/{script.name}": script for script in sorted((_HERE / "bin").glob("*.sh"))}
    files["lib/idle.py"] = _HERE / "idle.py"
    template = _HERE / "project"
    for path in sorted(template.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"project/{path.relative_to(template).as_posix()}"] = path
    return files


@dataclass(frozen=True)
class RepositorySettings:
    """The project's git repository, as the notebook's scripts use it."""

    kind: Literal["codecommit", "external"]
    clone_url: str
    branch: str | None = None
    secret_arn: str | None = None

    @property
    def directory(self) -> str:
        """The folder SageMaker clones into, under ~/SageMaker: the URL's last segment without `.git`."""
        name = self.clone_url.rstrip("/").rsplit("/", 1)[-1]
        return name.removesuffix(".git") or "project"


@dataclass(frozen=True)
class NotebookStack:
    """Everything the notebook needs to know about the deployed stack, as plain values."""

    region: str
    name_prefix: str
    job_name: str
    notebook_name: str
    batch: bool
    buckets: dict[str, str]
    prefixes: dict[str, str]
    database_name: str
    crawler_name: str | None
    athena_workgroup: str
    repository: RepositorySettings
    idle_shutdown_minutes: int | None
    state_machine_arn: str | None = None
    endpoint_name: str | None = None
    glue_session_role_arn: str | None = None


def stack_settings(stack: NotebookStack) -> dict[str, Any]:
    """`stack.json`: what the scripts and `src/pipeline.py` read on the notebook."""
    return {
        "schema_version": SCHEMA_VERSION,
        "region": stack.region,
        "name_prefix": stack.name_prefix,
        "job_name": stack.job_name,
        "notebook_name": stack.notebook_name,
        "inference": "batch" if stack.batch else "endpoint",
        "buckets": dict(stack.buckets),
        "prefixes": {**stack.prefixes, "sandbox": layout.SANDBOX_PREFIX},
        "workflow": {"state_machine_arn": stack.state_machine_arn},
        "endpoint_name": stack.endpoint_name,
        "lake": {
            "database": stack.database_name,
            "crawler": stack.crawler_name,
            "athena_workgroup": stack.athena_workgroup,
        },
        "repository": {
            "kind": stack.repository.kind,
            "clone_url": stack.repository.clone_url,
            "directory": stack.repository.directory,
            "branch": stack.repository.branch,
            "secret_arn": stack.repository.secret_arn,
        },
        "idle_shutdown_minutes": stack.idle_shutdown_minutes,
        "glue_sessions": {
            "enabled": stack.glue_session_role_arn is not None,
            "role_arn": stack.glue_session_role_arn,
        },
    }


def generated_keys(*, batch: bool, glue_sessions: bool) -> list[str]:
    """Keys of the generated documents, known before the stack's names are."""
    names = notebooks.notebook_names(batch=batch, glue_sessions=glue_sessions)
    return [STACK_FILE, *(f"project/notebooks/{name}" for name in names)]


def generated_documents(stack: NotebookStack) -> dict[str, str]:
    """The bundle's generated files, key to JSON text: the stack settings and the example notebooks."""
    examples = notebooks.example_notebooks(
        notebooks.ExampleOptions(
            batch=stack.batch,
            glue_sessions=stack.glue_session_role_arn is not None,
            database_name=stack.database_name,
            feature_bucket=stack.buckets["feature_store"],
            sandbox_prefix=layout.SANDBOX_PREFIX,
        )
    )
    documents = {STACK_FILE: json.dumps(stack_settings(stack), indent=2, sort_keys=True) + "\n"}
    for name, document in examples.items():
        documents[f"project/notebooks/{name}"] = json.dumps(document, indent=1) + "\n"
    return documents


def write_bundle(destination: Path, stack: NotebookStack) -> Path:
    """Lay the bundle out in a folder, as the lifecycle scripts leave it in /opt/mlops."""
    for key, source in static_files().items():
        target = destination / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        target.chmod(0o755 if key.startswith("bin/") else 0o644)
    for key, text in generated_documents(stack).items():
        target = destination / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return destination
