"""Component type tokens: each is `mlops:index:<ClassName>`, and a renamed one keeps its old token as an alias.

Pulumi's multi-language component hosting requires the token to name the class. A resource's URN contains its
type, so a renamed token without an alias would make `pulumi up` replace the component and, since a child's URN
contains its parent's type, every resource under it. Children need no alias of their own: Pulumi derives their
old URNs from the parent's aliases (alias inheritance, `all_aliases` in the SDK, alias specs in the engine).
"""

from __future__ import annotations

import inspect
from typing import Any

import pulumi
import pytest

import mlops_component
from mlops_component.components import pipeline
from mlops_component.config import MlOpsConfig
from tests.conftest import SEED_EXAMPLE
from tests.pulumi_mocks import run_program

# Every component whose type token changed, with the token existing stacks know it by.
RENAMED = {"MlOpsPipeline": "mlops:index:Pipeline"}
# The packages of the resources the components create; every other type is one of ours.
PROVIDER_PACKAGES = {"aws", "docker"}


def build_recording_aliases(config: Any) -> tuple[Any, dict[tuple[str, str], list[pulumi.Alias]]]:
    """Build the whole pipeline, recording the aliases each resource is registered with."""
    aliases: dict[tuple[str, str], list[pulumi.Alias]] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        aliases[(args.type_, args.name)] = [
            a for a in (args.opts.aliases or []) if isinstance(a, pulumi.Alias)
        ]

    def program() -> Any:
        pulumi.runtime.register_stack_transformation(record)
        return mlops_component.MlOpsPipeline("mlops", config).state_machine_arn

    mocks, _ = run_program(program)
    return mocks, aliases


@pytest.fixture(scope="module")
def everything(shared_project_dir: Any) -> tuple[Any, dict[tuple[str, str], list[pulumi.Alias]]]:
    """A stack with every optional part on, so every component is built."""
    config = MlOpsConfig.model_validate(
        {**SEED_EXAMPLE, "enable_processing_pipeline": True, "enable_dev_environment": True},
        context={"base_dir": shared_project_dir},
    )
    return build_recording_aliases(config)


def test_every_component_token_names_its_class(everything: Any) -> None:
    mocks, _ = everything
    components = {r.typ for r in mocks.resources if r.typ.split(":")[0] not in PROVIDER_PACKAGES}
    assert len(components) >= 10  # the pipeline and every part under it
    for token in components:
        assert token.startswith("mlops:index:"), token
        class_name = token.removeprefix("mlops:index:")
        cls = getattr(mlops_component, class_name, None) or _component_class(class_name)
        assert inspect.isclass(cls) and issubclass(cls, pulumi.ComponentResource), token


def test_every_renamed_component_is_aliased_to_its_old_token(everything: Any) -> None:
    mocks, aliases = everything
    renamed = [r for r in mocks.resources if r.typ.removeprefix("mlops:index:") in RENAMED]
    assert renamed, "the renamed components are built"
    for resource in renamed:
        old = RENAMED[resource.typ.removeprefix("mlops:index:")]
        assert old in {a.type_ for a in aliases[(resource.typ, resource.name)]}, resource.name
    assert RENAMED["MlOpsPipeline"] == pipeline.PREVIOUS_TYPE


def test_components_that_kept_their_token_carry_no_alias(everything: Any) -> None:
    mocks, aliases = everything
    for resource in mocks.resources:
        if resource.typ.startswith("mlops:") and resource.typ.removeprefix("mlops:index:") not in RENAMED:
            assert aliases[(resource.typ, resource.name)] == [], resource.name


def _component_class(name: str) -> Any:
    """A component class that is not exported (e.g. `SecureBucket`, `PythonFunction`)."""
    import importlib
    import pkgutil

    import mlops_component.components as package

    for module in pkgutil.iter_modules(package.__path__):
        found = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), name, None)
        if found is not None:
            return found
    return None
