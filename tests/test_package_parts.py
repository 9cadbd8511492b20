"""The parts the `mlops` component package serves next to MlOpsPipeline: inputs from each args dataclass, the
provider building each part as the Python component does, and bad input named key by key.

The schema itself is snapshotted by tests/test_package_schema.py.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi.output
import pytest
import yaml
from pulumi.errors import InputPropertiesError, InputPropertyError

from mlops_component import (
    DataLandingTrigger,
    DataLandingTriggerArgs,
    DataStores,
    DataStoresArgs,
    DevEnvironment,
    DevEnvironmentArgs,
    Etl,
    EtlArgs,
    LandedData,
    LandedDataArgs,
    ModelImage,
    ModelImageArgs,
)
from mlops_component.assets import asset_path
from mlops_component.components.dev_environment import ExistingGitRepository, NotebookNetwork
from mlops_component.tools.offline import Registered, run_program
from mlops_component.tools.package_args import field_docs
from mlops_component.tools.package_types import Hosted
from mlops_component.tools.provider import HOSTED, MlOpsProvider, package_schema, validate
from tests.pulumi_mocks import ACCOUNT_ID, REGION
from tests.test_resource_graph import canonical

REPOSITORY = Path(__file__).resolve().parents[1]
PARTS = [hosted for hosted in HOSTED if dataclasses.is_dataclass(hosted.args)]
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:team-training"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STORES = ("feature_store", "source_repository", "extracts", "models", "metadata", "output")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return package_schema()


def hosted(component: type) -> Hosted:
    (found,) = [h for h in HOSTED if h.component is component]
    return found


def test_the_package_hosts_the_parts_a_team_uses_alone() -> None:
    assert [h.component.__name__ for h in HOSTED] == [
        "MlOpsPipeline",
        "DataStores",
        "LandedData",
        "Etl",
        "ModelImage",
        "DataLandingTrigger",
        "DevEnvironment",
    ]
    # Only the account is left out: each part looks it up from the AWS provider it is given.
    assert {field for h in PARTS for field in h.omit} == {"account"}


# --- An input for every args field -------------------------------------------------------------------------------
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, localns=vars(pulumi.output), include_extras=True)


def _present(annotation: Any) -> list[Any]:
    """The members of an optional or `pulumi.Input` annotation that are the value's own type."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _present(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return [annotation]
    return [
        a
        for a in typing.get_args(annotation)
        if a is not type(None) and typing.get_origin(a) not in (pulumi.Output, Awaitable)
    ]


def _takes_outputs(annotation: Any) -> bool:
    return any(typing.get_origin(a) is pulumi.Output for a in typing.get_args(annotation))


def _check_fields(
    schema: dict[str, Any], cls: type, properties: dict[str, Any], required: set[str], hosted: Hosted | None
) -> None:
    hints, docs = _hints(cls), field_docs(cls)
    omit = hosted.omit if hosted else frozenset()
    defaults = hosted.defaults if hosted else {}
    expected = set()
    for field in dataclasses.fields(cls):
        if field.name in omit:
            continue
        key = _camel(field.name)
        expected.add(key)
        assert key in properties, f"{cls.__name__}.{field.name} has no package input {key}"
        prop = properties[key]
        assert docs[field.name] and prop["description"].startswith(docs[field.name]), key
        has_default = (
            field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        )
        assert (key in required) == (not has_default and key not in defaults), key
        annotation = hints[field.name]
        assert ("plain" not in prop) == _takes_outputs(annotation), (
            f"{key}: plain only when it takes no outputs"
        )
        (own,) = _present(annotation)
        if typing.get_origin(own) is typing.Literal:
            enum = schema["types"][prop["$ref"].removeprefix("#/types/")]
            assert [member["value"] for member in enum["enum"]] == list(typing.get_args(own)), key
        if dataclasses.is_dataclass(own):
            token = f"mlops:index:{own.__name__}"
            assert prop["$ref"] == f"#/types/{token}", key
            nested = schema["types"][token]
            _check_fields(schema, own, nested["properties"], set(nested.get("required", [])), None)
    assert set(properties) == expected


