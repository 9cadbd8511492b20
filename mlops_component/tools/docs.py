"""The README's generated sections: config reference, workflow diagrams and architecture picture.

`mlops docs` rewrites the text between `<!-- generated:<name> -->` and `<!-- /generated:<name> -->`;
a test fails when the README differs from what this module generates, so the docs cannot go stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mlops_component.builders import iam
from mlops_component.builders.state_machines.processing_pipeline import processing_definition
from mlops_component.builders.state_machines.training_workflow import training_definition
from mlops_component.config import ENDPOINT, MlOpsConfig
from mlops_component.tools import diagrams, reference, render

# The configuration the README pictures: the seed's example, uploads off (they change nothing drawn).
EXAMPLE = {
    "job_name": "employee-attrition",
    "name_prefix": "mlops-dev",
    "train_local_path": None,
    "score_local_path": None,
}
EXAMPLE_ACCOUNT = iam.Account("aws", render.DEFAULT_REGION, render.PLACEHOLDER_ACCOUNT_ID)


def example_config(**overrides: object) -> MlOpsConfig:
    """The README's example configuration, with `overrides`."""
    return MlOpsConfig.model_validate({**EXAMPLE, **overrides})


def _mermaid(diagram: str) -> str:
    return f"```mermaid\n{diagram}```\n"


def _training_diagram(**overrides: object) -> str:
    config = example_config(**overrides)
    definition = training_definition(config, render.planned_training_resources(config, EXAMPLE_ACCOUNT))
    return _mermaid(diagrams.state_machine_diagram(definition))


def workflow_diagrams() -> str:
    """Both inference modes of the training workflow, drawn from the definition builder."""
    return "\n".join(
        [
            "Batch inference (`endpointOrBatchTransform: Batch Transform`):",
            "",
            _training_diagram(),
            "Real-time endpoint (`endpointOrBatchTransform: Create Model Endpoint Config`):",
            "",
            _training_diagram(endpoint_or_batch_transform=ENDPOINT),
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


SECTIONS: dict[str, Callable[[], str]] = {
    "architecture": architecture,
    "workflow-diagrams": workflow_diagrams,
    "processing-diagram": processing_diagram,
    "config-reference": reference.config_reference,
    "migration-table": reference.migration_table,
}


def update_readme(text: str) -> str:
    """`text` with every generated section replaced by its current content."""
    for name, generate in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no generated section {name!r}")
        text = pattern.sub(_filler(generate()), text)
    return text


def _filler(content: str) -> Callable[[re.Match[str]], str]:
    # A function, not a replacement string, so backslashes in the content are not read as escapes.
    return lambda match: match.group(1) + content + match.group(2)
