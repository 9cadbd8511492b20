"""The AWS account, region and partition a component builds ARNs and names for."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_component.builders import iam


def lookup_account(
    parent: pulumi.Resource, provider: pulumi.ProviderResource | None = None
) -> pulumi.Output[iam.Account]:
    """The account, region and partition of `provider` (or the ambient provider), looked up once."""
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=provider)
    account_id = aws.get_caller_identity_output(opts=invoke).account_id
    region = aws.get_region_output(opts=invoke).region
    partition = aws.get_partition_output(opts=invoke).partition
    return pulumi.Output.all(partition, region, account_id).apply(lambda ids: iam.Account(*ids))


def account_or_lookup(
    account: pulumi.Input[iam.Account] | None, parent: pulumi.Resource
) -> pulumi.Output[iam.Account]:
    """The account a caller gave, or the ambient provider's, looked up under `parent`."""
    if account is None:
        return lookup_account(parent)
    return pulumi.Output.from_input(account)