@pytest.mark.parametrize("part", PARTS, ids=lambda h: h.component.__name__)
def test_every_hosted_part_has_an_input_for_every_args_field(schema, part: Hosted) -> None:
    resource = schema["resources"][f"mlops:index:{part.component.__name__}"]
    assert resource["isComponent"] is True
    _check_fields(
        schema, part.args, resource["inputProperties"], set(resource.get("requiredInputs", [])), part
    )
    assert resource["properties"], "a part without outputs is no use to another program"


def test_maps_with_fixed_keys_and_outputs_are_typed(schema) -> None:
    resources = schema["resources"]
    buckets = resources["mlops:index:DevEnvironment"]["inputProperties"]["bucketNames"]
    assert (
        buckets["additionalProperties"]["type"] == "string" and "plain" not in buckets["additionalProperties"]
    )
    assert buckets["description"].endswith("Keys: " + ", ".join(STORES) + ".")
    stores = resources["mlops:index:DataStores"]["properties"]
    assert stores["bucketNames"]["additionalProperties"]["type"] == "string"
    etl = resources["mlops:index:Etl"]["properties"]
    assert etl["crawlerRoleArns"]["items"]["type"] == "string"
    assert "featureStoreCrawlerName" not in resources["mlops:index:Etl"]["required"]


# --- The provider builds what the Python component builds ----------------------------------------------------------
def graph(resources: list[Registered], project: Path) -> list[tuple[str, str, Any]]:
    return sorted((r.typ, r.name, canonical(r.inputs, project)) for r in resources)


def output(value: str) -> pulumi.Output[str]:
    """What the engine hands the provider for an output of another resource."""
    return pulumi.Output.from_input(value)


