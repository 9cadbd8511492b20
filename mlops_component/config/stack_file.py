"""Reading `MlOpsConfig` from Pulumi stack config (`mlops:` namespace), at deploy time or offline from a file.

Keys may be spelled as in the seed (`job_name`) or in Pulumi's camelCase (`jobName`). Errors are reported
with the key exactly as the user wrote it, all at once, before any resource exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.alias_generators import to_camel, to_snake

from mlops_component.config import MlOpsConfig

NAMESPACE = "mlops"


class StackConfigError(ValueError):
    """The stack config is invalid; `problems` holds one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in the '{NAMESPACE}:' stack config:\n"
            + "\n".join(f"  {p}" for p in problems)
        )


def from_values(
    values: Mapping[str, Any], *, secret_keys: Iterable[str] = (), base_dir: Path | None = None
) -> MlOpsConfig:
    """Validate the `mlops:` entries of a flat stack-config mapping (other namespaces are ignored).

    Values may be typed (from a YAML file) or strings (from the Pulumi engine, which passes objects and
    lists as JSON text); both validate the same.
    """
    ours: dict[str, tuple[str, Any]] = {}  # snake_case field -> (key as written, value)
    problems: list[str] = []
    for key, value in values.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE or not name:
            continue
        snake = to_snake(name)
        if snake in ours:
            problems.append(f"{key}: given twice (also as {ours[snake][0]})")
            continue
        ours[snake] = (key, _decode(value))
    if problems:
        raise StackConfigError(problems)

    context = {"base_dir": base_dir or Path.cwd()}
    try:
        config = MlOpsConfig.model_validate({k: v for k, (_, v) in ours.items()}, context=context)
    except ValidationError as error:
        raise StackConfigError([_describe(err, ours) for err in error.errors()]) from None
    return config.with_secret_fields(
        to_snake(k.partition(":")[2]) for k in secret_keys if k.startswith(f"{NAMESPACE}:")
    )


def from_stack_file(path: str | Path) -> tuple[MlOpsConfig, list[str]]:
    """Validate a `Pulumi.<stack>.yaml` offline.

    Encrypted (`secure:`) values cannot be read without the stack's secrets provider, so they are left out
    of validation and their keys are returned for the caller to mention.
    """
    path = Path(path)
    try:
        document = load_yaml(path) or {}
    except ValueError as error:
        raise StackConfigError([f"{path}: cannot read stack file ({error})"]) from None
    raw = document.get("config") or {} if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise StackConfigError([f"{path}: 'config' must be a mapping of keys to values"])
    not_text = [key for key in raw if not isinstance(key, str)]
    if not_text:
        raise StackConfigError(
            [f"{path}: config key {key!r} is not text; keys look like 'mlops:jobName'" for key in not_text]
        )
    encrypted = sorted(k for k, v in raw.items() if isinstance(v, dict) and set(v) == {"secure"})
    plain = {k: v for k, v in raw.items() if k not in encrypted}
    return from_values(plain, secret_keys=encrypted, base_dir=path.resolve().parent), encrypted


def stack_region(path: str | Path) -> str | None:
    """The `aws:region` a stack file sets, if any."""
    try:
        document = load_yaml(Path(path)) or {}
    except ValueError:
        return None
    region = (document.get("config") or {}).get("aws:region") if isinstance(document, dict) else None
    return region if isinstance(region, str) else None


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error, not "the last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, tuple[Any, int]] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:  # equal keys collide in the mapping even when spelled differently (1 and true)
                first, line = seen.setdefault(key, (key, key_node.start_mark.line + 1))
            except TypeError:
                continue  # an unhashable key: the safe loader reports it with its position
            if line != key_node.start_mark.line + 1:
                again = "is given twice" if repr(first) == repr(key) else f"collides with key {first!r}"
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} {again} (first on line {line})", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path) -> Any:
    """A YAML file's document; any reason it cannot be read (including non-UTF-8 text) is a ValueError."""
    try:
        text = path.read_bytes().decode("utf-8")
        return yaml.load(text, Loader=_StrictLoader)
    except OSError as error:
        raise ValueError(error.strerror or str(error)) from None
    except UnicodeDecodeError as error:
        raise ValueError(
            f"not UTF-8 text: byte {error.object[error.start]:#04x} at offset {error.start}"
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ValueError(f"{where}{error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise ValueError(" ".join(str(error).split())) from None


def from_pulumi() -> MlOpsConfig:
    """Validate the running stack's config (inside a Pulumi program)."""
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = [k for k in values if runtime_config.is_config_secret(k)]
    secret += runtime_config.get_config_secret_keys_env()
    return from_values(values, secret_keys=secret)


def _decode(value: Any) -> Any:
    """The engine passes structured values as JSON text; scalars stay strings for pydantic to parse."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # left as text: validation will say what is wrong with it
    return value


def _describe(error: Any, given: Mapping[str, tuple[str, Any]]) -> str:
    """One line naming the key as the user wrote it, e.g. `mlops:jobName: must be at most 18 characters`."""
    loc = [str(part) for part in error["loc"]]
    if not loc:  # a rule about the whole config
        return f"{NAMESPACE}: {error['msg']}"
    top = to_snake(loc[0])
    # Keys the user left out (a failing default) are named in Pulumi's usual camelCase.
    key = given[top][0] if top in given else f"{NAMESPACE}:{to_camel(top)}"
    path = ".".join([key, *loc[1:]])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    return f"{path}: {message}"
