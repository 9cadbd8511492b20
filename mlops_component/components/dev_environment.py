"""The development environment (`enable_dev_environment`): where a data scientist works before the pipeline runs.

- A SageMaker notebook instance, root access off, IMDSv2 only, optionally in a private subnet behind an
  HTTPS-only security group. Its lifecycle scripts (`mlops_component/builders/notebook_bundle/`) clone the project repository,
  lay it out cookiecutter-data-science style with example notebooks, configure `git push`, and stop the
  notebook after `idle_shutdown_minutes` without activity.
- The project's git repository: a CodeCommit repository, or an existing one (`git_repository_url` plus a
  Secrets Manager secret), registered as a SageMaker code repository and attached as the notebook's default.
- The seed's small data lake: a Glue catalog database with a crawler over the feature store's data prefixes,
  and an Athena workgroup (with a per-query scan limit) to explore it.
- Least-privilege roles: the notebook's (trusted by SageMaker only), the crawler's and, when enabled, the
  Glue interactive sessions' runtime role (each trusted by Glue only).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.builders.notebook_bundle import bundle
from mlops_component.components.aws_account import account_or_lookup
from mlops_component.components.data_stores import file_sha256
from mlops_component.config.base import InstanceType, KmsKeyArn

# A runaway query stops at 10 GB scanned (about $0.05 at Athena's list price), far above this data's size.
ATHENA_SCAN_LIMIT_BYTES = 10 * 1024**3
DATA_PREFIXES = [layout.TRAIN_PREFIX, layout.SCORE_PREFIX]
# Stores the notebook may read but not write.
_READ_ONLY_STORES: list[naming.Store] = ["extracts", "models", "metadata", "output"]


def data_prefixes(batch: bool) -> list[str]:
    """What the lake catalogs: the training data, and the scoring data in batch mode."""
    return DATA_PREFIXES if batch else [layout.TRAIN_PREFIX]


@dataclass(frozen=True)
class ExistingGitRepository:
    """A git repository that already exists, instead of a new CodeCommit repository."""

    url: str
    """HTTPS clone URL."""
    secret_arn: str
    """Secrets Manager secret with the `username` and `password` SageMaker clones with."""
    branch: str | None = None
    """Branch to check out; the repository's default when None."""


@dataclass(frozen=True)
class NotebookNetwork:
    """A private subnet for the notebook, with no direct internet access."""

    vpc_id: str
    """The VPC of `subnet_id`, where the notebook's HTTPS-only security group is created."""
    subnet_id: str
    """A private subnet; AWS APIs and git must be reachable from it over HTTPS."""


@dataclass(frozen=True)
class DevEnvironmentArgs:
    """What `DevEnvironment` needs: the stores and catalog it explores, and the notebook's settings."""

    name_prefix: str
    """Prefix of the notebook, repository, workgroup and lifecycle names."""
    job_name: str
    """The pipeline's job name (the notebook may describe the SageMaker jobs that start with it)."""
    batch: bool
    """Batch inference: the lake also holds the scoring data."""
    bucket_names: Mapping[naming.Store, pulumi.Input[str]]
    """The bucket of every store: the notebook reads them, lands data and writes to its sandbox."""
    database_name: pulumi.Input[str]
    """The Glue catalog database of the lake (the ETL's)."""
    crawler_name: pulumi.Input[str]
    """The crawler over the feature store (the ETL's), which the notebook runs after landing data."""
    instance_type: InstanceType = "ml.t3.medium"
    """Notebook instance type."""
    volume_size_in_gb: int = 20
    """Size of the notebook's storage volume."""
    platform_identifier: Literal["notebook-al2-v3", "notebook-al2023-v1"] = "notebook-al2-v3"
    """The notebook's platform."""
    idle_shutdown_minutes: int | None = 60
    """Stop the notebook after this many idle minutes; never when None."""
    root_access: bool = False
    """Root access for the notebook's users."""
    volume_kms_key_arn: KmsKeyArn | None = None
    """KMS key for the notebook's storage volume."""
    kms_key_arn: KmsKeyArn | None = None
    """KMS key the buckets are encrypted with, which the notebook may use through S3."""
    git_repository: ExistingGitRepository | None = None
    """The project's repository; a new CodeCommit repository when None."""
    retain_repository: bool = True
    """Leave a created CodeCommit repository (and its history) in the account on `pulumi destroy`."""
    enable_interactive_sessions: bool = False
    """A runtime role for Glue interactive sessions started from the notebook."""
    network: NotebookNetwork | None = None
    """A private subnet for the notebook; SageMaker's managed network when None."""
    state_machine_arn: pulumi.Input[str] | None = None
    """The training workflow, which the notebook may start."""
    endpoint_name: pulumi.Input[str] | None = None
    """The inference endpoint, which the notebook may call."""
    account: pulumi.Input[iam.Account] | None = None
    """The account and region ARNs are built for; looked up from the AWS provider when None."""