# (component, engine-shaped inputs, the args a Python program gives): camelCase keys, numbers as floats, enum
# values as strings, some values outputs of other resources. Built inside the program (outputs need it).
Case = tuple[type, Callable[[Path], dict[str, Any]], Callable[[Path], Any]]
CASES: list[Case] = [
    (
        DataStores,
        lambda _: {
            "namePrefix": "team",
            "forceDestroy": True,
            "existingFeatureStore": output("landing-zone"),
        },
        lambda _: DataStoresArgs(
            name_prefix="team",
            etl_script_path=str(asset_path("etl", "transform.py")),
            force_destroy=True,
            existing_feature_store="landing-zone",
        ),
    ),
    (
        LandedData,
        lambda tmp: {"featureStoreBucket": output("landing-zone"), "trainFile": str(tmp / "train.csv")},
        lambda tmp: LandedDataArgs("landing-zone", train_file=str(tmp / "train.csv")),
    ),
    (
        Etl,
        lambda _: {
            "namePrefix": "team",
            "jobName": "prepare",
            "featureStoreBucket": output("raw-data"),
            "sourceBucket": "code",
            "extractsBucket": "extracts",
            "outputBucket": output("results"),
            "scriptKey": "jobs/transform.py",
            "inferenceType": "batch",
            "outputLayout": "builtin",
            "timeoutMinutes": 30.0,
            "maxRetries": 1.0,
            "spark": True,
            "numberOfWorkers": 4.0,
            "additionalPythonModules": ["pyarrow==15.0.2"],
            "crawlFeatureStore": True,
            "kmsKeyArn": KMS_KEY_ARN,
        },
        lambda _: EtlArgs(
            name_prefix="team",
            job_name="prepare",
            feature_store_bucket="raw-data",
            source_bucket="code",
            extracts_bucket="extracts",
            output_bucket="results",
            script_key="jobs/transform.py",
            inference_type="batch",
            output_layout="builtin",
            timeout_minutes=30,
            max_retries=1,
            spark=True,
            number_of_workers=4,
            additional_python_modules=["pyarrow==15.0.2"],
            crawl_feature_store=True,
            kms_key_arn=KMS_KEY_ARN,
        ),
    ),
    (
        ModelImage,
        lambda _: {"repositoryName": "team/scorer", "keepImages": 5.0, "extraTag": "latest"},
        lambda _: ModelImageArgs(
            repository_name="team/scorer",
            source_path=str(asset_path("container")),
            keep_images=5,
            extra_tag="latest",
        ),
    ),
    (
        DataLandingTrigger,
        lambda _: {
            "namePrefix": "team",
            "featureStoreBucket": "landing-zone",
            "stateMachineArn": output(STATE_MACHINE_ARN),
            "logRetentionDays": 14.0,
            "batch": True,
        },
        lambda _: DataLandingTriggerArgs(
            name_prefix="team",
            feature_store_bucket="landing-zone",
            state_machine_arn=STATE_MACHINE_ARN,
            log_retention_days=14,
            batch=True,
        ),
    ),
    (
        DevEnvironment,
        lambda _: {
            "namePrefix": "team",
            "jobName": "churn",
            "batch": False,
            "bucketNames": {store: output(f"lake-{store.replace('_', '-')}") for store in STORES},
            "databaseName": output("lake_catalog"),
            "crawlerName": "lake-crawler",
            "platformIdentifier": "notebook-al2023-v1",
            "idleShutdownMinutes": 30.0,
            "gitRepository": {"url": "https://git.example.com/team/churn.git", "secretArn": "arn:secret"},
            "network": {"vpcId": "vpc-1", "subnetId": "subnet-1"},
            "endpointName": "churn-endpoint",
        },
        lambda _: DevEnvironmentArgs(
            name_prefix="team",
            job_name="churn",
            batch=False,
            bucket_names={store: f"lake-{store.replace('_', '-')}" for store in STORES},  # type: ignore[misc]
            database_name="lake_catalog",
            crawler_name="lake-crawler",
            platform_identifier="notebook-al2023-v1",
            idle_shutdown_minutes=30,
            git_repository=ExistingGitRepository(
                url="https://git.example.com/team/churn.git", secret_arn="arn:secret"
            ),
            network=NotebookNetwork(vpc_id="vpc-1", subnet_id="subnet-1"),
            endpoint_name="churn-endpoint",
        ),
    ),
]


def test_every_hosted_part_has_a_construct_case() -> None:
    assert [case[0] for case in CASES] == [h.component for h in PARTS]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case[0].__name__)
def test_the_provider_builds_each_part_as_the_python_component(case: Case, tmp_path: Path) -> None:
    component, engine_inputs, python_args = case
    (tmp_path / "train.csv").write_text("id,label\n1,0\n")
    token = f"mlops:index:{component.__name__}"
    provider = MlOpsProvider()
    built, state = run_program(lambda: provider.construct("part", token, engine_inputs(tmp_path)).state)
    direct, _ = run_program(lambda: component("part", python_args(tmp_path)).urn)
    assert graph(built.resources, tmp_path) == graph(direct.resources, tmp_path)
    assert built.resources[0].typ == token
    resource = package_schema()["resources"][token]
    assert set(resource.get("required", [])) <= set(state) <= set(resource["properties"])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case[0].__name__)
