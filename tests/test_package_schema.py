"""The `mlops` component package: its schema (snapshotted, so a change to the args shows in review), an input
for every config field, and the provider building the pipeline from engine-shaped inputs or naming each bad key.

Regenerate the snapshot after a deliberate change with `MLOPS_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest
tests/test_package_schema.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2
from pulumi.errors import InputPropertiesError
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pydantic import BaseModel

from mlops_component.components.pipeline import MlOpsPipeline
from mlops_component.config import MlOpsConfig
from mlops_component.tools import cli
from mlops_component.tools.offline import Registered, run_program
from mlops_component.tools.provider import MlOpsProvider, package_schema
from tests.test_resource_graph import canonical

REPOSITORY = Path(__file__).resolve().parents[1]
SNAPSHOT = REPOSITORY / "tests" / "snapshots" / "package-schema.json"
TOKEN = "mlops:index:MlOpsPipeline"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return package_schema()


def test_the_schema_matches_the_snapshot(schema) -> None:
    text = json.dumps(schema, indent=1, sort_keys=True) + "\n"
    if os.environ.get("MLOPS_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text)
    assert schema == json.loads(SNAPSHOT.read_text())


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The config blocks a field holds (directly, optionally or in a list)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models(arg)]


def _literal(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return next((v for v in map(_literal, typing.get_args(annotation)) if v), None)


def _check_block(
    schema: dict[str, Any], model: type[BaseModel], properties: dict[str, Any], required: set[str]
):
    for name, info in model.model_fields.items():
        key = info.alias or name
        assert key in properties, f"{model.__name__}.{name} has no package input {key}"
        assert properties[key].get("description"), key
        assert (key in required) == info.is_required(), key
        choices = _literal(info.annotation)
        if choices:
            enum = schema["types"][properties[key]["$ref"].removeprefix("#/types/")]
            assert [member["value"] for member in enum["enum"]] == list(choices), key
        for block in _models(info.annotation):
            ref = json.dumps(properties[key])
            token = f"mlops:index:{block.__name__}"
            assert token in ref, f"{key} does not refer to {token}"
            nested = schema["types"][token]
            _check_block(schema, block, nested["properties"], set(nested.get("required", [])))
    assert set(properties) == {info.alias or name for name, info in model.model_fields.items()}


def test_the_pipeline_has_an_input_for_every_config_field_nested_blocks_and_enums_included(schema) -> None:
    resource = schema["resources"][TOKEN]
    assert resource["isComponent"] is True
    _check_block(schema, MlOpsConfig, resource["inputProperties"], set(resource["requiredInputs"]))
    assert resource["inputProperties"]["jobName"]["type"] == "string"
    assert resource["inputProperties"]["maxNumberTrainingJobs"]["type"] == "integer"
    assert set(resource["properties"]) == {"bucketNames", "modelImageUri", "stateMachineArn", "summary"}


def test_mlops_package_schema_prints_the_schema(schema, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["package-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema


# What the engine hands the provider for a TypeScript or YAML program: camelCase keys as in stack config,
# numbers as floats, enums as their values, nested blocks as objects.
ENGINE_INPUTS: dict[str, Any] = {
    "jobName": "employee-attrition",
    "namePrefix": "mlops-test",
    "resourceTags": {"project": "employee-attrition", "owner": "platform"},
    "tuningMetric": "accuracy",
    "inferenceMetricThreshold": 0.7,
    "maxNumberTrainingJobs": 3.0,
    "endpointOrBatchTransform": "Create Model Endpoint Config",
    "staticHyperparameters": {"kfold_splits": "5"},
    "trainLocalPath": "data/train.csv",  # relative: looked up in the provider's working directory
    "parameterRanges": {
        "IntegerParameterRanges": [
            {"Name": "max_depth", "MinValue": "1", "MaxValue": "10", "ScalingType": "Linear"}
        ]
    },
}


def graph(resources: list[Registered], project: Path) -> list[tuple[str, str, Any]]:
    return sorted((r.typ, r.name, canonical(r.inputs, project)) for r in resources)


def test_the_provider_builds_the_same_pipeline_as_the_python_component(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project_dir)  # relative local paths are looked up in the provider's working directory
    provider = MlOpsProvider()
    hosted, outputs = run_program(lambda: provider.construct("mlops", TOKEN, ENGINE_INPUTS).state)
    config = MlOpsConfig.model_validate(
        {
            **ENGINE_INPUTS,
            "maxNumberTrainingJobs": 3,
            "parameterRanges": {
                "IntegerParameterRanges": [
                    {"Name": "max_depth", "MinValue": "1", "MaxValue": "10", "ScalingType": "Linear"}
                ]
            },
        },
        context={"base_dir": project_dir},
    )
    direct, _ = run_program(lambda: MlOpsPipeline("mlops", config).bucket_names)
    assert graph(hosted.resources, project_dir) == graph(direct.resources, project_dir)
    assert set(outputs) == {"bucketNames", "modelImageUri", "stateMachineArn", "summary"}
    assert "endpoint" in hosted.named("mlops-training-state-machine").inputs["definition"].lower()


def test_bad_inputs_come_back_as_input_property_errors_naming_each_key(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project_dir)
    bad = {
        **ENGINE_INPUTS,
        "jobName": "a-job-name-far-too-long-for-sagemaker",
        "namePrefix": "Not_Valid",
        "parameterRanges": {
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "9", "MaxValue": "1"}]
        },
    }
    with pytest.raises(InputPropertiesError) as raised:
        MlOpsProvider().construct("mlops", TOKEN, bad)
    paths = [e["property_path"] for e in raised.value.errors or []]
    assert paths == ["jobName", "namePrefix", "parameterRanges.IntegerParameterRanges[0]"]
    reasons = " ".join(e["reason"] for e in raised.value.errors or [])
    assert "18 characters" in reasons and "MaxValue" in reasons
    assert raised.value.message == "3 invalid input(s) to MlOpsPipeline"


def test_the_plugin_entry_serves_the_schema_over_the_provider_protocol(schema) -> None:
    """`provider/__main__.py` started as the engine starts a plugin: it prints its port and answers GetSchema."""
    process = subprocess.Popen(
        [sys.executable, str(REPOSITORY / "provider" / "__main__.py"), "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            served = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0))
            assert json.loads(served.schema) == schema
            assert stub.GetPluginInfo(empty_pb2.Empty()).version == schema["version"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_yaml_example_uses_only_package_inputs_and_validates(schema, tmp_path: Path) -> None:
    from mlops_component.tools.provider import HOSTED, validate

    program = yaml.safe_load((REPOSITORY / "examples" / "yaml" / "Pulumi.yaml").read_text())
    (resource,) = program["resources"].values()
    assert resource["type"] == TOKEN
    inputs = resource["properties"]
    assert set(inputs) <= set(schema["resources"][TOKEN]["inputProperties"])
    config = validate(HOSTED[0], inputs, base_dir=tmp_path)  # an empty folder: no local data is looked for
    assert isinstance(config, MlOpsConfig) and config.train_local_path is None
    assert config.parameter_ranges.names() == ["gamma", "subsample", "max_depth"]
