"""Whether a request a Task sends is one the AWS API accepts, checked against botocore's service models.

botocore's own validator checks member names, required members, types and minimums; it leaves enums, maximums
and patterns to the service, which rejects them with a ValidationException. Those are checked here too, so a
misspelt key, a mode SageMaker does not know, or a name too long for the API all show up as problems.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import validate_parameters

# arn:aws:states:::<service>:<api>[.sync[:2]] (optimized) or arn:aws:states:::aws-sdk:<service>:<api> (AWS SDK).
_RESOURCE = re.compile(
    r"arn:aws:states:::(?:aws-sdk:)?(?P<service>[a-z0-9]+):(?P<api>[a-zA-Z]+)(?:\.sync(?::2)?)?"
)
# The optimized integration with Step Functions itself is named "states"; botocore's model is "stepfunctions".
_MODEL_NAMES = {"states": "stepfunctions"}


@cache
def operation(resource: str) -> OperationModel:
    """The API operation a Task's `resource` calls."""
    match = _RESOURCE.fullmatch(resource)
    assert match, f"not a Step Functions service integration: {resource}"
    service = _MODEL_NAMES.get(match["service"], match["service"])
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(match["api"][0].upper() + match["api"][1:])


def request_problems(resource: str, parameters: dict[str, Any]) -> list[str]:
    """What the API of `resource` would refuse in `parameters` (a Task's resolved input); empty when none."""
    op = operation(resource)
    if op.name == "Invoke":
        # Step Functions sends the Lambda integration's Payload, a JSON value, as the request's bytes.
        parameters = {**parameters, "Payload": json.dumps(parameters.get("Payload"))}
    if op.name == "StartExecution":
        # The Step Functions integration takes the API's members capitalised (StateMachineArn for
        # stateMachineArn) and sends Input, a JSON value, as text.
        parameters = {key[0].lower() + key[1:]: value for key, value in parameters.items()}
        parameters["input"] = json.dumps(parameters.get("input"))
    try:
        validate_parameters(parameters, op.input_shape)
        problems = []
    except ParamValidationError as error:
        problems = [str(error)]
    return problems + _constraint_problems(parameters, op.input_shape, op.name)


def _constraint_problems(value: Any, shape: Shape, where: str) -> list[str]:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return [
            problem
            for name, member in value.items()
            if name in shape.members
            for problem in _constraint_problems(member, shape.members[name], f"{where}.{name}")
        ]
    if isinstance(shape, ListShape) and isinstance(value, list):
        problems = _bounds(len(value), shape, where, "items")
        return problems + [
            problem
            for index, item in enumerate(value)
            for problem in _constraint_problems(item, shape.member, f"{where}[{index}]")
        ]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return [
            problem
            for key, item in value.items()
            for problem in _constraint_problems(item, shape.value, f"{where}.{key}")
        ]
    if isinstance(value, str) and shape.type_name == "string":
        return _string_problems(value, shape, where)
    if isinstance(value, int) and not isinstance(value, bool) and shape.type_name in ("integer", "long"):
        return _bounds(value, shape, where, "")
    return []


def _string_problems(value: str, shape: Shape, where: str) -> list[str]:
    if shape.enum and value not in shape.enum:
        return [f"{where}: {value!r} is not one of {shape.enum}"]
    problems = _bounds(len(value), shape, where, "characters")
    pattern = shape.metadata.get("pattern")
    if pattern and _python_pattern(pattern) and not re.fullmatch(pattern, value, flags=re.DOTALL):
        problems.append(f"{where}: {value!r} does not match {pattern}")
    return problems


def _bounds(size: int, shape: Shape, where: str, unit: str) -> list[str]:
    largest = shape.metadata.get("max")
    return (
        [f"{where}: {size} {unit} is more than the most, {largest}"]
        if largest is not None and size > largest
        else []
    )


@cache
def _python_pattern(pattern: str) -> bool:
    """Whether Python's re reads the API's (Java) pattern; those with \\p{...} classes are left to botocore."""
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
