"""The component package `mlops`: this project's components served to every Pulumi language.

Pulumi's Python component provider host (`pulumi.provider.experimental`) analyses the declarations that
`package_types` derives from each component's args, and answers the engine's `GetSchema` and `Construct` calls.
The one thing added to the host is validation: before a component is built, its inputs go through
`model_validate` (of `MlOpsConfig`, as a stack's config does, or of the pydantic view of a part's args
dataclass), and every problem comes back to the user as Pulumi's input-property errors, one per key (raised from
inside a component's `__init__` they would be a traceback).

To host another component, add it to `HOSTED` with the args its `__init__` takes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.provider import ConstructResult
from pulumi.provider import main as serve_provider
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError
from pydantic import ValidationError

from mlops_component.components.data_stores import DataStores, DataStoresArgs, LandedData, LandedDataArgs
from mlops_component.components.dev_environment import DevEnvironment, DevEnvironmentArgs
from mlops_component.components.etl import Etl, EtlArgs
from mlops_component.components.landing_trigger import DataLandingTrigger, DataLandingTriggerArgs
from mlops_component.components.model_image import ModelImage, ModelImageArgs
from mlops_component.components.pipeline import MlOpsPipeline
from mlops_component.config import MlOpsConfig
from mlops_component.tools import package_types
from mlops_component.tools.package_types import Hosted

PACKAGE = "mlops"
DECLARATIONS_MODULE = "mlops_component.tools._package_declarations"


# A package consumer's files are not in the provider's folder, so the seed's `data/*.csv` defaults cannot be
# found there: through the package, local data is landed only when a path is given.
_NO_LOCAL_DATA = {"trainLocalPath": None, "scoreLocalPath": None}
# A part looks its account up from the AWS provider it is given (a program's `providers` option): an
# `iam.Account` is how the Python pipeline shares one lookup between its parts, not something to type in.
_LOOKED_UP = frozenset({"account"})
HOSTED: tuple[Hosted, ...] = (
    Hosted(MlOpsPipeline, MlOpsConfig, _NO_LOCAL_DATA),
    # The shipped Glue script and image build context, as the config's defaults (relative shipped paths
    # resolve to the bundled copies from any folder).
    Hosted(DataStores, DataStoresArgs, {"etlScriptPath": "etl/transform.py"}, omit=_LOOKED_UP),
    Hosted(LandedData, LandedDataArgs),
    Hosted(Etl, EtlArgs, omit=_LOOKED_UP),
    Hosted(ModelImage, ModelImageArgs, {"sourcePath": "container"}),
    Hosted(DataLandingTrigger, DataLandingTriggerArgs, omit=_LOOKED_UP),
    Hosted(DevEnvironment, DevEnvironmentArgs, omit=_LOOKED_UP),
)


def version() -> str:
    try:
        return metadata.version("mlops-component")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _plain(value: Any) -> Any:
    """Inputs as pydantic reads them: the host hands enum members over, the config wants their values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _property_path(loc: Sequence[int | str]) -> str:
    """`parameterRanges.ContinuousParameterRanges[0].Name`, as Pulumi writes property paths."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path


def _reason(error: Mapping[str, Any]) -> str:
    if isinstance(error.get("input"), pulumi.Output):
        return "must be a plain value, not an output of another resource"
    return str(error["msg"]).removeprefix("Value error, ")


def validate(hosted: Hosted, inputs: Mapping[str, Any], base_dir: Path | None = None) -> Any:
    """The component's args from its (name-mapped) inputs, or an input-properties error naming every bad key.

    Relative local paths are looked up in `base_dir` (the provider's working directory), like a stack's are
    in the program's folder.
    """
    try:
        validated = hosted.model.model_validate(
            {**hosted.defaults, **_plain(inputs)}, context={"base_dir": base_dir or Path.cwd()}
        )
    except ValidationError as error:
        problems: list[InputPropertyErrorDetails] = [
            {"property_path": _property_path(e["loc"]), "reason": _reason(e)} for e in error.errors()
        ]
        name = hosted.component.__name__
        raise InputPropertiesError(f"{len(problems)} invalid input(s) to {name}", problems) from None
    return hosted.build_args(validated)


class MlOpsProvider(ComponentProvider):
    """Pulumi's component provider over the declared components, validating inputs before it builds one."""

    def __init__(self, hosted: Sequence[Hosted] = HOSTED) -> None:
        self._hosted = {h.component.__name__: h for h in hosted}
        declarations = package_types.declare(hosted, DECLARATIONS_MODULE)
        super().__init__(declarations, PACKAGE, version=version())

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        """As the host constructs, but through `validate` and into the component itself."""
        self.validate_resource_type(PACKAGE, resource_type)
        component_name = resource_type.rsplit(":", maxsplit=1)[-1]
        hosted = self._hosted[component_name]
        definition = self._component_defs[component_name]
        args = validate(hosted, self.map_inputs(inputs, definition))
        try:
            # Hosted components take (name, args, opts), not ComponentResource's own signature.
            instance = hosted.component(name, args, options)  # type: ignore[call-arg, arg-type]
        except Exception as error:  # reported as an error in the component, with its traceback
            raise ComponentInitError(error) from error
        return ConstructResult(instance.urn, self.get_state(instance, definition))


def package_schema() -> dict[str, Any]:
    """The package schema, from the same analysis the provider serves (no engine needed)."""
    schema = MlOpsProvider().schema
    assert schema is not None
    parsed: dict[str, Any] = json.loads(schema)
    return parsed


def serve(argv: Sequence[str] | None = None) -> None:
    """Run the provider for the engine: prints its port, then answers until the engine stops it."""
    serve_provider(MlOpsProvider(), list(sys.argv[1:] if argv is None else argv))
