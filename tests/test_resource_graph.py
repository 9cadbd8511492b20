"""The resources the bundled program registers, for four example stacks, against a recorded snapshot.

A refactor must not change a single resource (type, logical name or input); a deliberate change updates the
snapshot with `MLOPS_UPDATE_SNAPSHOTS=1 make test` and shows up in review as a diff of `tests/snapshots/`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mlops_component.components.pipeline import MlOpsPipeline
from tests.pulumi_mocks import run_program

SNAPSHOTS = Path(__file__).parent / "snapshots"
STACKS: dict[str, dict[str, Any]] = {
    "batch": {},
    "endpoint": {"endpoint_or_batch_transform": "Create Model Endpoint Config"},
    "processing": {"enable_processing_pipeline": True},
    "dev-environment": {
        "enable_dev_environment": True,
        "dev_environment": {"enable_interactive_sessions": True, "idle_shutdown_minutes": 60},
    },
}


def canonical(value: Any, project: Path) -> Any:
    """Inputs as plain JSON: assets by their path inside the project, so the snapshot is machine-independent."""
    if isinstance(value, dict):
        return {k: canonical(v, project) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [canonical(v, project) for v in value]
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        path = Path(str(value.path))
        return {"asset": path.name if not path.is_relative_to(project) else str(path.relative_to(project))}
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": sorted(value.assets)}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, str) and str(project) in value:
        return value.replace(str(project), "<project>")
    return value


def graph(make_config, project: Path, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    config = make_config(**overrides)
    mocks, _ = run_program(lambda: MlOpsPipeline("mlops", config).bucket_names)
    resources = [
        {"type": r.typ, "name": r.name, "inputs": canonical(r.inputs, project)} for r in mocks.resources
    ]
    return sorted(resources, key=lambda r: (r["type"], r["name"]))


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_resource_graph_matches_the_snapshot(stack: str, make_config, project_dir: Path) -> None:
    recorded = graph(make_config, project_dir, STACKS[stack])
    path = SNAPSHOTS / f"resources-{stack}.json"
    text = json.dumps(recorded, indent=1, sort_keys=True, default=str) + "\n"
    if os.environ.get("MLOPS_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text)
    expected = json.loads(path.read_text())
    assert json.loads(text) == expected
