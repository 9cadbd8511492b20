"""One Lambda function from the `functions/` package, with its own role, policy and log group."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_component.builders import iam, lambda_package

RUNTIME = "python3.13"


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the functions: handler module, limits and purpose."""

    module: str
    description: str
    timeout_seconds: int = 60
    memory_mb: int = 256


def log_group_name(function_name: str) -> str:
    """The log group Lambda writes a function's logs to; created here so it has a retention period."""
    return f"/aws/lambda/{function_name}"


class PythonFunction(pulumi.ComponentResource):
    """A function whose role can do only what `policy` allows, logging to a group with retention."""

    function_name: pulumi.Output[str]
    """The function's name."""
    arn: pulumi.Output[str]
    """The function's ARN."""
    role_arn: pulumi.Output[str]
    """The ARN of the function's own execution role."""

    def __init__(
        self,
        name: str,
        *,
        function_name: str,
        spec: FunctionSpec,
        policy: pulumi.Input[str],
        environment: Mapping[str, pulumi.Input[str]],
        log_retention_days: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:index:PythonFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name(function_name),
            retention_in_days=log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            description=f"Execution role of the {function_name} function",
            assume_role_policy=json.dumps(iam.assume_role_policy("lambda.amazonaws.com")),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child)
        package = lambda_package.build(spec.module)
        function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description=spec.description,
            runtime=RUNTIME,
            architectures=["arm64"],  # pure Python: Graviton is cheaper for the same work
            handler=f"{lambda_package.PACKAGE}.{spec.module}.handler",
            role=role.arn,
            code=pulumi.FileArchive(str(package.path)),
            source_code_hash=package.sha256_base64,
            timeout=spec.timeout_seconds,
            memory_size=spec.memory_mb,
            environment={"variables": dict(environment)} if environment else None,
            logging_config={"log_group": log_group.name, "log_format": "Text"},
            # The role's policy must exist before the first invocation, or it fails on missing permissions.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )

        self.function_name = function.name
        self.arn = function.arn
        self.role_arn = role.arn
        self.register_outputs(
            {"function_name": self.function_name, "arn": self.arn, "role_arn": self.role_arn}
        )
