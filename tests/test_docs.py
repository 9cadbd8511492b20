"""The docs: generated parts match the code, every link resolves, the README is a short front door, and
`mlops render` and `mlops docs` work."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops_component.config import MlOpsConfig
from mlops_component.tools import docs, render
from mlops_component.tools.cli import main
from mlops_component.tools.reference import config_reference
from tests.conftest import BUILT_IN_XGBOOST

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
ENDPOINT_MODE = "Create Model Endpoint Config"
# Every markdown file a reader can reach: the README, the docs and the examples' READMEs.
MARKDOWN = [README, *sorted(DOCS.glob("*.md")), *sorted((ROOT / "examples").glob("*/README.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_generated_docs_are_up_to_date() -> None:
    stale = docs.stale_files(ROOT)
    assert not stale, f"out of date: {sorted(p.name for p in stale)}; run `mlops docs`"


def test_every_config_field_appears_in_the_reference() -> None:
    reference = config_reference()
    documented = (DOCS / "configuration.md").read_text()
    for name in MlOpsConfig.model_fields:
        assert f"`mlops:{name}`" in reference, name
        assert f"`mlops:{name}`" in documented, name


def test_readme_is_a_front_door() -> None:
    text = README.read_text()
    assert len(text.encode()) <= 12_000
    quickstart = text.split("## Quickstart", 1)[1]
    assert quickstart.split("```")[1] == "bash\nmake demo\nmake test\n"
    # Every document is reachable from the README by a link.
    linked = {(README.parent / target.split("#")[0]).resolve() for target in LINK.findall(text)}
    for path in [*DOCS.glob("*.md"), *(ROOT / "examples").glob("*/")]:
        assert path.resolve() in linked, f"README does not link {path.relative_to(ROOT)}"


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of `markdown` (those outside code blocks)."""
    anchors, fenced = set(), False
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        if not fenced and (heading := re.match(r"#+ (.*)", line)):
            anchors.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    text = page.read_text()
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # an address on the web
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} does not exist"
        if anchor:
            assert anchor in _anchors(linked.read_text()), f"{page.name}: {target} names no heading"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"endpoint_or_batch_transform": ENDPOINT_MODE},
        BUILT_IN_XGBOOST,
    ],
)
def test_render_writes_parseable_definitions_and_diagrams(tmp_path: Path, overrides: dict) -> None:
    config = docs.example_config(**overrides)
    written = render.write(render.render(config, docs.EXAMPLE_ACCOUNT), tmp_path)
    names = {p.name for p in written}
    assert {
        "training.asl.json",
        "training.mmd",
        "deployment.asl.json",
        "deployment.mmd",
        "architecture.mmd",
    } <= names
    for machine in ("training", "deployment"):
        definition = json.loads((tmp_path / f"{machine}.asl.json").read_text())
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            sfn.create_state_machine(
                name="rendered", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
            )
    diagram = (tmp_path / "training.mmd").read_text()
    assert (
        diagram.startswith("flowchart TD")
        and "Tune Hyperparameters" in diagram
        and "Register Model" in diagram
    )
    deployment = (tmp_path / "deployment.mmd").read_text()
    assert ("Batch Transform" in deployment) == (config.is_batch) and "No Approved Model" in deployment
    architecture = (tmp_path / "architecture.mmd").read_text()
    assert ("processing pipeline" in architecture) == config.enable_processing_pipeline
    assert ("SageMaker notebook" in architecture) == config.enable_dev_environment
    if config.enable_processing_pipeline:
        processing = json.loads((tmp_path / "processing.asl.json").read_text())
        with mock_aws():
            boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
                name="processing",
                definition=json.dumps(processing),
                roleArn="arn:aws:iam::123456789012:role/r",
            )
        example = json.loads((tmp_path / "processing.input.json").read_text())
        assert set(example) == {"PreProcessing", "Inference", "PostProcessing"}


def test_render_command_on_the_example_stack(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert (
        main(
            [
                "render",
                "--stack-file",
                "Pulumi.dev.yaml",
                "--out",
                str(tmp_path),
                "--account-id",
                "210987654321",
            ]
        )
        == 0
    )
    definition = json.loads((tmp_path / "training.asl.json").read_text())
    assert definition["States"]["Transform Data"]["Parameters"]["JobName"] == "mlops-dev-data-transformation"
    assert "mlops-dev-extracts-210987654321-us-east-1" in json.dumps(definition)
    assert str(tmp_path / "architecture.mmd") in capsys.readouterr().out


def test_docs_check_reports_stale_docs_and_regenerates_them(tmp_path: Path, capsys) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    reference = tmp_path / "docs" / "configuration.md"
    reference.write_text(reference.read_text().replace("| `mlops:jobName`", "| `mlops:jobNameOld`", 1))
    assert main(["docs", "--check", "--root", str(tmp_path)]) == 1
    assert "configuration.md is out of date" in capsys.readouterr().err
    assert main(["docs", "--root", str(tmp_path)]) == 0
    assert main(["docs", "--check", "--root", str(tmp_path)]) == 0
    assert reference.read_text() == (DOCS / "configuration.md").read_text()


def test_docs_names_a_missing_section_in_one_line(tmp_path: Path, capsys) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    workflows = tmp_path / "docs" / "workflows.md"
    workflows.write_text(workflows.read_text().replace("<!-- /generated:workflow-diagrams -->", ""))
    assert main(["docs", "--root", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "workflow-diagrams" in error and "workflows.md" in error
    assert main(["docs", "--root", str(tmp_path / "nowhere")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "nowhere" in error
