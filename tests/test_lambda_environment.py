"""The environment each Lambda function is deployed with: names AWS accepts, and every variable a function reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_component.components.pipeline import MlOpsPipeline
from tests.pulumi_mocks import run_program

# Lambda's constraint on environment variable keys (CreateFunction API reference, Environment.Variables).
AWS_KEY = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")
FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
READ = re.compile(r"(?:required_env|optional_env|prefix_env)\(\s*\"([A-Z_]+)\"")


@pytest.mark.parametrize("mode", ["Batch Transform", "Create Model Endpoint Config"])
def test_every_key_is_valid_and_every_variable_read_is_set(make_config, mode: str) -> None:
    mocks, _ = run_program(
        lambda: MlOpsPipeline("mlops", make_config(endpoint_or_batch_transform=mode)).bucket_names
    )
    functions = [r.inputs for r in mocks.resources if r.typ == "aws:lambda/function:Function"]
    assert functions
    for function in functions:
        variables = function.get("environment", {}).get("variables", {})
        assert all(AWS_KEY.fullmatch(key) for key in variables), (function["name"], sorted(variables))
        module = function["handler"].split(".")[1]
        read = set(READ.findall((FUNCTIONS / f"{module}.py").read_text()))
        # LOG_LEVEL and RESOURCE_TAGS are optional everywhere; the rest the stack must set.
        assert read - {"LOG_LEVEL", "RESOURCE_TAGS"} <= set(variables), (function["name"], read)
