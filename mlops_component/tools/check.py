"""`mlops check`: a stack's resources, built offline under recording mocks, run through the policy pack and the
IAM lint, so a team sees every broken promise before `pulumi up` (and CI sees it on every stack file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mlops_component.config import MlOpsConfig
from mlops_component.tools import policies
from mlops_component.tools.offline import Registered, run_program

IAM_LINT = "iam-lint"
# Parliament lints identity policies; a bucket policy's TLS-only Deny on s3:* is what the pack requires.
_LINTED_TYPES = policies.POLICY_DOCUMENT_TYPES - {policies.BUCKET_POLICY} | {policies.ROLE}


def stack_name(path: Path) -> str:
    """`dev` for `Pulumi.dev.yaml`: the stack a file configures."""
    parts = path.name.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "Pulumi" else "check"


def build(config: MlOpsConfig, stack: str = "check") -> list[Registered]:
    """Every resource the bundled program registers for `config` (as `__main__.py` builds it), offline."""
    from mlops_component.components.pipeline import MlOpsPipeline

    mocks, _ = run_program(lambda: MlOpsPipeline("mlops", config).bucket_names, stack=stack)
    return mocks.resources


def as_policy_resources(registered: Sequence[Registered]) -> list[policies.Resource]:
    """What the engine would show the policy pack; offline, a resource is known by its logical name."""
    return [policies.Resource(r.typ, r.name, r.inputs, key=r.name, id=r.id) for r in registered]


def lint_violations(resources: Sequence[policies.Resource]) -> list[policies.Violation]:
    """Parliament's findings, minus the accepted ones, on every identity policy of the stack."""
    from mlops_component.tools.iam_lint import lint

    violations = []
    for resource in resources:
        if resource.type not in _LINTED_TYPES:
            continue
        for where, document in policies.policy_documents(resource):
            violations += [
                policies.Violation(IAM_LINT, "mandatory", resource.name, f"{where}: {finding}")
                for finding in lint(dict(document))
            ]
    return violations


def check(resources: Sequence[policies.Resource]) -> list[policies.Violation]:
    """The pack's violations, then the lint's."""
    return policies.evaluate(resources) + lint_violations(resources)


def report(violations: Sequence[policies.Violation]) -> tuple[list[str], int]:
    """Lines to print and the exit status: 1 if any violation is mandatory."""
    lines = [v.line() for v in violations]
    counts = {level: sum(v.level == level for v in violations) for level in ("mandatory", "advisory")}
    lines.append(f"{counts['mandatory']} mandatory, {counts['advisory']} advisory violation(s)")
    return lines, 1 if counts["mandatory"] else 0
