"""Generated docs: the README matches the code, every field is referenced, and `mlops render` works."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops_component.config import MlOpsConfig
from mlops_component.tools import docs, render
from mlops_component.tools.cli import main
from mlops_component.tools.reference import config_reference
from tests.conftest import BUILT_IN_XGBOOST

README = Path(__file__).resolve().parent.parent / "README.md"
ENDPOINT_MODE = "Create Model Endpoint Config"


def test_readme_generated_sections_are_up_to_date() -> None:
    text = README.read_text()
    assert docs.update_readme(text) == text, "README.md is out of date: run `mlops docs`"


def test_every_config_field_appears_in_the_reference() -> None:
    reference = config_reference()
    readme = README.read_text()
    for name in MlOpsConfig.model_fields:
        assert f"`mlops:{name}`" in reference, name
        assert f"`mlops:{name}`" in readme, name


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
    assert {"training.asl.json", "training.mmd", "architecture.mmd"} <= names
    definition = json.loads((tmp_path / "training.asl.json").read_text())
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        sfn.create_state_machine(
            name="rendered", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )
    diagram = (tmp_path / "training.mmd").read_text()
    assert diagram.startswith("flowchart TD") and "Tune Hyperparameters" in diagram
    assert ("Batch Transform" in diagram) == (config.is_batch)
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
    monkeypatch.chdir(README.parent)
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


def test_docs_check_reports_a_stale_readme(tmp_path: Path, capsys) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(README.read_text().replace("| `mlops:jobName`", "| `mlops:jobNameOld`", 1))
    assert main(["docs", "--check", "--readme", str(stale)]) == 1
    assert main(["docs", "--readme", str(stale)]) == 0
    assert main(["docs", "--check", "--readme", str(stale)]) == 0
    assert stale.read_text() == README.read_text()
