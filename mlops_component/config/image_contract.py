"""What a training image accepts and prints: hyperparameter names, types and bounds, and metric names.

The bring-your-own image's contract is its own `xgb_model/contract.json`, the file the image's programs load
(read from the build context when it has one, else from the shipped `container/`), so the config and the image
cannot disagree. SageMaker's built-in XGBoost algorithm's contract is `builtin_xgboost`. The checks here turn a
tuning job SageMaker would reject, or training jobs that would fail one by one, into validation errors.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from mlops_component.assets import asset_path

if TYPE_CHECKING:
    from mlops_component.config.ranges import ParameterRanges

# Where the contract sits inside a bring-your-own build context.
CONTRACT_FILE = ("xgb_model", "contract.json")
# JSON Schema bound keywords (the contract's spelling) as pydantic constraints, which the image uses too.
_BOUNDS = {"minimum": "ge", "exclusiveMinimum": "gt", "maximum": "le", "exclusiveMaximum": "lt"}
_SYMBOLS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
_TYPES: dict[str, type] = {"integer": int, "number": float, "string": str}
DIRECTIONS = ("Maximize", "Minimize")


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its JSON type, its bounds, and for strings the values it takes (None: any)."""

    name: str
    type: str
    bounds: Mapping[str, float]
    values: tuple[str, ...] | None = None

    @functools.cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        # The image parses values with pydantic and these constraints, so the config does the same.
        constraints: dict[str, Any] = {_BOUNDS[key]: value for key, value in self.bounds.items()}
        python_type = _TYPES[self.type]
        annotated: Any = Annotated[python_type, Field(**constraints)]  # type: ignore[valid-type]
        return TypeAdapter(annotated, config=ConfigDict(allow_inf_nan=False))

    @property
    def is_numeric(self) -> bool:
        return self.type in ("integer", "number")

    def describe(self) -> str:
        limits = " and ".join(f"{_SYMBOLS[key]} {value:g}" for key, value in self.bounds.items())
        kind = "an integer" if self.type == "integer" else "a number" if self.type == "number" else "a string"
        if self.values is not None:
            return f"one of {', '.join(self.values)}"
        return f"{kind}{' ' + limits if limits else ''}"

    def problem(self, value: str) -> str | None:
        """Why the image would reject `value` for this hyperparameter, or None if it accepts it."""
        if self.values is not None:
            return None if value in self.values else f"{value!r} is not {self.describe()}"
        try:
            self._adapter.validate_python(value)
        except ValidationError:
            return f"{value!r} is not {self.describe()}"
        return None


@dataclass(frozen=True)
class ImageContract:
    """What one training image accepts (`hyperparameters`, `required`) and emits (`metrics`: name -> direction)."""

    image: str
    hyperparameters: Mapping[str, Hyperparameter]
    metrics: Mapping[str, str]
    required: frozenset[str] = frozenset()
    # Metrics computed on the `validation` channel: objectives that need it.
    validation_metric_prefix: str | None = None

    # Where a user finds the full list of hyperparameters, when it is too long for a message.
    reference: str | None = None

    def unknown_problems(self, names: list[str]) -> list[str]:
        """One line per name the image does not know, with the names it might have meant."""
        problems = []
        for name in (n for n in names if n not in self.hyperparameters):
            close = difflib.get_close_matches(name, list(self.hyperparameters), n=3)
            known = self.reference or f"known: {', '.join(sorted(self.hyperparameters))}"
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            problems.append(f"{name!r} is not a hyperparameter {self.image} knows ({hint}{known})")
        return problems


def parse_hyperparameters(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, Hyperparameter]:
    """Hyperparameters from the contract file's shape: name -> {"type", bounds..., "values"?}."""
    result = {}
    for name, spec in specs.items():
        if spec.get("type") not in _TYPES:
            raise ValueError(f"hyperparameter {name!r}: type must be one of {sorted(_TYPES)}")
        bounds = {key: float(spec[key]) for key in _BOUNDS if key in spec}
        if not all(math.isfinite(bound) for bound in bounds.values()):
            raise ValueError(f"hyperparameter {name!r}: bounds must be finite numbers")
        values = tuple(str(v) for v in spec["values"]) if "values" in spec else None
        result[name] = Hyperparameter(name=name, type=spec["type"], bounds=bounds, values=values)
    return result


