"""The one place tags are applied: a transformation on the top component that reaches every descendant."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

# S3 objects allow only 10 tags and are data, not infrastructure; their bucket carries the tags.
_UNTAGGED_TYPES = frozenset({"aws:s3/bucketObjectv2:BucketObjectv2"})


def tag_everything(tags: Mapping[str, str]) -> pulumi.ResourceTransformation:
    """A transformation that merges `tags` into every resource with a `tags` input.

    Resource-level tags win over the shared ones. This uses `transformations` rather than the newer
    `transforms` because it runs in this process, for every child, under any engine, including the test
    mocks (which do not run `transforms`).
    """

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if "tags" not in args.props or args.type_ in _UNTAGGED_TYPES:
            return None
        own = args.props["tags"]
        merged = (
            pulumi.Output.from_input(own).apply(lambda own_tags: {**tags, **(own_tags or {})})
            if own is not None
            else dict(tags)
        )
        return pulumi.ResourceTransformationResult(props={**args.props, "tags": merged}, opts=args.opts)

    return transform
