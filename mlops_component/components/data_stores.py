"""The seed's six file stores: private, encrypted, TLS-only buckets, and the files a deployment uploads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.components.aws_account import account_or_lookup
from mlops_component.config.base import KmsKeyArn, LocalFile

_ABORT_MULTIPART_AFTER_DAYS = 7
_KEEP_NONCURRENT_VERSIONS_DAYS = 90


@dataclass(frozen=True)
class BucketRef:
    """A bucket the pipeline uses, whether this stack created it or only references it."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]


def file_sha256(path: str | Path) -> str:
    """Content hash of a local file, streamed so large data files are not read into memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def upload_file(
    name: str, bucket: pulumi.Input[str], prefix: str, path: str, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """Upload a local file to `bucket` under `prefix`; its content hash decides whether Pulumi uploads it again."""
    obj = aws.s3.BucketObjectv2(
        name,
        bucket=bucket,
        key=prefix + Path(path).name,
        source=pulumi.FileAsset(path),
        source_hash=file_sha256(path),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return obj.key


def _bucket_name(
    name_prefix: str, store: naming.Store, account: pulumi.Output[iam.Account]
) -> pulumi.Output[str]:
    return account.apply(lambda a: naming.bucket_name(name_prefix, store, a.account_id, a.region))


class SecureBucket(pulumi.ComponentResource):
    """One bucket with a full public access block, default encryption, enforced ownership and TLS-only access."""

    bucket_name: pulumi.Output[str]
    """The bucket's name."""
    arn: pulumi.Output[str]
    """The bucket's ARN."""

    def __init__(
        self,
        name: str,
        *,
        bucket_name: pulumi.Input[str],
        versioned: bool,
        kms_key_arn: str | None,
        force_destroy: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:index:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(f"{name}-bucket", bucket=bucket_name, force_destroy=force_destroy, opts=child)
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        self._encryption(name, bucket, kms_key_arn)
        # S3 rejects a bucket policy while the public access block is still being applied.
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(bucket.arn.apply(iam.tls_only_bucket_policy)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        self._lifecycle(name, bucket, versioned)

        self.bucket_name = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "arn": self.arn})

    def _encryption(self, name: str, bucket: aws.s3.Bucket, kms_key_arn: str | None) -> None:
        """Default encryption: the KMS key with a bucket key when one is given, SSE-S3 otherwise."""
        encryption_default: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgsDict = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
            if kms_key_arn
            else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": encryption_default,
                    # A bucket key cuts KMS request costs by ~99%; it is ignored for SSE-S3.
                    "bucket_key_enabled": kms_key_arn is not None,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _lifecycle(self, name: str, bucket: aws.s3.Bucket, versioned: bool) -> None:
        """Versioning when asked for, and lifecycle rules that clean up failed uploads and old versions."""
        lifecycle_rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {
                "id": "abort-incomplete-multipart-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": _ABORT_MULTIPART_AFTER_DAYS},
            }
        ]
        lifecycle_depends_on: list[pulumi.Resource] = []
        if versioned:
            versioning = aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=pulumi.ResourceOptions(parent=self),
            )
            lifecycle_depends_on.append(versioning)
            lifecycle_rules.append(
                {
                    "id": "expire-old-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": _KEEP_NONCURRENT_VERSIONS_DAYS},
                }
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=lifecycle_rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=lifecycle_depends_on),
        )


@dataclass(frozen=True)
class DataStoresArgs:
    """What `DataStores` needs: how to name the buckets, how to protect them, and the Glue script to upload."""

    name_prefix: str
    """Prefix of every bucket name: `<prefix>-<store>-<account id>-<region>`."""
    etl_script_path: LocalFile
    """Local Glue script uploaded to the source repository under `etl/`, for the ETL job to run."""
    kms_key_arn: KmsKeyArn | None = None
    """KMS key the buckets encrypt with by default; SSE-S3 (AES256) when None."""
    force_destroy: bool = False
    """Whether `pulumi destroy` may delete buckets that still hold objects."""
    existing_feature_store: pulumi.Input[str] | None = None
    """Name of an existing bucket to use as the feature store; it is only referenced, never created or changed."""
    account: pulumi.Input[iam.Account] | None = None
    """The account and region the bucket names are for; looked up from the AWS provider when None."""


