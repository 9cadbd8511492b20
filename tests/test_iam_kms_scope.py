"""The stores' KMS key is usable only as the stores' code path needs it: through S3, and only to decrypt for
roles that never write (a leaked crawler credential cannot decrypt data outside S3 or encrypt new data), and only
to encrypt for roles that never read."""

from __future__ import annotations

from dataclasses import replace

from mlops_component.builders import iam
from tests.iam_checks import evaluate
from tests.test_iam_builders import ACCOUNT, deployment_targets, targets
from tests.test_iam_glue import KEY, crawler_policy


def test_the_crawler_may_only_decrypt_with_the_key_and_only_through_s3() -> None:
    policy = crawler_policy(bucket="p-features", prefixes=["data/train/"], kms_key_arn=KEY)
    (statement,) = [s for s in policy["Statement"] if s["Resource"] == KEY]
    assert statement["Action"] == ["kms:Decrypt"]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert not [s for s in crawler_policy()["Statement"] if any("kms:" in a for a in s["Action"])]


def test_roles_that_only_write_records_may_encrypt_with_the_key_but_never_decrypt() -> None:
    # S3 asks a writer for kms:GenerateDataKey on a single-part PutObject to an SSE-KMS bucket, and only a reader
    # (or a multipart upload) for kms:Decrypt. The workflows and the run-metadata function only PUT small JSON
    # records, so a leaked credential of theirs encrypts new records but decrypts nothing the stores hold.
    writers = {
        "training workflow": iam.state_machine_policy(ACCOUNT, replace(targets(True), kms_key_arn=KEY), tracing=False),
        "deployment workflow": iam.deployment_workflow_policy(ACCOUNT, deployment_targets(True, KEY), tracing=False),
        "run metadata": iam.run_metadata_function_policy(
            ACCOUNT, job_name="attrition", metadata_bucket="meta", metadata_prefix="runs/", kms_key_arn=KEY,
            log_group="/aws/lambda/mlops-run-metadata",
        ),
    }  # fmt: skip
    for name, policy in writers.items():
        assert evaluate(policy, "kms:GenerateDataKey", KEY) == "Allow", name
        assert evaluate(policy, "kms:Decrypt", KEY) == "ImplicitDeny", name


def test_sagemaker_jobs_may_read_and_write_data_encrypted_with_the_stores_key() -> None:
    # AWS's execution-role permissions: kms:Decrypt to read SSE-KMS input, and (through S3) a data key to write the
    # model and the predictions into buckets that encrypt with the key by default.
    policy = iam.sagemaker_execution_policy(
        ACCOUNT, iam.SageMakerTargets("ext", "mod", "out", None, None, KEY)
    )
    assert evaluate(policy, "kms:Decrypt", KEY) == "Allow"
    assert evaluate(policy, "kms:GenerateDataKey", KEY) == "Allow"
