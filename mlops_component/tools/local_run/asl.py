"""The training workflow's own definition, evaluated against a local run's state.

A local run does not restate what the workflow sends to Glue, SageMaker and the functions: it builds the real
definition (`training_definition`), takes the `Parameters` of the state it is standing in for, and resolves
their `.$` fields (JSONPaths and `States.Format`) against a state document shaped like the execution's
(`$.train`, `$.score`, `$.run.name`, `$.tuning.best`, `$.metadata.result`, ...). Only the Amazon States
Language the definition uses is understood; anything else is reported, never guessed.

JSONPath is evaluated by jsonpath-ng, which also applies Batch Transform's `InputFilter`/`OutputFilter` to
each record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.ext import parse as parse_path

_FORMAT = "States.Format("


class DefinitionError(ValueError):
    """The definition uses a construct this evaluator does not support, or the state lacks a path it reads."""


def state_parameters(definition: Mapping[str, Any], state: str) -> dict[str, Any]:
    """The `Parameters` of one state of `definition`."""
    try:
        parameters: dict[str, Any] = definition["States"][state]["Parameters"]
    except KeyError:
        raise DefinitionError(f"the definition has no state {state!r} with Parameters") from None
    return parameters


def resolve(parameters: Any, document: Mapping[str, Any]) -> Any:
    """`parameters` with every `"<key>.$": <expression>` replaced by `"<key>": <value in document>`."""
    if isinstance(parameters, dict):
        resolved: dict[str, Any] = {}
        for key, value in parameters.items():
            if key.endswith(".$"):
                resolved[key[:-2]] = evaluate(value, document)
            else:
                resolved[key] = resolve(value, document)
        return resolved
    if isinstance(parameters, list):
        return [resolve(item, document) for item in parameters]
    return parameters


def evaluate(expression: str, document: Mapping[str, Any]) -> Any:
    """The value of a JSONPath (`$.run.name`) or a `States.Format(...)` call in `document`."""
    text = expression.strip()
    if text.startswith(_FORMAT) and text.endswith(")"):
        template, arguments = _format_call(text[len(_FORMAT) : -1])
        return _format(template, [_text(path_value(path, document)) for path in arguments])
    if text.startswith("$") and not text.startswith("$$"):
        return path_value(text, document)
    raise DefinitionError(f"cannot evaluate {expression!r} locally (only JSONPaths and States.Format)")


def path_value(path: str, document: Any) -> Any:
    """The single value `path` selects in `document`."""
    matches = compile_path(path).find(document)
    if len(matches) != 1:
        raise DefinitionError(f"{path} selects {len(matches)} values in the run's state, not one")
    return matches[0].value


def compile_path(path: str) -> JSONPath:
    """A compiled JSONPath (jsonpath-ng's extended syntax: slices, unions, negative indexes)."""
    try:
        return parse_path(path)
    except Exception as error:  # jsonpath-ng raises plain Exceptions for syntax errors
        raise DefinitionError(f"{path!r} is not a JSONPath this evaluator supports: {error}") from None


def select(path: JSONPath, record: Sequence[Any]) -> list[Any]:
    """The fields of one record (a CSV line as a list) that a Batch Transform filter such as `$[1:]` keeps."""
    return [match.value for match in path.find(list(record))]


def _format_call(arguments: str) -> tuple[str, list[str]]:
    """The template and the path arguments of `'template', $.a, $.b`."""
    text = arguments.lstrip()
    if not text.startswith("'"):
        raise DefinitionError(f"States.Format({arguments}) must start with a quoted template")
    template: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            template.append(text[index : index + 2])  # escapes are undone when formatting
            index += 2
            continue
        if char == "'":
            break
        template.append(char)
        index += 1
    else:
        raise DefinitionError(f"States.Format({arguments}) has an unterminated template")
    rest = text[index + 1 :].strip()
    paths = [part.strip() for part in rest.lstrip(",").split(",")] if rest else []
    if any(not path.startswith("$") for path in paths):
        raise DefinitionError(f"States.Format({arguments}): only JSONPath arguments are supported")
    return "".join(template), paths


def _format(template: str, values: list[str]) -> str:
    """Fill each unescaped `{}` with the next value; `\\{`, `\\}`, `\\'` and `\\\\` stand for themselves."""
    out: list[str] = []
    remaining = iter(values)
    index = 0
    while index < len(template):
        char = template[index]
        if char == "\\" and index + 1 < len(template):
            out.append(template[index + 1])
            index += 2
            continue
        if template.startswith("{}", index):
            try:
                out.append(next(remaining))
            except StopIteration:
                raise DefinitionError(
                    f"States.Format template {template!r} has more {{}} than arguments"
                ) from None
            index += 2
            continue
        out.append(char)
        index += 1
    if next(remaining, None) is not None:
        raise DefinitionError(f"States.Format template {template!r} has fewer {{}} than arguments")
    return "".join(out)


def _text(value: Any) -> str:
    """How States.Format prints an argument: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
