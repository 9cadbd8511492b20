"""The CrossGuard policy pack: wires the project's checks (mlops_component.tools.policies) to pulumi_policy.

The engine runs this file (`pulumi preview --policy-pack policy`); the checks themselves are pure functions
that `mlops check` runs offline too, so both enforce the same rules. Nothing here decides what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlops_component.tools import policies

PACK_NAME = "mlops-security"
LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def resource_validation(
    check: policies.ResourceCheck,
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """A validate callback that reports each message the check returns for the resource under validation."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = policies.Resource(args.resource_type, args.name, args.props, key=args.urn)
        for message in check(resource):
            report_violation(message, None)

    return validate


def stack_validation(check: policies.StackCheck) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A validate callback that reports each violation against the resource it names (by URN)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            policies.Resource(
                r.resource_type,
                r.name,
                r.props,
                key=r.urn,
                links={prop: [d.urn for d in deps] for prop, deps in r.property_dependencies.items()},
            )
            for r in args.resources
        ]
        for resource, message in check(resources):
            report_violation(message, resource.key)

    return validate


def crossguard_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """One CrossGuard policy per project policy, at the project policy's enforcement level."""
    wired: list[ResourceValidationPolicy | StackValidationPolicy] = []
    for policy in policies.POLICIES:
        level = LEVELS[policy.level]
        if policy.check_resource:
            wired.append(
                ResourceValidationPolicy(
                    policy.name, policy.description, resource_validation(policy.check_resource), level
                )
            )
        if policy.check_stack:
            wired.append(
                StackValidationPolicy(
                    policy.name, policy.description, stack_validation(policy.check_stack), level
                )
            )
    return wired


if __name__ == "__main__":
    # Starts the analyzer the engine talks to, prints its port and serves until the engine stops it.
    PolicyPack(PACK_NAME, crossguard_policies(), EnforcementLevel.MANDATORY)
