"""What the data stores promise beyond their settings: the stores the trigger and the model registry read by
version keep every version, and S3 gets each bucket's settings in the order it accepts them."""

from __future__ import annotations

from collections.abc import Iterator

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from mlops_component import DataStores, DataStoresArgs, LandedData, LandedDataArgs
from mlops_component.assets import asset_path
from tests.pulumi_mocks import run_program
from tests.test_pipeline_storage import STORE_WORDS, deploy, settings_of

VERSIONED = {"features", "models"}


@pytest.fixture
def dependencies(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, set[str]]]:
    """Each registered resource's name -> the names of the resources it waits for (explicit and via inputs)."""
    recorded: dict[str, set[str]] = {}
    register = MockMonitor.RegisterResource

    def recording(self: MockMonitor, request):  # type: ignore[no-untyped-def]
        recorded[request.name] = {urn.rsplit("::", 1)[-1] for urn in request.dependencies}
        return register(self, request)

    monkeypatch.setattr(MockMonitor, "RegisterResource", recording)
    yield recorded


@pytest.fixture
def protected(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bool]]:
    """Each registered resource's name (the stack's aside) -> whether Pulumi registers it protected."""
    recorded: dict[str, bool] = {}
    register = MockMonitor.RegisterResource

    def recording(self: MockMonitor, request):  # type: ignore[no-untyped-def]
        if request.type != "pulumi:pulumi:Stack":
            recorded[request.name] = bool(request.protect)
        return register(self, request)

    monkeypatch.setattr(MockMonitor, "RegisterResource", recording)
    yield recorded


def test_protecting_the_stores_protects_every_bucket_setting_and_upload(protected, tmp_path) -> None:
    # A program guards its data with `protect=True` on the component: Pulumi passes that (and the provider) only to
    # the component's children, so every bucket, its settings and every uploaded file must sit under it; then
    # `pulumi destroy` refuses to delete any of them.
    train = tmp_path / "train.csv"
    train.write_text("EmployeeNumber,Attrition\n1,No\n")
    protect = pulumi.ResourceOptions(protect=True)

    def program() -> pulumi.Output[str]:
        args = DataStoresArgs(name_prefix="team", etl_script_path=str(asset_path("etl", "transform.py")))
        stores = DataStores("stores", args, opts=protect)
        LandedData(
            "landing", LandedDataArgs(stores.buckets["feature_store"].name, train_file=str(train)), protect
        )
        return stores.bucket_names

    run_program(program)
    # Two components; six stores of a component, a bucket and its five settings, and versioning for two; two uploads.
    assert len(protected) == 2 + 6 * 7 + 2 + 2
    assert [name for name, is_protected in protected.items() if not is_protected] == []


def test_the_feature_and_model_stores_keep_every_version(make_config) -> None:
    # The trigger starts a run with the landed object's version id; the registry points at model versions.
    mocks, _ = deploy(make_config())
    versioning = settings_of(mocks, "aws:s3/bucketVersioning:BucketVersioning")
    assert {word: v["versioningConfiguration"]["status"] for word, v in versioning.items()} == dict.fromkeys(
        VERSIONED, "Enabled"
    )
    for word, lifecycle in settings_of(
        mocks, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ).items():
        rules = {rule["id"]: rule for rule in lifecycle["rules"]}
        assert all(rule["status"] == "Enabled" for rule in rules.values()), word
        # Each rule covers every object: an empty filter. S3 rejects a rule with neither a filter nor a prefix
        # (PutBucketLifecycleConfiguration: "Filter is required if the LifecycleRule does not contain a Prefix").
        assert all(rule.get("filter") == {} and "prefix" not in rule for rule in rules.values()), word
        assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
            "daysAfterInitiation": 7
        }
        if word in VERSIONED:
            # Old versions go after 90 days, not the current one.
            assert rules["expire-old-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}


def test_each_bucket_policy_waits_for_its_public_access_block(make_config, dependencies) -> None:
    # S3 rejects a bucket policy while the bucket's public access block is still being applied.
    deploy(make_config())
    for word in STORE_WORDS:
        policy = next(
            name for name in dependencies if name.startswith(f"mlops-stores-{word}-") and "tls" in name
        )
        block = policy.replace("-tls-only", "-public-access")
        assert block in dependencies[policy], policy


def test_old_version_expiry_waits_for_versioning(make_config, dependencies) -> None:
    # A lifecycle rule on noncurrent versions needs versioning on the bucket first.
    deploy(make_config())
    for word in VERSIONED:
        lifecycle = next(
            n for n in dependencies if n.startswith(f"mlops-stores-{word}-") and "lifecycle" in n
        )
        assert lifecycle.replace("-lifecycle", "-versioning") in dependencies[lifecycle]


def test_without_a_kms_key_buckets_use_s3_managed_keys_without_a_bucket_key(make_config) -> None:
    mocks, _ = deploy(make_config())
    encryption = settings_of(
        mocks, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert {word: e["rules"][0]["bucketKeyEnabled"] for word, e in encryption.items()} == dict.fromkeys(
        STORE_WORDS, False
    )


def test_data_stores_used_alone_never_let_destroy_delete_data_and_encrypt_with_s3_keys() -> None:
    # A program that builds DataStores itself gets the same safe defaults the pipeline's config has.
    args = DataStoresArgs(name_prefix="team", etl_script_path=str(asset_path("etl", "transform.py")))
    mocks, _ = run_program(lambda: DataStores("stores", args).bucket_names)
    buckets = mocks.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 6 and all(b.inputs["forceDestroy"] is False for b in buckets)
    for encryption in mocks.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "AES256"
        }
