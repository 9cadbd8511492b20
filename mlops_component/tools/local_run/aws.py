"""The embedded AWS of a local run: moto, in this process, with the stores and the state machine a stack has.

- The six stores get the names `naming.bucket_name` gives a deployment in moto's default account, and the
  settings `storage.SecureBucket` gives them: public access block, SSE-S3, enforced ownership, and versioning
  on the stores a deployment versions (so S3 events carry real version ids). The TLS-only policy is left out:
  moto ignores policy conditions, so it would deny everything; the requests never leave the process anyway.
- The training state machine is created from the real definition, so the trigger's StartExecution hits a real
  ARN. moto does not run it; the local run reads the execution's input back and runs the stages itself.
- Data lands with PutObject, and the trigger function receives the S3 notification that PutObject would
  send: the bucket, the URL-encoded key, the size, the ETag and the version id.

Nothing leaves the process: moto intercepts every AWS call, the clients carry dummy credentials, and the
environment variables that could point boto3 elsewhere (a profile, an endpoint URL) are hidden meanwhile.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import secrets
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

import boto3
from moto import mock_aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.tools.local_run.errors import LocalRunError
from mlops_component.tools.local_run.shipped import import_functions

# Which stores a deployment versions; shared with storage.SecureBucket so the two cannot drift.

ACCOUNT_ID = "123456789012"
"""moto's default account, which the local names carry."""
DEFAULT_REGION = "us-east-1"
_DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local-run",
    "AWS_SECRET_ACCESS_KEY": "local-run",
    "AWS_SESSION_TOKEN": "local-run",
}
# Settings that could send boto3 to a real account or another endpoint while the embedded AWS runs.
_HIDDEN_PREFIXES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE")


