"""The pipeline's data stores under recording mocks: security settings, uploads, tags, outputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlops_component import MlOpsPipeline
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, run_program

BUCKET = "aws:s3/bucket:Bucket"
STORE_WORDS = ["features", "source", "extracts", "models", "metadata", "output"]


def deploy(config) -> tuple[RecordingMocks, dict]:
    def program() -> dict:
        pipeline = MlOpsPipeline("mlops", config)
        return {"bucket_names": pipeline.bucket_names, "summary": pipeline.summary}

    return run_program(program)


def settings_of(mocks: RecordingMocks, typ: str) -> dict[str, dict]:
    """Per-bucket settings resources of one type, keyed by their store word."""
    found = {}
    for resource in mocks.of_type(typ):
        word = next(w for w in STORE_WORDS if resource.name.startswith(f"mlops-stores-{w}-"))
        found[word] = resource.inputs
    return found


def test_six_secure_buckets_with_deterministic_names(make_config) -> None:
    mocks, outputs = deploy(make_config())
    names = sorted(r.inputs["bucket"] for r in mocks.of_type(BUCKET))
    assert names == sorted(f"mlops-test-{w}-{ACCOUNT_ID}-{REGION}" for w in STORE_WORDS)
    assert outputs["bucket_names"]["feature_store"] == f"mlops-test-features-{ACCOUNT_ID}-{REGION}"
    assert all(r.inputs.get("forceDestroy") is False for r in mocks.of_type(BUCKET))

    blocks = settings_of(mocks, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert set(blocks) == set(STORE_WORDS)
    for block in blocks.values():
        assert all(
            block[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )

    ownership = settings_of(mocks, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert {o["rule"]["objectOwnership"] for o in ownership.values()} == {"BucketOwnerEnforced"}
    assert set(ownership) == set(STORE_WORDS)

    encryption = settings_of(
        mocks, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert set(encryption) == set(STORE_WORDS)
    for enc in encryption.values():
        assert enc["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}

    policies = settings_of(mocks, "aws:s3/bucketPolicy:BucketPolicy")
    assert set(policies) == set(STORE_WORDS)
    for word, policy in policies.items():
        statement = json.loads(policy["policy"])["Statement"][0]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        bucket_arn = f"arn:aws:s3:::mlops-test-{word}-{ACCOUNT_ID}-{REGION}"
        assert statement["Resource"] == [bucket_arn, f"{bucket_arn}/*"]


def test_only_irreplaceable_stores_are_versioned_and_all_abort_multipart(make_config) -> None:
    mocks, _ = deploy(make_config())
    versioned = settings_of(mocks, "aws:s3/bucketVersioning:BucketVersioning")
    assert set(versioned) == {"features", "models"}
    lifecycles = settings_of(mocks, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert set(lifecycles) == set(STORE_WORDS)
    for word, lifecycle in lifecycles.items():
        rule_ids = {rule["id"] for rule in lifecycle["rules"]}
        assert "abort-incomplete-multipart-uploads" in rule_ids
        assert ("expire-old-versions" in rule_ids) == (word in {"features", "models"})


def test_kms_key_and_force_destroy_options(make_config) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    mocks, _ = deploy(make_config(kms_key_arn=key, force_destroy=True))
    for enc in settings_of(
        mocks, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).values():
        assert enc["rules"][0]["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": key,
        }
        assert enc["rules"][0]["bucketKeyEnabled"] is True
    assert all(r.inputs["forceDestroy"] is True for r in mocks.of_type(BUCKET))


def test_feature_store_override_is_referenced_not_created(make_config) -> None:
    mocks, outputs = deploy(make_config(feature_store_override="existing-features"))
    assert len(mocks.of_type(BUCKET)) == 5
    assert not any("features" in r.name for r in mocks.resources if r.typ.startswith("aws:s3/bucket"))
    assert outputs["bucket_names"]["feature_store"] == "existing-features"
    upload = mocks.named("mlops-landing-train")
    assert upload.inputs["bucket"] == "existing-features"


def test_uploads_are_keyed_by_content_hash(make_config, project_dir: Path) -> None:
    mocks, _ = deploy(make_config())
    expected = {
        "mlops-landing-train": ("data/train/train.csv", project_dir / "data" / "train.csv"),
        "mlops-landing-score": ("data/score/score.csv", project_dir / "data" / "score.csv"),
        "mlops-stores-etl-script": ("etl/transform.py", project_dir / "etl" / "transform.py"),
    }
    for name, (key, path) in expected.items():
        upload = mocks.named(name)
        assert upload.inputs["key"] == key
        assert upload.inputs["sourceHash"] == hashlib.sha256(path.read_bytes()).hexdigest()

    # A changed file changes the hash Pulumi compares, so only then is it uploaded again.
    (project_dir / "data" / "train.csv").write_text("EmployeeNumber,Attrition\n1,No\n")
    changed, _ = deploy(make_config())
    assert changed.named("mlops-landing-train").inputs["sourceHash"] != upload_hash(
        mocks, "mlops-landing-train"
    )
    assert changed.named("mlops-landing-score").inputs["sourceHash"] == upload_hash(
        mocks, "mlops-landing-score"
    )


def upload_hash(mocks: RecordingMocks, name: str) -> str:
    return mocks.named(name).inputs["sourceHash"]


def test_no_data_uploads_when_paths_are_null(make_config) -> None:
    mocks, _ = deploy(make_config(train_local_path=None, score_local_path=None))
    keys = [r.inputs["key"] for r in mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2")]
    assert keys == ["etl/transform.py"]


def test_every_taggable_resource_carries_the_tags(make_config) -> None:
    config = make_config()
    mocks, _ = deploy(config)
    taggable = [r for r in mocks.resources if r.typ.startswith("aws:") and "tags" in r.inputs]
    assert len(taggable) >= 6
    for resource in taggable:
        assert resource.inputs["tags"] == config.tags, resource.name
    # Resource types that accept tags must have received them (not only the ones that happened to set some).
    assert {r.typ for r in taggable} >= {BUCKET}


@pytest.mark.parametrize(
    ("mode", "has_score_line"), [("Batch Transform", True), ("Create Model Endpoint Config", False)]
)
def test_summary_says_what_was_created_and_how_to_start(make_config, mode: str, has_score_line: bool) -> None:
    _, outputs = deploy(make_config(endpoint_or_batch_transform=mode))
    summary = outputs["summary"]
    for word in STORE_WORDS:
        assert f"s3://mlops-test-{word}-{ACCOUNT_ID}-{REGION}" in summary
    assert f"s3://mlops-test-features-{ACCOUNT_ID}-{REGION}/data/train/train.csv" in summary
    assert ("data/score/score.csv" in summary) == has_score_line


def test_region_and_credentials_file_map_onto_an_explicit_provider(make_config, project_dir: Path) -> None:
    credentials = project_dir / "credentials"
    credentials.write_text("[default]\n")
    mocks, _ = deploy(
        make_config(aws_credentials_file=str(credentials), environment={"aws_region": "eu-west-1"})
    )
    provider = mocks.named("mlops-aws")
    assert provider.typ == "pulumi:providers:aws"
    assert provider.inputs["region"] == "eu-west-1"
    assert json.loads(provider.inputs["sharedCredentialsFiles"]) == [str(credentials)]

    ambient, _ = deploy(make_config())
    assert ambient.of_type("pulumi:providers:aws") == []
