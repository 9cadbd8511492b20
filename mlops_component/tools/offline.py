"""A recording `pulumi.runtime.Mocks`: builds a program offline and keeps every resource it registered.

The tests use it to assert on what a component registers; `mlops check` uses it to run the policy pack over a
stack without the Pulumi engine. Answers look like a small AWS account, so policies built from them are real
(ARNs of the right shape, ids as the mocks assign them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"
ECR_PASSWORD = "mock-ecr-password"


@dataclass
class Registered:
    """One resource as the engine saw it: type token, logical name, and the inputs it was given."""

    typ: str
    name: str
    inputs: dict[str, Any]
    id: str = ""


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers resource and invoke calls like a small AWS account, and records every resource."""

    def __init__(self) -> None:
        self.resources: list[Registered] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        physical = args.inputs.get("name") or args.inputs.get("bucket") or args.name
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), f"{physical}-id"))
        state = {**args.inputs, "arn": _arn(args.typ, physical)}
        if args.typ == "aws:s3/bucket:Bucket":
            state["bucket"] = physical
        if args.typ == "aws:codecommit/repository:Repository":
            name = args.inputs["repositoryName"]
            state["arn"] = _arn(args.typ, name)
            state["cloneUrlHttp"] = f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{name}"
        if args.typ == "aws:sagemaker/notebookInstance:NotebookInstance":
            state["url"] = f"{physical}.notebook.{REGION}.sagemaker.aws"
        if args.typ == "aws:ecr/repository:Repository":
            state["registryId"] = ACCOUNT_ID
            state["repositoryUrl"] = f"{REGISTRY}/{physical}"
        if args.typ == "docker:index/image:Image":
            # What a push reports: the repository (name without tag) pinned by the manifest's digest.
            repository = args.inputs["imageName"].rsplit(":", 1)[0]
            digest = hashlib.sha256(args.inputs["imageName"].encode()).hexdigest()
            state["repoDigest"] = f"{repository}@sha256:{digest}"
            state["baseImageName"] = args.inputs["imageName"]
        return f"{physical}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self._answer(args), []

    def _answer(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/test", "userId": "test"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "authorizationToken": "QVdTOm1vY2stcGFzc3dvcmQ=",
                "userName": "AWS",
                "password": ECR_PASSWORD,
                "proxyEndpoint": f"https://{REGISTRY}",
                "expiresAt": "2030-01-01T00:00:00Z",
                "id": REGISTRY,
            }
        return {}

    # --- queries used by the tests -----------------------------------------------------------------------------
    def of_type(self, typ: str) -> list[Registered]:
        """Every registered resource of one type token."""
        return [r for r in self.resources if r.typ == typ]

    def named(self, name: str) -> Registered:
        """The resource with this logical name."""
        matches = [r for r in self.resources if r.name == name]
        assert len(matches) == 1, f"expected one resource named {name!r}, found {len(matches)}"
        return matches[0]


# ARN shapes of the resource types the component creates, so policies built from them lint as real ones.
_ARN_FORMATS = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{name}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{name}",
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws:sfn/stateMachine:StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "aws:ecr/repository:Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "aws:glue/job:Job": "arn:aws:glue:{region}:{account}:job/{name}",
    "aws:glue/crawler:Crawler": "arn:aws:glue:{region}:{account}:crawler/{name}",
    "aws:glue/catalogDatabase:CatalogDatabase": "arn:aws:glue:{region}:{account}:database/{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws:sagemaker/notebookInstance:NotebookInstance": "arn:aws:sagemaker:{region}:{account}:notebook-instance/{name}",
    "aws:codecommit/repository:Repository": "arn:aws:codecommit:{region}:{account}:{name}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{region}:{account}:rule/{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
}


def _arn(typ: str, physical: str) -> str:
    service = typ.split(":")[1].split("/")[0]
    template = _ARN_FORMATS.get(typ, "arn:aws:" + service + ":{region}:{account}:{name}")
    return template.format(region=REGION, account=ACCOUNT_ID, name=physical)


def run_program(
    program: Callable[[], Any], project: str = "mlops", stack: str = "test"
) -> tuple[RecordingMocks, Any]:
    """Run `program` under fresh mocks, as stack `stack` of project `project`, and wait for every registration.

    Returns the recording and the resolved value of whatever `program` returned (Outputs included).
    """
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    resolved: dict[str, Any] = {}

    def program_and_outputs() -> pulumi.Output[Any]:
        return pulumi.Output.from_input(program()).apply(lambda value: resolved.setdefault("value", value))

    pulumi.runtime.test(program_and_outputs)()
    return mocks, resolved.get("value")