class DevEnvironment(pulumi.ComponentResource):
    """A notebook connected to a git repository, a Glue catalog of the feature store, and idle auto-stop."""

    notebook_name: pulumi.Output[str]
    """Name of the notebook instance."""
    notebook_url: pulumi.Output[str]
    """URL of the notebook's Jupyter server (sign in through the AWS console or a presigned URL)."""
    repository_clone_url: pulumi.Output[str]
    """HTTPS clone URL of the project repository."""
    code_repository_name: pulumi.Output[str]
    """The SageMaker code repository attached to the notebook."""
    database_name: pulumi.Output[str]
    """The Glue catalog database the lake's tables are in."""
    crawler_name: pulumi.Output[str]
    """The crawler over the feature store (the ETL's), which the notebook runs after landing data."""
    athena_workgroup: pulumi.Output[str]
    """The Athena workgroup for exploring the lake."""
    role_arn: pulumi.Output[str]
    """The notebook's execution role."""
    glue_session_role_arn: pulumi.Output[str] | None
    """The runtime role of Glue interactive sessions, when they are enabled."""
    summary: pulumi.Output[str]
    """How to open the notebook, clone the repository, and stop the notebook."""

    def __init__(
        self, name: str, args: DevEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:index:DevEnvironment", name, None, opts)
        self._args = args
        self._account = account = account_or_lookup(args.account, self)
        self._names = dict(args.bucket_names)
        self._notebook_name = naming.resource_name(args.name_prefix, "notebook")
        self.database_name = pulumi.Output.from_input(args.database_name)
        self.crawler_name = pulumi.Output.from_input(args.crawler_name)

        lake = self._lake()
        self.athena_workgroup = self._workgroup(name)
        self.glue_session_role_arn = self._glue_session_role(name, lake)
        clone_url, codecommit_arn, code_repository = self._repository(name)
        role, role_policy = self._notebook_role(name, lake, codecommit_arn)
        bundle_objects = self._bundle(name, self._notebook_stack(clone_url))
        lifecycle = aws.sagemaker.NotebookInstanceLifecycleConfiguration(
            f"{name}-lifecycle",
            name=naming.resource_name(args.name_prefix, "notebook-lifecycle"),
            on_create=bundle.lifecycle_content("on-create"),
            on_start=bundle.lifecycle_content("on-start"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        notebook = self._notebook(
            name,
            role=role,
            lifecycle=lifecycle,
            code_repository=code_repository,
            # The role's permissions and the bundle must exist before the lifecycle scripts first run.
            depends_on=[role_policy, *bundle_objects],
        )

        self.repository_clone_url = clone_url
        self.code_repository_name = code_repository.code_repository_name
        self.role_arn = role.arn
        self.notebook_name = notebook.name
        self.notebook_url = notebook.url
        self.summary = pulumi.Output.all(notebook.name, notebook.url, clone_url, account).apply(
            lambda v: render_summary(
                instance_type=args.instance_type,
                idle_shutdown_minutes=args.idle_shutdown_minutes,
                notebook_name=v[0],
                url=v[1],
                clone_url=v[2],
                region=v[3].region,
            )
        )
        self.register_outputs(
            {
                "notebook_name": self.notebook_name,
                "notebook_url": self.notebook_url,
                "repository_clone_url": self.repository_clone_url,
                "code_repository_name": self.code_repository_name,
                "database_name": self.database_name,
                "crawler_name": self.crawler_name,
                "athena_workgroup": self.athena_workgroup,
                "role_arn": self.role_arn,
                "glue_session_role_arn": self.glue_session_role_arn,
                "summary": self.summary,
            }
        )

    # --- The small data lake -------------------------------------------------------------------------------------
    def _lake(self) -> pulumi.Output[iam.LakeTargets]:
        args = self._args
        return pulumi.Output.all(self._names["feature_store"], self.database_name).apply(
            lambda v: iam.LakeTargets(
                feature_bucket=v[0],
                data_prefixes=data_prefixes(args.batch),
                sandbox_prefix=layout.SANDBOX_PREFIX,
                database_name=v[1],
                kms_key_arn=args.kms_key_arn,
            )
        )

    def _workgroup(self, name: str) -> pulumi.Output[str]:
        """An Athena workgroup with a per-query scan limit, writing results to the output store."""
        args = self._args
        prefix = args.name_prefix
        workgroup = aws.athena.Workgroup(
            f"{name}-athena",
            name=naming.resource_name(prefix, "explore"),
            description=f"Exploring the {prefix} data lake from the development environment",
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": ATHENA_SCAN_LIMIT_BYTES,
                "result_configuration": {
                    "output_location": pulumi.Output.concat(
                        "s3://", self._names["output"], "/", layout.ATHENA_RESULTS_PREFIX
                    ),
                    "encryption_configuration": (
                        {"encryption_option": "SSE_KMS", "kms_key_arn": args.kms_key_arn}
                        if args.kms_key_arn
                        else {"encryption_option": "SSE_S3"}
                    ),
                },
            },
            # Deleting the workgroup also deletes its saved queries and history; results stay in S3.
            force_destroy=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return workgroup.name

    def _glue_session_role(
        self, name: str, lake: pulumi.Output[iam.LakeTargets]
    ) -> pulumi.Output[str] | None:
        """The runtime role of Glue interactive sessions, when they are enabled."""
        if not self._args.enable_interactive_sessions:
            return None
        child = pulumi.ResourceOptions(parent=self)
        session_role = aws.iam.Role(
            f"{name}-glue-session-role",
            description=f"Runs Glue interactive sessions started from the {self._notebook_name} notebook",
            assume_role_policy=json.dumps(iam.assume_role_policy("glue.amazonaws.com")),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-glue-session-policy",
            role=session_role.id,
            policy=pulumi.Output.all(self._account, lake, self._names["extracts"]).apply(
                lambda v: json.dumps(iam.glue_session_policy(v[0], lake=v[1], extracts_bucket=v[2]))
            ),
            opts=child,
        )
        return session_role.arn

    # --- The git repository --------------------------------------------------------------------------------------
    def _repository(
        self, name: str
    ) -> tuple[pulumi.Output[str], pulumi.Output[str] | None, aws.sagemaker.CodeRepository]:
        """The project repository (created in CodeCommit, or the existing one), registered with SageMaker.

        Returns its clone URL, the CodeCommit repository's ARN (None for an existing one) and the registration.
        """
        args = self._args
        repository_name = naming.resource_name(args.name_prefix, "project")
        codecommit_arn: pulumi.Output[str] | None = None
        existing = args.git_repository
        if existing is None:
            repository = aws.codecommit.Repository(
                f"{name}-repository",
                repository_name=repository_name,
                description=f"The {args.name_prefix} data science project, cloned into the development notebook",
                # Like the buckets' force_destroy: unless it is set, `pulumi destroy` leaves the repository and
                # its history in the account (delete it yourself, or `pulumi import` it into a new stack).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_repository),
            )
            clone_url: pulumi.Output[str] = repository.clone_url_http
            codecommit_arn = repository.arn
            git_config: aws.sagemaker.CodeRepositoryGitConfigArgsDict = {"repository_url": clone_url}
        else:
            clone_url = pulumi.Output.from_input(existing.url)
            git_config = {"repository_url": existing.url, "secret_arn": existing.secret_arn}
            if existing.branch:
                git_config["branch"] = existing.branch
        code_repository = aws.sagemaker.CodeRepository(
            f"{name}-code-repository",
            code_repository_name=repository_name,
            git_config=git_config,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return clone_url, codecommit_arn, code_repository

    # --- The notebook's role -------------------------------------------------------------------------------------
    def _notebook_role(
        self, name: str, lake: pulumi.Output[iam.LakeTargets], codecommit_arn: pulumi.Output[str] | None
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        args = self._args
        names = self._names
        git_secret_arn = args.git_repository.secret_arn if args.git_repository else None
        role = aws.iam.Role(
            f"{name}-notebook-role",
            description=f"Runs the {self._notebook_name} notebook instance",
            # No aws:SourceAccount condition: SageMaker does not document it for notebook instances, and only
            # someone in this account allowed to pass this role can give it to a notebook.
            assume_role_policy=json.dumps(iam.assume_role_policy("sagemaker.amazonaws.com")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = pulumi.Output.all(
            account=self._account,
            lake=lake,
            read_buckets=[names[store] for store in _READ_ONLY_STORES],
            source=names["source_repository"],
            output=names["output"],
            workgroup=self.athena_workgroup,
            crawler=self.crawler_name,
            codecommit=codecommit_arn,
            state_machine=args.state_machine_arn,
            endpoint=args.endpoint_name,
            session_role=self.glue_session_role_arn,
        ).apply(
            lambda v: json.dumps(
                iam.notebook_policy(
                    v["account"],
                    iam.NotebookTargets(
                        notebook_name=self._notebook_name,
                        job_name=args.job_name,
                        lake=v["lake"],
                        read_buckets=list(v["read_buckets"]),
                        bundle_bucket=v["source"],
                        bundle_prefix=layout.BUNDLE_PREFIX,
                        athena_workgroup=v["workgroup"],
                        athena_results_bucket=v["output"],
                        athena_results_prefix=layout.ATHENA_RESULTS_PREFIX,
                        crawler_name=v["crawler"],
                        codecommit_repository_arn=v["codecommit"],
                        git_secret_arn=git_secret_arn,
                        state_machine_arn=v["state_machine"],
                        endpoint_name=v["endpoint"],
                        glue_session_role_arn=v["session_role"],
                    ),
                )
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-notebook-policy", role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=self)
        )
        return role, role_policy

    # --- What the notebook downloads at start, and its lifecycle scripts -----------------------------------------
    def _notebook_stack(self, clone_url: pulumi.Output[str]) -> pulumi.Output[bundle.NotebookStack]:
        """The stack settings the notebook's bundle is generated from."""
        args = self._args
        existing = args.git_repository
        return pulumi.Output.all(
            account=self._account,
            buckets=pulumi.Output.all(**self._names),
            database=self.database_name,
            crawler=self.crawler_name,
            workgroup=self.athena_workgroup,
            clone_url=clone_url,
            state_machine=args.state_machine_arn,
            endpoint=args.endpoint_name,
            session_role=self.glue_session_role_arn,
        ).apply(
            lambda v: bundle.NotebookStack(
                region=v["account"].region,
                name_prefix=args.name_prefix,
                job_name=args.job_name,
                notebook_name=self._notebook_name,
                batch=args.batch,
                buckets=dict(v["buckets"]),
                prefixes={
                    "train": layout.TRAIN_PREFIX,
                    "score": layout.SCORE_PREFIX,
                    "runs": layout.METADATA_PREFIX,
                    "predictions": layout.PREDICTIONS_PREFIX,
                    "train_extract": f"{layout.TRAIN_CHANNEL_PREFIX}train.csv",
                },
                database_name=v["database"],
                crawler_name=v["crawler"],
                athena_workgroup=v["workgroup"],
                repository=bundle.RepositorySettings(
                    kind="external" if existing else "codecommit",
                    clone_url=v["clone_url"],
                    branch=existing.branch if existing else None,
                    secret_arn=existing.secret_arn if existing else None,
                ),
                idle_shutdown_minutes=args.idle_shutdown_minutes,
                state_machine_arn=v["state_machine"],
                endpoint_name=v["endpoint"],
                glue_session_role_arn=v["session_role"],
            )
        )

    # --- The notebook --------------------------------------------------------------------------------------------
    def _notebook(
        self,
        name: str,
        *,
        role: aws.iam.Role,
        lifecycle: aws.sagemaker.NotebookInstanceLifecycleConfiguration,
        code_repository: aws.sagemaker.CodeRepository,
        depends_on: list[pulumi.Resource],
    ) -> aws.sagemaker.NotebookInstance:
        """Root access off, IMDSv2 only, the lifecycle scripts, and the project repository as its default."""
        args = self._args
        return aws.sagemaker.NotebookInstance(
            f"{name}-notebook",
            name=self._notebook_name,
            role_arn=role.arn,
            instance_type=args.instance_type,
            volume_size=args.volume_size_in_gb,
            platform_identifier=args.platform_identifier,
            root_access="Enabled" if args.root_access else "Disabled",
            kms_key_id=args.volume_kms_key_arn,
            lifecycle_config_name=lifecycle.name,
            default_code_repository=code_repository.code_repository_name,
            instance_metadata_service_configuration={"minimum_instance_metadata_service_version": "2"},
            # The lifecycle scripts find the bundle through this tag.
            tags={
                bundle.BUNDLE_TAG: pulumi.Output.concat(
                    "s3://", self._names["source_repository"], "/", layout.BUNDLE_PREFIX
                )
            },
            **self._network(name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    def _bundle(self, name: str, stack: pulumi.Output[bundle.NotebookStack]) -> list[aws.s3.BucketObjectv2]:
        """Upload the bundle under the source repository's `devenv/`: fixed files by content hash, then the
        generated stack settings and notebooks."""
        objects = [
            aws.s3.BucketObjectv2(
                f"{name}-bundle-{key.replace('/', '-').replace('.', '-')}",
                bucket=self._names["source_repository"],
                key=layout.BUNDLE_PREFIX + key,
                source=pulumi.FileAsset(str(path)),
                source_hash=file_sha256(path),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, path in bundle.static_files().items()
        ]
        documents = stack.apply(bundle.generated_documents)
        for key in bundle.generated_keys(
            batch=self._args.batch, glue_sessions=self._args.enable_interactive_sessions
        ):
            objects.append(
                aws.s3.BucketObjectv2(
                    f"{name}-bundle-{key.replace('/', '-').replace('.', '-')}",
                    bucket=self._names["source_repository"],
                    key=layout.BUNDLE_PREFIX + key,
                    content=documents.apply(operator.itemgetter(key)),
                    content_type="application/json",
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return objects

    def _network(self, name: str) -> dict[str, Any]:
        """A private subnet, no direct internet access and an HTTPS-only security group, when `network` is
        given; SageMaker's managed network otherwise."""
        network = self._args.network
        if network is None:
            return {"direct_internet_access": "Enabled"}
        group = aws.ec2.SecurityGroup(
            f"{name}-notebook-sg",
            vpc_id=network.vpc_id,
            description="SageMaker notebook: no inbound traffic; outbound HTTPS only",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # AWS APIs (through VPC endpoints or a NAT gateway) and git both speak HTTPS; nothing else leaves.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-notebook-https-out",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="HTTPS to AWS APIs and the git host",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {
            "direct_internet_access": "Disabled",
            "subnet_id": network.subnet_id,
            "security_groups": [group.id],
        }


def render_summary(
    *,
    instance_type: str,
    idle_shutdown_minutes: int | None,
    notebook_name: str,
    url: str,
    clone_url: str,
    region: str,
) -> str:
    """The development environment's part of the stack summary."""
    idle = (
        f"stops itself after {idle_shutdown_minutes} idle minutes"
        if idle_shutdown_minutes
        else "idle auto-stop is OFF"
    )
    return "\n".join(
        [
            f"Development notebook '{notebook_name}' ({instance_type}, {idle}):",
            f"  open    https://{url}" if url and not url.startswith("https://") else f"  open    {url}",
            f"  clone   git clone {clone_url}",
            f"  stop    aws sagemaker stop-notebook-instance --region {region} --notebook-instance-name {notebook_name}",
        ]
    )