class DataStores(pulumi.ComponentResource):
    """The feature store, source repository, extracts, models, metadata and output buckets."""

    buckets: dict[naming.Store, BucketRef]
    """Every store by its seed name, including a referenced feature store."""
    script_key: pulumi.Output[str]
    """Source-repository key of the uploaded Glue script."""
    bucket_names: pulumi.Output[dict[str, str]]
    """Bucket name of each store, keyed by the seed's store names (as `buckets`, for programs in any language)."""

    def __init__(self, name: str, args: DataStoresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:DataStores", name, None, opts)
        account = account_or_lookup(args.account, self)
        self.buckets = {}
        if args.existing_feature_store is not None:
            self.buckets["feature_store"] = _existing_bucket(args.existing_feature_store, account)
        for store in naming.STORES:
            if store not in self.buckets:
                self.buckets[store] = self._bucket(name, store, args, account)
        self.script_key = upload_file(
            f"{name}-etl-script",
            self.buckets["source_repository"].name,
            layout.ETL_CODE_PREFIX,
            args.etl_script_path,
            self,
        )
        self.bucket_names = pulumi.Output.all(
            **{store: ref.name for store, ref in self.buckets.items()}
        ).apply(dict)
        self.register_outputs({store: ref.name for store, ref in self.buckets.items()})

    def _bucket(
        self, name: str, store: naming.Store, args: DataStoresArgs, account: pulumi.Output[iam.Account]
    ) -> BucketRef:
        secure = SecureBucket(
            f"{name}-{naming.STORES[store]}",
            bucket_name=_bucket_name(args.name_prefix, store, account),
            versioned=store in naming.VERSIONED_STORES,
            kms_key_arn=args.kms_key_arn,
            force_destroy=args.force_destroy,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return BucketRef(name=secure.bucket_name, arn=secure.arn)


def _existing_bucket(bucket_name: pulumi.Input[str], account: pulumi.Output[iam.Account]) -> BucketRef:
    """A bucket that is only referenced: no resource, so nothing about the existing bucket can change."""
    name = pulumi.Output.from_input(bucket_name)
    arn = pulumi.Output.all(account, name).apply(lambda v: iam.bucket_arn(v[0].partition, v[1]))
    return BucketRef(name=name, arn=arn)


@dataclass(frozen=True)
class LandedDataArgs:
    """The local data files to land in the feature store."""

    feature_store_bucket: pulumi.Input[str]
    """Name of the feature store bucket the files are uploaded to."""
    train_file: LocalFile | None = None
    """Local training CSV, uploaded under `train/`."""
    score_file: LocalFile | None = None
    """Local scoring CSV, uploaded under `score/` (batch mode)."""


class LandedData(pulumi.ComponentResource):
    """The local train and score files, uploaded to the feature store's data prefixes.

    Uploading lands the data, so when the trigger exists (pass it in `opts.depends_on`) a changed file starts
    a run, exactly as if a user had copied it there.
    """

    train_key: pulumi.Output[str] | None
    """Feature-store key of the uploaded training file, when `train_file` is set."""
    score_key: pulumi.Output[str] | None
    """Feature-store key of the uploaded scoring file, when `score_file` is set."""

    def __init__(self, name: str, args: LandedDataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:LandedData", name, None, opts)
        bucket = args.feature_store_bucket
        self.train_key = self.score_key = None
        if args.train_file:
            self.train_key = upload_file(f"{name}-train", bucket, layout.TRAIN_PREFIX, args.train_file, self)
        if args.score_file:
            self.score_key = upload_file(f"{name}-score", bucket, layout.SCORE_PREFIX, args.score_file, self)
        self.register_outputs({"train_key": self.train_key, "score_key": self.score_key})