@dataclass(frozen=True)
class LandedObject:
    """One object a local run put into the feature store, and the notification S3 sends for it."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int

    @property
    def uri(self) -> str:
        """`s3://bucket/key`."""
        return f"s3://{self.bucket}/{self.key}"


@contextmanager
def environment_variables(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block, then put the old values back."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class EmbeddedAws:
    """moto in-process, as a context manager, with boto3 clients for S3 and Step Functions."""

    def __init__(self, name_prefix: str, region: str, *, feature_store: str | None = None) -> None:
        self.region = region
        self.name_prefix = name_prefix
        self.account = iam.Account(partition="aws", region=region, account_id=ACCOUNT_ID)
        self.buckets: dict[naming.Store, str] = {
            store: naming.bucket_name(name_prefix, store, ACCOUNT_ID, region) for store in naming.STORES
        }
        if feature_store:  # feature_store_override: a deployment uses that bucket, so the local run does too
            self.buckets["feature_store"] = feature_store
        self._mock = mock_aws()
        self._saved_environment: dict[str, str] = {}
        self.active = False
        self.s3: Any = None
        self.sfn: Any = None
        self.sagemaker: Any = None

    def start(self) -> EmbeddedAws:
        """Start intercepting AWS calls; create the clients."""
        self._saved_environment = {
            name: value for name, value in os.environ.items() if name.startswith(_HIDDEN_PREFIXES)
        }
        for name in self._saved_environment:
            del os.environ[name]
        self.active = True  # first: stop() must undo a start that was interrupted half-way
        self._mock.start()
        session = boto3.session.Session(
            aws_access_key_id=_DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=_DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )
        self.s3 = session.client("s3")
        self.sfn = session.client("stepfunctions")
        self.sagemaker = session.client("sagemaker")  # the model registry the trigger consults
        return self

    def stop(self) -> None:
        """Stop intercepting (everything stored is gone) and restore the hidden settings."""
        if self.active:
            self.active = False
            os.environ.update(self._saved_environment)
            with contextlib.suppress(RuntimeError):  # moto refuses to stop a mock whose start was cut short
                self._mock.stop()

    def __enter__(self) -> EmbeddedAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- Stores ---------------------------------------------------------------------------------------------------

    def create_stores(self) -> None:
        """Create the six buckets with the settings a deployment gives them."""
        for store, bucket in self.buckets.items():
            if self.region == "us-east-1":
                self.s3.create_bucket(Bucket=bucket)
            else:
                self.s3.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
                )
            self.s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            self.s3.put_bucket_ownership_controls(
                Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
            )
            self.s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
            # No TLS-only bucket policy: moto evaluates bucket policies without their conditions, so its
            # `aws:SecureTransport` deny would refuse every request. Nothing here leaves the process anyway.
            if store in naming.VERSIONED_STORES:
                self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def land(self, path: Path, prefix: str) -> LandedObject:
        """Put a local file into the feature store under `prefix`, as `pulumi up` (or a user) lands data."""
        bucket, key = self.buckets["feature_store"], prefix + path.name
        with path.open("rb") as body:
            response = self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
        return LandedObject(
            bucket=bucket,
            key=key,
            version_id=response.get("VersionId"),
            etag=str(response["ETag"]).strip('"'),
            size=path.stat().st_size,
        )

    # --- The state machine and the trigger ------------------------------------------------------------------------

    def create_model_package_group(self, name: str) -> str:
        """Create the stack's model package group, as the component does; return its name."""
        self.sagemaker.create_model_package_group(
            ModelPackageGroupName=name, ModelPackageGroupDescription="models that passed the metric gate"
        )
        return name

    def create_state_machine(self, name: str, definition: Mapping[str, Any]) -> str:
        """Create a state machine from its definition; return its ARN."""
        response = self.sfn.create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=self.account.arn("iam", f"role/{name}", regional=False),
        )
        return str(response["stateMachineArn"])

    def notify_trigger(
        self, landed: LandedObject, *, state_machine_arn: str, inference_mode: str, log_path: Path
    ) -> dict[str, Any]:
        """Invoke the trigger function with the notification for `landed`; return what it did."""
        deployment = naming.resource_name(self.name_prefix, naming.DEPLOYMENT_STATE_MACHINE)
        settings = {
            "STATE_MACHINE_ARN": state_machine_arn,
            "DEPLOYMENT_STATE_MACHINE_ARN": iam.state_machine_arn(self.account, deployment),
            "MODEL_PACKAGE_GROUP": naming.resource_name(self.name_prefix, naming.MODEL_PACKAGE_GROUP),
            "FEATURE_BUCKET": self.buckets["feature_store"],
            "INFERENCE_MODE": inference_mode,
            "TRAIN_PREFIX": layout.TRAIN_PREFIX,
            "SCORE_PREFIX": layout.SCORE_PREFIX,
        }
        result: dict[str, Any] = self.invoke(
            "trigger",
            s3_put_event(landed, self.region),
            environment=settings,
            clients={"sagemaker": self.sagemaker},
            log_path=log_path,
            stage="land",
        )
        return result

    def invoke(
        self,
        function: str,
        event: dict[str, Any],
        *,
        environment: dict[str, str],
        clients: dict[str, Any],
        log_path: Path,
        stage: str,
    ) -> Any:
        """Call `functions.<function>.handler(event, context)` as Lambda would, against the embedded AWS.

        The function gets the environment the component gives it, boto3 clients of the embedded AWS (plus
        `clients`, e.g. a local SageMaker), and its JSON log lines go to `log_path`, as they would go to its
        log group. An error the function raises on purpose stops the run with its message.
        """
        import_functions()
        from functions import common

        module = importlib.import_module(f"functions.{function}")
        for service, api in {"s3": self.s3, "stepfunctions": self.sfn, **clients}.items():
            common.set_client(service, api)
        context = SimpleNamespace(aws_request_id=str(uuid.uuid4()), function_name=function)
        try:
            with (
                environment_variables(**environment),
                log_path.open("a", encoding="utf-8") as log,
                redirect_stdout(log),
            ):
                return module.handler(event, context)
        except common.FunctionError as error:
            raise LocalRunError(
                stage, f"the {function} function failed: {type(error).__name__}: {error} (log: {log_path})"
            ) from None
        finally:
            common.reset_clients()

    def execution_input(self, execution_arn: str) -> dict[str, Any]:
        """The input the trigger started an execution with (what the state machine would read)."""
        described = self.sfn.describe_execution(executionArn=execution_arn)
        document: dict[str, Any] = json.loads(described["input"])
        return document

    # --- Keeping what the run wrote ---------------------------------------------------------------------------------

    def dump(self, folder: Path) -> int:
        """Copy every object's current version to `folder/<bucket>/<key>`; return how many there were."""
        root = folder.resolve()
        count = 0
        # Only the stores that exist: a run interrupted while creating them has fewer than six.
        existing = {bucket["Name"] for bucket in self.s3.list_buckets().get("Buckets", [])}
        for bucket in (name for name in self.buckets.values() if name in existing):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    target = (root / bucket / item["Key"]).resolve()
                    if item["Key"].endswith("/") or not target.is_relative_to(root / bucket):
                        continue  # folder placeholders, and keys that would climb out of the folder
                    target.parent.mkdir(parents=True, exist_ok=True)
                    self.s3.download_file(bucket, item["Key"], str(target))
                    count += 1
        return count


def s3_put_event(landed: LandedObject, region: str) -> dict[str, Any]:
    """The S3 notification (event version 2.1) for an object created by PutObject.

    Keys are URL-encoded with `+` for spaces, as S3 sends them; the ETag is unquoted.
    """
    now = datetime.now(UTC)
    obj: dict[str, Any] = {
        "key": quote_plus(landed.key, safe="/"),
        "size": landed.size,
        "eTag": landed.etag,
        "sequencer": f"{int(now.timestamp() * 1e6):016X}",
    }
    if landed.version_id is not None:
        obj["versionId"] = landed.version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": f"AWS:{ACCOUNT_ID}"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": secrets.token_hex(8).upper(),
                    "x-amz-id-2": secrets.token_urlsafe(48),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "local-run-trigger",
                    "bucket": {
                        "name": landed.bucket,
                        "ownerIdentity": {"principalId": ACCOUNT_ID},
                        "arn": iam.bucket_arn("aws", landed.bucket),
                    },
                    "object": obj,
                },
            }
        ]
    }
