"""The security promises of this project as pure checks: resources in, violations out.

One module owns them so that the CrossGuard policy pack (`policy/__main__.py`, run by the Pulumi engine) and
`mlops check` (run offline on the resources a stack registers under mocks) enforce exactly the same rules.

A resource is what the engine shows a policy: its type token, logical name and input properties (camelCase).
Resource checks see one resource; stack checks see all of them, because a bucket's public access block,
encryption and policy are separate resources linked to it by the bucket's name (or, in the engine, by a
property dependency).
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

Level = Literal["mandatory", "advisory"]

BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION_TYPES = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
ENCRYPTION_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})
# Resource types whose `policy` input is an IAM policy document.
POLICY_DOCUMENT_TYPES = frozenset(
    {
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
        BUCKET_POLICY,
    }
)
ROLE = "aws:iam/role:Role"
# S3 objects allow only 10 tags each and are data, not infrastructure: their bucket carries the tags
# (mlops_component/components/tagging.py leaves them out for the same reason).
UNTAGGED_TYPES = frozenset({"aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"})


@dataclass(frozen=True)
class Resource:
    """One resource as a policy sees it.

    `key` identifies it (the URN in the engine, the logical name offline); `links` maps an input property to
    the keys of the resources it was computed from (the engine's property dependencies), which is how a
    public access block is tied to its bucket while the bucket's name is still unknown.
    """

    type: str
    name: str
    props: Mapping[str, Any]
    key: str = ""
    id: str | None = None
    links: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    """One broken promise: which policy, how serious, which resource, and what to do about it."""

    policy: str
    level: Level
    resource: str
    message: str

    def line(self) -> str:
        return f"{self.level} {self.policy} {self.resource}: {self.message}"


ResourceCheck = Callable[[Resource], list[str]]
StackCheck = Callable[[Sequence[Resource]], list[tuple[Resource, str]]]


@dataclass(frozen=True)
class Policy:
    """A named promise with exactly one of a resource check or a stack check."""

    name: str
    description: str
    level: Level
    check_resource: ResourceCheck | None = None
    check_stack: StackCheck | None = None


# --- policy documents --------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, str | Mapping) else list(value)


def _document(value: Any) -> Mapping[str, Any] | None:
    """A policy document from an input that is JSON text (as Pulumi passes it) or already a mapping.

    The engine's props are mappings and sequences (read-only proxies), not dicts and lists: every check here
    tests for `Mapping`, never `dict`.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, Mapping) else None


