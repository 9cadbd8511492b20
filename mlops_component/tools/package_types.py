"""The component package's types, derived from each hosted component and the args it takes.

Pulumi's Python component provider host (`pulumi.provider.experimental`) infers a package schema from type
annotations: the `args` annotation of a component's `__init__` for its inputs, the component's `Output`
attributes for its outputs, and the docstrings under each annotation (read from the class's source) for the
descriptions. The args already say all of that in another form: `MlOpsConfig` as pydantic fields with aliases,
descriptions, defaults and `Literal` choices, each part's args dataclass through its pydantic view
(`package_args`). So this module writes it out as Python source, TypedDicts for the blocks, Enums for the fixed
choices and `Input[...]` where a field takes outputs of other resources, and loads that source as a module. The
host's own analysis then reads it like any hand-written component, descriptions included, and nothing is written
twice: a new config or args field is a new package input.
"""

from __future__ import annotations

import inspect
import json
import keyword
import linecache
import re
import sys
import types
import typing
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

import pulumi
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mlops_component.tools.package_args import AcceptsOutputs, args_view, to_args


@dataclass(frozen=True)
class Hosted:
    """A component the package serves, built as `component(name, args, opts)` from validated inputs.

    `args` is what its `__init__` takes: a pydantic model (`MlOpsConfig`), or an args dataclass, validated
    through its pydantic view. `defaults` replaces defaults that cannot hold for a package consumer (keyed by
    input name); they are applied to the inputs before validation and shown in the schema. `omit` names args
    fields that are not package inputs (they keep their defaults).
    """

    component: type[pulumi.ComponentResource]
    args: type
    defaults: Mapping[str, Any] = field(default_factory=dict)
    omit: frozenset[str] = frozenset()

    @property
    def model(self) -> type[BaseModel]:
        """The pydantic model the inputs are validated with, and the package types written from."""
        if issubclass(self.args, BaseModel):
            return self.args
        view: type[BaseModel] = args_view(typing.cast(Hashable, self.args), self.omit)
        return view

    def build_args(self, validated: BaseModel) -> Any:
        """What the component's `__init__` takes, from the validated model."""
        return validated if issubclass(self.args, BaseModel) else to_args(validated)


@dataclass
class _Source:
    """The definitions written so far, each after the ones it refers to (annotations are evaluated eagerly)."""

    blocks: list[str] = field(default_factory=list)
    enums: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    models: dict[type[BaseModel], str] = field(default_factory=dict)

    def enum(self, name: str, values: tuple[Any, ...], description: str | None) -> str:
        if name in self.enums:
            if self.enums[name] != values:
                raise TypeError(f"two fixed-choice fields named {name} allow different values")
            return name
        self.enums[name] = values
        members = [f"    {_member_name(v)} = {v!r}" for v in values]
        self.blocks.append("\n".join([f"class {name}(Enum):", f"    {_doc(description or name)}", *members]))
        return name

    def model(
        self, model: type[BaseModel], name: str | None = None, defaults: Mapping[str, Any] | None = None
    ) -> str:
        if model in self.models:
            return self.models[model]
        name = name or model.__name__
        self.models[model] = name
        body = []
        for python_name, info in model.model_fields.items():
            key = info.alias or python_name
            annotation = self.annotation(info.annotation, f"{model.__name__}.{python_name}", key, info)
            if any(
                isinstance(m, AcceptsOutputs) for m in info.metadata
            ):  # pydantic lifts a field's own Annotated
                annotation = f"Input[{annotation}]"
            required = info.is_required() and key not in (defaults or {})
            body.append(f"    {key}: {f'Required[{annotation}]' if required else annotation}")
            description = _describe(info, (defaults or {}).get(key, _CONFIG_DEFAULT)) + _keys(info.annotation)
            body.append(f"    {_doc(description)}")
        self.blocks.append(
            "\n".join([f"class {name}(TypedDict, total=False):", f"    {_doc(_summary(model))}", *body])
        )
        return name

    def annotation(self, tp: Any, where: str, key: str, info: FieldInfo) -> str:
        """The package type of one config type, as source text."""
        origin, args = get_origin(tp), get_args(tp)
        if origin is typing.Annotated:
            outputs = [m for m in tp.__metadata__ if isinstance(m, AcceptsOutputs)]
            if outputs:
                return f"Input[{self.annotation(outputs[0].plain, where, key, info)}]"
            return self.annotation(args[0], where, key, info)
        if origin in (typing.Union, types.UnionType):
            present = [a for a in args if a is not type(None)]
            if len(present) == 1:
                return self.annotation(present[0], where, key, info)
        elif origin is Literal:
            return self.enum(key[:1].upper() + key[1:], args, info.description)
        elif origin is list:
            return f"list[{self.annotation(args[0], where, key, info)}]"
        elif origin is dict and (args[0] is str or get_origin(args[0]) is Literal):
            return f"dict[str, {self.annotation(args[1], where, key, info)}]"
        elif tp in (str, int, float, bool):
            return tp.__name__
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            return self.model(tp)
        raise TypeError(
            f"{where}: {tp} has no component package type; add it to mlops_component.tools.package_types"
        )