def own_image_contract(build_context: str | None) -> ImageContract:
    """The bring-your-own image's contract: the build context's own file if it has one, else the shipped one."""
    shipped = asset_path("container", *CONTRACT_FILE)
    path = shipped
    if build_context is not None:
        candidate = Path(build_context).joinpath(*CONTRACT_FILE)
        path = candidate if candidate.is_file() else shipped
    try:
        version = path.stat().st_mtime_ns
    except OSError as error:
        raise ValueError(f"cannot read the image's contract {path}: {error.strerror}") from None
    return _load_contract(str(path), version)


@functools.lru_cache(maxsize=8)
def _load_contract(path: str, version: int) -> ImageContract:
    """The contract in `path`; `version` (its modification time) keeps the cache from serving an edited file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        metrics = dict(document["metrics"])
        if not metrics or any(direction not in DIRECTIONS for direction in metrics.values()):
            raise ValueError(f"'metrics' must map each metric name to one of {DIRECTIONS}")
        hyperparameters = parse_hyperparameters(document["hyperparameters"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"cannot read the image's contract {path}: {error}") from None
    return ImageContract(image="the bring-your-own image", hyperparameters=hyperparameters, metrics=metrics)


def metric_problem(contract: ImageContract, metric: str) -> str | None:
    """Why `metric` cannot be the tuning objective on this image, or None."""
    if metric in contract.metrics:
        return None
    return f"{contract.image} never emits {metric!r}; its metrics are {', '.join(contract.metrics)}"


def static_problems(contract: ImageContract, static: Mapping[str, str], tuned: list[str]) -> list[str]:
    """Why the image (or SageMaker) would reject these static hyperparameters, one line each."""
    problems = contract.unknown_problems(list(static))
    for name, value in static.items():
        spec = contract.hyperparameters.get(name)
        problem = spec.problem(value) if spec else None
        if problem:
            problems.append(f"{name}: {problem}")
    both = sorted(set(static) & set(tuned))
    if both:
        problems.append(f"{both} are both static and tuned (parameter_ranges); give each one place")
    missing = sorted(contract.required - set(static) - set(tuned))
    if missing:
        problems.append(f"{contract.image} needs {missing} (set them here or tune them)")
    return problems


def range_problems(contract: ImageContract, ranges: ParameterRanges) -> list[str]:
    """Why the image would reject a value the tuner may pick from these ranges, one line each."""
    problems = contract.unknown_problems(ranges.names())
    numeric: list[tuple[str, Any]] = [
        *(("ContinuousParameterRanges", r) for r in ranges.continuous_parameter_ranges),
        *(("IntegerParameterRanges", r) for r in ranges.integer_parameter_ranges),
    ]
    for kind, numeric_range in numeric:
        spec = contract.hyperparameters.get(numeric_range.name)
        if spec is None:
            continue
        if not spec.is_numeric or (spec.type == "integer" and kind == "ContinuousParameterRanges"):
            problems.append(
                f"{numeric_range.name} is {spec.describe()}: "
                + ("use IntegerParameterRanges" if spec.is_numeric else "use CategoricalParameterRanges")
            )
            continue
        for bound in (numeric_range.min_value, numeric_range.max_value):
            problem = spec.problem(bound)
            if problem:
                problems.append(
                    f"{numeric_range.name}: the tuner may pick {problem.replace(' is not ', ' which is not ', 1)}"
                )
    for categorical in ranges.categorical_parameter_ranges:
        spec = contract.hyperparameters.get(categorical.name)
        for value in categorical.values if spec else []:
            problem = spec.problem(value) if spec else None
            if problem:
                problems.append(f"{categorical.name}: {problem}")
    return problems