def policy_documents(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every IAM policy document a resource carries, with a label saying where it sits."""
    if resource.type in POLICY_DOCUMENT_TYPES:
        document = _document(resource.props.get("policy"))
        if document is not None:
            yield "policy", document
    if resource.type == ROLE:
        for inline in _as_list(resource.props.get("inlinePolicies")):
            document = _document(inline.get("policy")) if isinstance(inline, Mapping) else None
            if document is not None:
                yield f"inline policy {inline.get('name', '')!r}", document


def _allow_statements(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for index, statement in enumerate(_as_list(document.get("Statement"))):
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
            yield str(statement.get("Sid") or f"statement {index}"), statement


def _is_wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def wildcard_actions(resource: Resource) -> list[str]:
    """Allow statements granting `*`, `service:*` (`s3:*` included) or everything but a list (NotAction)."""
    problems = []
    for where, document in policy_documents(resource):
        for sid, statement in _allow_statements(document):
            wild = [a for a in _as_list(statement.get("Action")) if isinstance(a, str) and _is_wildcard(a)]
            if wild:
                problems.append(
                    f"{resource.name} {where}, {sid}: allows {', '.join(wild)}; list the actions it needs "
                    "(e.g. s3:GetObject, s3:PutObject) instead of a wildcard"
                )
            if "NotAction" in statement:
                problems.append(
                    f"{resource.name} {where}, {sid}: Allow with NotAction grants every other action; "
                    "list the actions it needs under Action instead"
                )
    return problems


def _grants_pass_role(actions: list[Any]) -> bool:
    wanted = "iam:passrole"
    for action in actions:
        if not isinstance(action, str):
            continue
        action = action.lower()
        if action in (wanted, "*", "iam:*") or (action.endswith("*") and wanted.startswith(action[:-1])):
            return True
    return False


def _has_condition_key(statement: Mapping[str, Any], key: str) -> bool:
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    return any(
        isinstance(block, Mapping) and any(k.lower() == key.lower() for k in block)
        for block in condition.values()
    )


def pass_role_without_service(resource: Resource) -> list[str]:
    """Allow statements that let a principal pass a role without saying to which service."""
    problems = []
    for where, document in policy_documents(resource):
        for sid, statement in _allow_statements(document):
            if _grants_pass_role(_as_list(statement.get("Action"))) and not _has_condition_key(
                statement, "iam:PassedToService"
            ):
                problems.append(
                    f"{resource.name} {where}, {sid}: allows iam:PassRole to any service; add "
                    '"Condition": {"StringEquals": {"iam:PassedToService": "<service>.amazonaws.com"}}'
                )
    return problems


# --- single resources --------------------------------------------------------------------------------------------


def log_retention(resource: Resource) -> list[str]:
    """Log groups keep their events for a bounded time (never-expiring logs cost money and hold data)."""
    if resource.type != LOG_GROUP:
        return []
    days = resource.props.get("retentionInDays")
    if isinstance(days, int | float) and days > 0:
        return []
    return [f"log group {resource.name} keeps its events forever; set retentionInDays (e.g. 30)"]


@cache
def supports_tags(resource_type: str) -> bool:
    """Whether an AWS resource type takes a `tags` input, read from the pulumi_aws args class."""
    package, _, rest = resource_type.partition(":")
    module, _, class_name = rest.partition(":")
    module = module.split("/")[0]
    if package != "aws" or resource_type in UNTAGGED_TYPES:
        return False
    for candidate in ("pulumi_aws" if module == "index" else f"pulumi_aws.{module}", f"pulumi_aws.{module}_"):
        try:
            args = getattr(importlib.import_module(candidate), f"{class_name}Args", None)
        except ImportError:
            continue
        if args is not None:
            return "tags" in inspect.signature(args.__init__).parameters
    return False


def tagged(resource: Resource) -> list[str]:
    """Every AWS resource that can carry tags carries some, so cost reports and clean-up find it."""
    if not supports_tags(resource.type) or resource.props.get("tags"):
        return []
    return [
        f"{resource.name} ({resource.type}) has no tags; set resourceTags in the stack config "
        "(the pipeline tags every resource with them) or pass tags to it"
    ]


# SageMaker resources a state machine creates at run time; Pulumi does not track them, only their tags find them.
_TAGGABLE_CREATES = (
    "createHyperParameterTuningJob",
    "createTrainingJob",
    "createModel",
    "createTransformJob",
    "createEndpointConfig",
    "createEndpoint",
    "createProcessingJob",
)


def _task_states(states: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []) or []:
            yield from _task_states(branch.get("States", {}))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, Mapping):
            yield from _task_states(processor.get("States", {}))


def run_time_resources_tagged(resource: Resource) -> list[str]:
    """Every SageMaker resource a state machine creates passes Tags."""
    if resource.type != STATE_MACHINE:
        return []
    definition = _document(resource.props.get("definition"))
    if definition is None:
        return []
    problems = []
    for name, state in _task_states(definition.get("States", {})):
        api = str(state.get("Resource", "")).rsplit(":", 1)[-1].removesuffix(".sync")
        if api in _TAGGABLE_CREATES and not (state.get("Parameters") or {}).get("Tags"):
            problems.append(
                f"state machine {resource.name}, state {name!r}: {api} creates a resource Pulumi does not "
                "track, without Tags; pass the stack's tags in its Parameters so clean-up can find it"
            )
    return problems


# --- buckets and the resources attached to them ------------------------------------------------------------------


def _attached(bucket: Resource, resources: Sequence[Resource], types: frozenset[str]) -> list[Resource]:
    """The resources of `types` that configure `bucket`: by property dependency, or by the bucket's name or id."""
    names = {bucket.props.get("bucket"), bucket.id} - {None}
    return [
        r
        for r in resources
        if r.type in types and (bucket.key in r.links.get("bucket", ()) or r.props.get("bucket") in names)
    ]


def _buckets(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type in BUCKET_TYPES]


def public_access_blocked(resources: Sequence[Resource]) -> list[tuple[Resource, str]]:
    """Every bucket has a public access block with all four flags on."""
    problems = []
    for bucket in _buckets(resources):
        blocks = _attached(bucket, resources, frozenset({PUBLIC_ACCESS_BLOCK}))
        if not blocks:
            problems.append(
                (
                    bucket,
                    f"bucket {bucket.name} has no public access block; add an aws.s3.BucketPublicAccessBlock "
                    f"for it with {', '.join(PUBLIC_ACCESS_FLAGS)} all true",
                )
            )
        for block in blocks:
            off = [flag for flag in PUBLIC_ACCESS_FLAGS if block.props.get(flag) is not True]
            if off:
                problems.append(
                    (
                        block,
                        f"public access block {block.name} of bucket {bucket.name}: set {', '.join(off)} true",
                    )
                )
    return problems


def _default_algorithms(rules: Any) -> set[str]:
    algorithms = set()
    for rule in _as_list(rules):
        default = rule.get("applyServerSideEncryptionByDefault") if isinstance(rule, Mapping) else None
        for value in _as_list(default):
            if isinstance(value, Mapping) and value.get("sseAlgorithm"):
                algorithms.add(str(value["sseAlgorithm"]))
    return algorithms


def encrypted(resources: Sequence[Resource]) -> list[tuple[Resource, str]]:
    """Every bucket encrypts new objects by default (SSE-S3 or SSE-KMS)."""
    problems = []
    for bucket in _buckets(resources):
        algorithms: set[str] = set()
        for config in _attached(bucket, resources, ENCRYPTION_TYPES):
            algorithms |= _default_algorithms(config.props.get("rules"))
        legacy = bucket.props.get("serverSideEncryptionConfiguration")
        if isinstance(legacy, Mapping):
            algorithms |= _default_algorithms(legacy.get("rule"))
        if not algorithms & ENCRYPTION_ALGORITHMS:
            problems.append(
                (
                    bucket,
                    f"bucket {bucket.name} has no default encryption; add an "
                    "aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm AES256 or aws:kms",
                )
            )
    return problems


def _denies_insecure_transport(statement: Any) -> bool:
    if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
        return False
    actions = _as_list(statement.get("Action"))
    if not any(a in ("*", "s3:*") for a in actions):
        return False
    principal = statement.get("Principal")
    if principal != "*" and not (isinstance(principal, Mapping) and principal.get("AWS") == "*"):
        return False
    condition = statement.get("Condition") or {}
    flag = (
        (condition.get("Bool") or {}).get("aws:SecureTransport") if isinstance(condition, Mapping) else None
    )
    return str(flag).lower() == "false"


def tls_only(resources: Sequence[Resource]) -> list[tuple[Resource, str]]:
    """Every bucket's policy denies every request made without TLS (aws:SecureTransport false)."""
    problems = []
    for bucket in _buckets(resources):
        statements = [
            statement
            for policy in _attached(bucket, resources, frozenset({BUCKET_POLICY}))
            for statement in _as_list((_document(policy.props.get("policy")) or {}).get("Statement"))
        ]
        if not any(_denies_insecure_transport(s) for s in statements):
            problems.append(
                (
                    bucket,
                    f"bucket {bucket.name} accepts requests without TLS; add a bucket policy statement "
                    'Deny, Principal "*", Action s3:*, on the bucket and bucket/*, with Condition '
                    '{"Bool": {"aws:SecureTransport": "false"}}',
                )
            )
    return problems


POLICIES: tuple[Policy, ...] = (
    Policy(
        "s3-bucket-private",
        "S3 buckets block all public access (a public access block with all four flags).",
        "mandatory",
        check_stack=public_access_blocked,
    ),
    Policy(
        "s3-bucket-encrypted",
        "S3 buckets encrypt objects by default (SSE-S3 or SSE-KMS).",
        "mandatory",
        check_stack=encrypted,
    ),
    Policy(
        "s3-bucket-tls-only",
        "S3 bucket policies deny requests made without TLS (aws:SecureTransport false).",
        "mandatory",
        check_stack=tls_only,
    ),
    Policy(
        "iam-no-wildcard-actions",
        "IAM, role inline and bucket policies allow no `*` or `service:*` action (s3:* included).",
        "mandatory",
        check_resource=wildcard_actions,
    ),
    Policy(
        "iam-pass-role-to-a-service",
        "iam:PassRole is allowed only with an iam:PassedToService condition.",
        "mandatory",
        check_resource=pass_role_without_service,
    ),
    Policy(
        "log-group-retention",
        "CloudWatch log groups expire their events (retentionInDays set).",
        "mandatory",
        check_resource=log_retention,
    ),
    Policy(
        "resources-tagged",
        "Every AWS resource that supports tags has tags.",
        "advisory",
        check_resource=tagged,
    ),
    Policy(
        "run-time-resources-tagged",
        "SageMaker resources created by a state machine at run time are tagged.",
        "advisory",
        check_resource=run_time_resources_tagged,
    ),
)


def evaluate(resources: Sequence[Resource], policies: Sequence[Policy] = POLICIES) -> list[Violation]:
    """Every violation of `policies` in a stack, resource checks first, in resource order."""
    violations = []
    for policy in policies:
        if policy.check_resource:
            for resource in resources:
                violations += [
                    Violation(policy.name, policy.level, resource.name, message)
                    for message in policy.check_resource(resource)
                ]
        if policy.check_stack:
            violations += [
                Violation(policy.name, policy.level, resource.name, message)
                for resource, message in policy.check_stack(resources)
            ]
    return violations
