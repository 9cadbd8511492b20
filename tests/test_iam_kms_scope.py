"""The stores' KMS key is usable only as the stores' code path needs it: through S3, and only to decrypt for
roles that never write (a leaked crawler credential cannot decrypt data outside S3 or encrypt new data)."""

from __future__ import annotations

from tests.test_iam_glue import KEY, crawler_policy


def test_the_crawler_may_only_decrypt_with_the_key_and_only_through_s3() -> None:
    policy = crawler_policy(bucket="p-features", prefixes=["data/train/"], kms_key_arn=KEY)
    (statement,) = [s for s in policy["Statement"] if s["Resource"] == KEY]
    assert statement["Action"] == ["kms:Decrypt"]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert not [s for s in crawler_policy()["Statement"] if any("kms:" in a for a in s["Action"])]
