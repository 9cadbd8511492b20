"""The generated sections of the docs: config reference, migration table, workflow diagrams, architecture.

`mlops docs` rewrites the text between `<!-- generated:<name> -->` and `<!-- /generated:<name> -->` in every file
of `GENERATED`; a test fails when a file differs from what this module generates, so the docs cannot go stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from mlops_component.builders import iam
from mlops_component.builders.state_machines.deployment_workflow import deployment_definition
from mlops_component.builders.state_machines.processing_pipeline import processing_definition
from mlops_component.builders.state_machines.training_workflow import training_definition
from mlops_component.config import ENDPOINT, MlOpsConfig
from mlops_component.tools import diagrams, reference, render

# The configuration the docs picture: the seed's example, uploads off (they change nothing drawn).
EXAMPLE = {
    "job_name": "employee-attrition",
    "name_prefix": "mlops-dev",
    "train_local_path": None,
    "score_local_path": None,
}
EXAMPLE_ACCOUNT = iam.Account("aws", render.DEFAULT_REGION, render.PLACEHOLDER_ACCOUNT_ID)


def example_config(**overrides: object) -> MlOpsConfig:
    """The docs' example configuration, with `overrides`."""
    return MlOpsConfig.model_validate({**EXAMPLE, **overrides})


def _mermaid(diagram: str) -> str:
    return f"```mermaid\n{diagram}```\n"


def _training_diagram(**overrides: object) -> str:
    config = example_config(**overrides)
    definition = training_definition(config, render.planned_training_resources(config, EXAMPLE_ACCOUNT))
    return _mermaid(diagrams.state_machine_diagram(definition))


def _deployment_diagram(**overrides: object) -> str:
    config = example_config(**overrides)
    definition = deployment_definition(config, render.planned_deployment_resources(config, EXAMPLE_ACCOUNT))
    return _mermaid(diagrams.state_machine_diagram(definition))


def workflow_diagrams() -> str:
    """The training workflow (both approval modes) and the deployment workflow (both inference modes), drawn
    from the definition builders."""
    return "\n".join(
        [
            "Training workflow (`modelApprovalMode: automatic`, the default):",
            "",
            _training_diagram(),
            "Training workflow (`modelApprovalMode: manual`):",
            "",
            _training_diagram(model_approval_mode="manual"),
            "Deployment workflow, batch inference (`endpointOrBatchTransform: Batch Transform`):",
            "",
            _deployment_diagram(),
            "Deployment workflow, real-time endpoint (`endpointOrBatchTransform: Create Model Endpoint Config`):",
            "",
            _deployment_diagram(endpoint_or_batch_transform=ENDPOINT),
        ]
    )


def processing_diagram() -> str:
    """The processing pipeline, drawn from its definition builder."""
    config = example_config(enable_processing_pipeline=True)
    resources = render.planned_processing_resources(config, EXAMPLE_ACCOUNT)
    return _mermaid(diagrams.state_machine_diagram(processing_definition(config, resources)))


def architecture() -> str:
    """What the example stack deploys and how data moves through it."""
    return _mermaid(diagrams.architecture_diagram(example_config()))


Section = Callable[[], str]

# Each generated file, relative to the repository root, and the sections it holds.
GENERATED: dict[str, dict[str, Section]] = {
    "docs/architecture.md": {"architecture": architecture},
    "docs/workflows.md": {"workflow-diagrams": workflow_diagrams},
    "docs/processing.md": {"processing-diagram": processing_diagram},
    "docs/configuration.md": {"config-reference": reference.config_reference},
    "docs/migration.md": {"migration-table": reference.migration_table},
}


def update_text(text: str, sections: dict[str, Section]) -> str:
    """`text` with each of `sections` replaced by its current content."""
    for name, generate in sections.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"no generated section {name!r}")
        text = pattern.sub(_filler(generate()), text)
    return text


def _filler(content: str) -> Callable[[re.Match[str]], str]:
    # A function, not a replacement string, so backslashes in the content are not read as escapes.
    return lambda match: match.group(1) + content + match.group(2)


def stale_files(root: Path) -> dict[Path, str]:
    """Every generated file under `root` that differs from what the code generates, with its new text."""
    stale = {}
    for relative, sections in GENERATED.items():
        path = root / relative
        current = path.read_text()
        try:
            updated = update_text(current, sections)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        if updated != current:
            stale[path] = updated
    return stale


def regenerate(root: Path, check: bool) -> int:
    """`mlops docs`: rewrite the stale generated files under `root` (or, with `check`, only name them)."""
    try:
        stale = stale_files(root)
    except (OSError, ValueError) as error:
        print(f"mlops docs: {error}", file=sys.stderr)
        return 1
    for path, updated in stale.items():
        if check:
            print(f"{path} is out of date: run `mlops docs`", file=sys.stderr)
        else:
            path.write_text(updated)
            print(f"{path}: updated")
    if not stale:
        print(f"{len(GENERATED)} generated files are up to date")
    return 1 if check and stale else 0