def test_validated_inputs_are_the_args_a_python_program_gives(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same dataclasses, nested ones included, with local paths resolved (here: to the same files)."""
    component, engine_inputs, python_args = case
    (tmp_path / "train.csv").write_text("id,label\n1,0\n")
    monkeypatch.setattr(sys.modules[__name__], "output", lambda value: value)  # plain values: comparable
    assert validate(hosted(component), engine_inputs(tmp_path)) == python_args(tmp_path)


def test_a_part_built_through_the_provider_exports_its_outputs() -> None:
    provider = MlOpsProvider()
    _, state = run_program(
        lambda: provider.construct("stores", "mlops:index:DataStores", {"namePrefix": "team"}).state
    )
    assert state["bucketNames"]["feature_store"] == f"team-features-{ACCOUNT_ID}-{REGION}"
    assert set(state["bucketNames"]) == set(STORES)
    assert state["scriptKey"] == "etl/transform.py"


# --- Bad input, key by key -------------------------------------------------------------------------------------------
def errors(component: type, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InputPropertiesError) as raised:
        MlOpsProvider().construct("part", f"mlops:index:{component.__name__}", inputs)
    assert raised.value.message.endswith(f"invalid input(s) to {component.__name__}")
    return [(e["property_path"], e["reason"]) for e in raised.value.errors or []]


ETL = typing.cast(Callable[[Path], dict[str, Any]], CASES[2][1])


def test_bad_inputs_to_a_part_come_back_naming_each_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = {
        **{k: v for k, v in ETL(tmp_path).items() if not isinstance(v, pulumi.Output)},
        "featureStoreBucket": "raw-data",
        "outputBucket": "results",
        "namePrefix": output("team"),  # a plain input given an output of another resource
        "wheelPath": "dist/helpers.whl",
        "kmsKeyArn": "alias/mine",
    }
    found = dict(errors(Etl, bad))
    assert list(found) == ["namePrefix", "wheelPath", "kmsKeyArn"]
    assert found["namePrefix"] == "must be a plain value, not an output of another resource"
    assert found["wheelPath"].startswith("file 'dist/helpers.whl' does not exist (looked in")
    assert "KMS key ARN" in found["kmsKeyArn"]


def test_bad_nested_and_map_inputs_come_back_naming_each_key() -> None:
    dev = typing.cast(Callable[[Path], dict[str, Any]], CASES[5][1])
    bad = {
        **dev(Path(".")),
        "bucketNames": {"feature_store": "lake", "output": "out"},
        "instanceType": "t3.medium",
        "gitRepository": {"url": "https://git.example.com/x.git", "secretArn": "arn:secret", "branch": []},
    }
    found = dict(errors(DevEnvironment, bad))
    assert list(found) == ["bucketNames", "instanceType", "gitRepository.branch"]
    assert "missing source_repository, extracts, models, metadata" in found["bucketNames"]
    assert "not a SageMaker instance type" in found["instanceType"]


def test_a_missing_build_context_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = errors(ModelImage, {"repositoryName": "team/scorer", "keepImages": 5.0, "sourcePath": "image"})
    assert found == [("sourcePath", f"folder 'image' does not exist (looked in {tmp_path.resolve()})")]


def test_the_host_names_a_missing_required_input_and_an_unknown_enum_value() -> None:
    inputs = {k: v for k, v in ETL(Path(".")).items() if k != "scriptKey"}
    with pytest.raises(InputPropertyError, match="scriptKey"):
        MlOpsProvider().construct("part", "mlops:index:Etl", inputs)
    with pytest.raises(InputPropertyError, match="InferenceType"):
        MlOpsProvider().construct("part", "mlops:index:Etl", {**ETL(Path(".")), "inferenceType": "stream"})


# --- docs/package.md's YAML program over two parts ---------------------------------------------------------------------
def test_the_documented_parts_program_uses_only_package_inputs_and_validates(schema) -> None:
    text = (REPOSITORY / "docs" / "package.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    resources = yaml.safe_load(block)["resources"]
    assert {r["type"] for r in resources.values()} >= {"mlops:index:DataStores", "mlops:index:Etl"}
    for resource in resources.values():
        token = resource["type"]
        assert set(resource["properties"]) <= set(schema["resources"][token]["inputProperties"]), token
        part = next(h for h in HOSTED if f"mlops:index:{h.component.__name__}" == token)
        assert dataclasses.is_dataclass(validate(part, resource["properties"]))
    assert json.dumps(resources).count("${stores.bucketNames") >= 4
