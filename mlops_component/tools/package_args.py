"""A pydantic view of a component's args dataclass: the one description its package inputs and checks come from.

A part's args are a plain dataclass (`DataStoresArgs`, `EtlArgs`, ...): its annotations say the types, its field
docstrings the descriptions, its defaults the defaults. `args_view` turns that into a pydantic model with
camelCase aliases, so `package_types` can write the package's input types from it exactly as it does from
`MlOpsConfig`, and the provider validates inputs with it (per-key errors) before building the dataclass back
with `to_args`. Type by type:

- `pulumi.Input[T]`: `T`, or an output of another resource, passed through unchecked (`AcceptsOutputs` marks
  it, so the schema says the input takes outputs); any other field must be a plain value;
- `Literal[...]`: the same choices (an enum in the schema); `T | None`: optional;
- a nested dataclass: its own view (an object type); `Sequence[T]`: a list;
- `Mapping[str, T]`: a map; `Mapping[Literal[...], T]`: a map that must hold every one of those keys;
- `Annotated[str, validator]` (e.g. `LocalFile`, `KmsKeyArn`): the validator runs.

Anything else (a Python callable, `iam.Account`) has no package type: its field must be left out (it needs a
default), or the part cannot be hosted.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pulumi
import pulumi.output
from pulumi.provider.experimental.util import camel_case
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)


@dataclass(frozen=True)
class AcceptsOutputs:
    """Marks a `pulumi.Input[plain]` field: `plain`, or an output of another resource."""

    plain: Any


_VIEW_CONFIG = ConfigDict(
    extra="forbid",
    frozen=True,
    validate_by_alias=True,
    validate_by_name=True,
    arbitrary_types_allowed=True,
    # The engine sends numbers as floats; a string field given 5 gets "5", as stack config does.
    coerce_numbers_to_str=True,
)
# Which dataclass each view stands for, to build the args back.
_DATACLASS_OF: dict[type[BaseModel], type] = {}


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a class, read from its source as Pulumi's own analyzer reads them."""
    from pulumi.provider.experimental.analyzer import Analyzer

    analyzer = Analyzer("docs")
    return {f.name: analyzer.get_docstring(cls, f.name) or "" for f in dataclasses.fields(cls)}


@functools.cache
def args_view(cls: Any, omit: frozenset[str] = frozenset()) -> type[BaseModel]:
    """The pydantic view of dataclass `cls`, without the fields in `omit` (which must have defaults)."""
    # pulumi.Input refers to "Output[T]" by name: resolve it in pulumi.output's namespace.
    hints = typing.get_type_hints(cls, localns=vars(pulumi.output), include_extras=True)
    docs = field_docs(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if f.name in omit:
            if not has_default:
                raise TypeError(f"{cls.__name__}.{f.name} has no default, so it cannot be left out")
            continue
        if f.default is not dataclasses.MISSING:
            default: dict[str, Any] = {"default": f.default}
        elif f.default_factory is not dataclasses.MISSING:
            default = {"default_factory": f.default_factory}
        else:
            default = {}
        view_type = _view_type(hints[f.name], f"{cls.__name__}.{f.name}")
        fields[f.name] = (
            view_type,
            Field(**default, alias=camel_case(f.name), description=docs[f.name] or None),
        )
    view = create_model(cls.__name__, __config__=_VIEW_CONFIG, __doc__=cls.__doc__, **fields)
    _DATACLASS_OF[view] = cls
    return view


def _is_output(tp: Any) -> bool:
    return tp is pulumi.Output or get_origin(tp) is pulumi.Output


def _view_type(tp: Any, where: str) -> Any:
    """The type pydantic validates a field of type `tp` with (see the module's docstring)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return Annotated[(_view_type(args[0], where), *tp.__metadata__)]  # type: ignore[valid-type]
    if origin in (Union, types.UnionType):
        optional = type(None) in args
        plain = [
            a for a in args if a is not type(None) and not _is_output(a) and get_origin(a) is not Awaitable
        ]
        if len(plain) == 1:
            inner = _view_type(plain[0], where)
            if len(plain) + optional < len(
                args
            ):  # pulumi.Input[...]: an Awaitable and an Output were dropped
                inner = Annotated[inner, WrapValidator(_output_or_check), AcceptsOutputs(inner)]
            return inner | None if optional else inner
    elif origin is Literal or tp in (str, int, float, bool):
        return tp
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return args_view(tp)
    elif origin in (list, Sequence):
        return list[_view_type(args[0], where)]  # type: ignore[misc]
    elif origin in (dict, Mapping) and (args[0] is str or get_origin(args[0]) is Literal):
        mapping = dict[args[0], _view_type(args[1], where)]  # type: ignore[misc, valid-type]
        if args[0] is str:
            return mapping
        return Annotated[mapping, AfterValidator(functools.partial(_every_key, get_args(args[0])))]
    raise TypeError(f"{where}: {tp} has no component package type (see mlops_component.tools.package_args)")


def _output_or_check(value: Any, check: ValidatorFunctionWrapHandler) -> Any:
    """An output of another resource as it is (its value is not known yet); anything else checked."""
    return value if isinstance(value, pulumi.Output) else check(value)


def _every_key(keys: tuple[str, ...], value: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in keys if key not in value]
    if missing:
        raise ValueError(f"needs every one of {', '.join(keys)}; missing {', '.join(missing)}")
    return value


def to_args(view: BaseModel) -> Any:
    """The dataclass a validated view stands for, nested views and containers included."""
    cls = _DATACLASS_OF[type(view)]
    return cls(**{name: _back(getattr(view, name)) for name in type(view).model_fields})


def _back(value: Any) -> Any:
    if isinstance(value, BaseModel) and type(value) in _DATACLASS_OF:
        return to_args(value)
    if isinstance(value, list):
        return [_back(v) for v in value]
    if isinstance(value, dict):
        return {k: _back(v) for k, v in value.items()}
    return value