def _keys(tp: Any) -> str:
    """For a map with fixed keys (`dict[Literal[...], ...]`, possibly optional or checked), the keys it needs."""
    for arg in (tp, *get_args(tp)):
        if get_origin(arg) is dict and get_origin(get_args(arg)[0]) is Literal:
            return f" Keys: {', '.join(get_args(get_args(arg)[0]))}."
        if get_origin(arg) is typing.Annotated and arg is not tp:
            return _keys(arg)
    return ""


def _doc(text: str) -> str:
    return repr(text)


def _summary(model: type) -> str:
    return inspect.cleandoc(model.__doc__ or model.__name__)


_CONFIG_DEFAULT = object()


def _describe(info: FieldInfo, package_default: Any = _CONFIG_DEFAULT) -> str:
    """The field's description, and its default when it has a plain one (the schema has no place for it)."""
    text = info.description or ""
    if package_default is not _CONFIG_DEFAULT:
        return f"{text} Default in the package: {json.dumps(package_default)}.".strip()
    default = info.get_default(call_default_factory=True)
    if not info.is_required() and default is not None and not isinstance(default, BaseModel):
        text = f"{text} Default: {json.dumps(default)}.".strip()
    return text


def _member_name(value: Any) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(value))  # NumericGreaterThan -> Numeric_Greater_Than
    name = re.sub(r"[^0-9A-Za-z]+", "_", words).strip("_").upper()
    return f"V_{name}" if not name or name[0].isdigit() or keyword.iskeyword(name) else name


def _outputs(component: type[pulumi.ComponentResource]) -> list[tuple[str, str, str]]:
    """The component's `pulumi.Output` attributes: name, type as source text, docstring."""
    from pulumi.provider.experimental.analyzer import Analyzer

    documentation = Analyzer("docs")  # reads the attribute docstrings from the source, as the host does
    namespace = vars(sys.modules[component.__module__])
    outputs = []
    for name, annotation in inspect.get_annotations(component).items():
        if isinstance(annotation, str):  # `from __future__ import annotations`
            annotation = eval(annotation, namespace)
        present = [a for a in get_args(annotation) if a is not type(None)]
        optional = get_origin(annotation) in (typing.Union, types.UnionType) and len(present) == 1
        output = present[0] if optional else annotation
        if get_origin(output) is pulumi.Output and not name.startswith("_"):
            text = f"Output[{_plain_type(get_args(output)[0])}]"
            text = f"Optional[{text}]" if optional else text
            outputs.append((name, text, documentation.get_docstring(component, name) or name))
    return outputs


def _plain_type(tp: Any) -> str:
    """An output's value type as source text: str, int, float, bool, and lists and string maps of them."""
    if tp in (str, int, float, bool):
        return str(tp.__name__)
    if get_origin(tp) is list:
        return f"list[{_plain_type(get_args(tp)[0])}]"
    if get_origin(tp) is dict and get_args(tp)[0] is str:
        return f"dict[str, {_plain_type(get_args(tp)[1])}]"
    raise TypeError(
        f"{tp} has no component package output type; add it to mlops_component.tools.package_types"
    )


def _declaration(source: _Source, hosted: Hosted) -> str:
    component = hosted.component
    args_name = source.model(hosted.model, f"{component.__name__}Args", hosted.defaults)
    outputs = [f"    {name}: {text}\n    {_doc(doc)}" for name, text, doc in _outputs(component)]
    return "\n".join(
        [
            f"class {component.__name__}(ComponentResource):",
            f"    {_doc(_summary(component))}",
            *outputs,
            f"    def __init__(self, name: str, args: {args_name}, opts: Optional[ResourceOptions] = None) -> None:",
            "        raise TypeError(",
            f"            'This declares {component.__name__} for the component package; in Python, build "
            f"{component.__module__}.{component.__name__} with its args'",
            "        )",
        ]
    )


def package_source(components: Sequence[Hosted]) -> str:
    """Python source declaring each component with its args type (from its pydantic model or view) and outputs.

    One module holds every component, so a block two components share is one package type.
    """
    source = _Source()
    declarations = [_declaration(source, hosted) for hosted in components]
    header = (
        '"""Generated by mlops_component.tools.package_types from the components and their pydantic args."""\n\n'
        "from enum import Enum\n"
        "from typing import Optional, Required, TypedDict\n\n"
        "from pulumi import ComponentResource, Input, Output, ResourceOptions\n"
    )
    return "\n\n\n".join([header, *source.blocks, *declarations]) + "\n"


def load(source: str, module_name: str) -> types.ModuleType:
    """Run generated source as a module whose classes `inspect.getsource` can read (through linecache)."""
    filename = f"<{module_name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    module = types.ModuleType(module_name)
    module.__file__ = filename
    sys.modules[module_name] = module
    # dont_inherit: this module's `from __future__ import annotations` would turn the annotations into strings.
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
    return module


def declare(components: Sequence[Hosted], module_name: str) -> list[type[pulumi.ComponentResource]]:
    """The package declaration of each component, taking its args' package types as its inputs."""
    module = load(package_source(components), module_name)
    return [getattr(module, hosted.component.__name__) for hosted in components]
