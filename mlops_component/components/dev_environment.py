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
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.builders.notebook_bundle import bundle
from mlops_component.components.data_stores import BucketRef, file_sha256
from mlops_component.config import MlOpsConfig

# A runaway query stops at 10 GB scanned (about $0.05 at Athena's list price), far above this data's size.
ATHENA_SCAN_LIMIT_BYTES = 10 * 1024**3
DATA_PREFIXES = [layout.TRAIN_PREFIX, layout.SCORE_PREFIX]
# Stores the notebook may read but not write.
_READ_ONLY_STORES: list[naming.Store] = ["extracts", "models", "metadata", "output"]


def data_prefixes(config: MlOpsConfig) -> list[str]:
    """What the lake catalogs: the training data, and the scoring data in batch mode."""
    return DATA_PREFIXES if config.is_batch else [layout.TRAIN_PREFIX]


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
        self,
        name: str,
        config: MlOpsConfig,
        *,
        account: pulumi.Output[iam.Account],
        buckets: dict[naming.Store, BucketRef],
        database_name: pulumi.Input[str],
        crawler_name: pulumi.Input[str],
        state_machine_arn: pulumi.Input[str] | None = None,
        endpoint_name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """The lake is the ETL's catalog: `database_name` and its feature-store crawler `crawler_name`.
        `state_machine_arn` and `endpoint_name` let the notebook start runs and call the endpoint.
        """
        super().__init__("mlops:index:DevEnvironment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = config.dev_environment
        prefix = config.name_prefix
        notebook_name = naming.resource_name(prefix, "notebook")
        names = {store: ref.name for store, ref in buckets.items()}

        # --- The small data lake ------------------------------------------------------------------------------
        self.database_name = pulumi.Output.from_input(database_name)
        self.crawler_name = pulumi.Output.from_input(crawler_name)
        lake = pulumi.Output.all(names["feature_store"], self.database_name).apply(
            lambda v: iam.LakeTargets(
                feature_bucket=v[0],
                data_prefixes=data_prefixes(config),
                sandbox_prefix=layout.SANDBOX_PREFIX,
                database_name=v[1],
                kms_key_arn=config.kms_key_arn,
            )
        )
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
                        "s3://", names["output"], "/", layout.ATHENA_RESULTS_PREFIX
                    ),
                    "encryption_configuration": (
                        {"encryption_option": "SSE_KMS", "kms_key_arn": config.kms_key_arn}
                        if config.kms_key_arn
                        else {"encryption_option": "SSE_S3"}
                    ),
                },
            },
            # Deleting the workgroup also deletes its saved queries and history; results stay in S3.
            force_destroy=True,
            opts=child,
        )
        self.athena_workgroup = workgroup.name

        # --- Glue interactive sessions' runtime role -------------------------------------------------------
        self.glue_session_role_arn = None
        if settings.enable_interactive_sessions:
            session_role = aws.iam.Role(
                f"{name}-glue-session-role",
                description=f"Runs Glue interactive sessions started from the {notebook_name} notebook",
                assume_role_policy=json.dumps(iam.assume_role_policy("glue.amazonaws.com")),
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-glue-session-policy",
                role=session_role.id,
                policy=pulumi.Output.all(account, lake, names["extracts"]).apply(
                    lambda v: json.dumps(iam.glue_session_policy(v[0], lake=v[1], extracts_bucket=v[2]))
                ),
                opts=child,
            )
            self.glue_session_role_arn = session_role.arn

        # --- The git repository ---------------------------------------------------------------------------------
        repository_name = naming.resource_name(prefix, "project")
        codecommit_arn: pulumi.Output[str] | None = None
        if settings.uses_codecommit:
            repository = aws.codecommit.Repository(
                f"{name}-repository",
                repository_name=repository_name,
                description=f"The {prefix} data science project, cloned into the development notebook",
                # Like the buckets' force_destroy: unless it is set, `pulumi destroy` leaves the repository and
                # its history in the account (delete it yourself, or `pulumi import` it into a new stack).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=not config.force_destroy),
            )
            clone_url: pulumi.Output[str] = repository.clone_url_http
            codecommit_arn = repository.arn
            git_config: aws.sagemaker.CodeRepositoryGitConfigArgsDict = {"repository_url": clone_url}
        else:
            assert settings.git_repository_url is not None  # validated: URL and secret go together
            clone_url = pulumi.Output.from_input(settings.git_repository_url)
            git_config = {
                "repository_url": settings.git_repository_url,
                "secret_arn": settings.git_secret_arn,
            }
            if settings.git_branch:
                git_config["branch"] = settings.git_branch
        code_repository = aws.sagemaker.CodeRepository(
            f"{name}-code-repository",
            code_repository_name=repository_name,
            git_config=git_config,
            opts=child,
        )
        self.repository_clone_url = clone_url
        self.code_repository_name = code_repository.code_repository_name

        # --- The notebook's role ---------------------------------------------------------------------------------
        role = aws.iam.Role(
            f"{name}-notebook-role",
            description=f"Runs the {notebook_name} notebook instance",
            # No aws:SourceAccount condition: SageMaker does not document it for notebook instances, and only
            # someone in this account allowed to pass this role can give it to a notebook.
            assume_role_policy=json.dumps(iam.assume_role_policy("sagemaker.amazonaws.com")),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-notebook-policy",
            role=role.id,
            policy=pulumi.Output.all(
                account=account,
                lake=lake,
                read_buckets=[names[store] for store in _READ_ONLY_STORES],
                source=names["source_repository"],
                output=names["output"],
                workgroup=workgroup.name,
                crawler=self.crawler_name,
                codecommit=codecommit_arn,
                state_machine=state_machine_arn,
                endpoint=endpoint_name,
                session_role=self.glue_session_role_arn,
            ).apply(
                lambda v: json.dumps(
                    iam.notebook_policy(
                        v["account"],
                        iam.NotebookTargets(
                            notebook_name=notebook_name,
                            job_name=config.job_name,
                            lake=v["lake"],
                            read_buckets=list(v["read_buckets"]),
                            bundle_bucket=v["source"],
                            bundle_prefix=layout.BUNDLE_PREFIX,
                            athena_workgroup=v["workgroup"],
                            athena_results_bucket=v["output"],
                            athena_results_prefix=layout.ATHENA_RESULTS_PREFIX,
                            crawler_name=v["crawler"],
                            codecommit_repository_arn=v["codecommit"],
                            git_secret_arn=settings.git_secret_arn,
                            state_machine_arn=v["state_machine"],
                            endpoint_name=v["endpoint"],
                            glue_session_role_arn=v["session_role"],
                        ),
                    )
                )
            ),
            opts=child,
        )
        self.role_arn = role.arn

        # --- What the notebook downloads at start, and its lifecycle scripts ---------------------------------
        stack = pulumi.Output.all(
            account=account,
            buckets=pulumi.Output.all(**names),
            database=self.database_name,
            crawler=self.crawler_name,
            workgroup=workgroup.name,
            clone_url=clone_url,
            state_machine=state_machine_arn,
            endpoint=endpoint_name,
            session_role=self.glue_session_role_arn,
        ).apply(
            lambda v: bundle.NotebookStack(
                region=v["account"].region,
                name_prefix=prefix,
                job_name=config.job_name,
                notebook_name=notebook_name,
                batch=config.is_batch,
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
                    kind="codecommit" if settings.uses_codecommit else "external",
                    clone_url=v["clone_url"],
                    branch=settings.git_branch,
                    secret_arn=settings.git_secret_arn,
                ),
                idle_shutdown_minutes=settings.idle_shutdown_minutes,
                state_machine_arn=v["state_machine"],
                endpoint_name=v["endpoint"],
                glue_session_role_arn=v["session_role"],
            )
        )
        bundle_objects = self._bundle(name, config, buckets["source_repository"], stack)
        lifecycle = aws.sagemaker.NotebookInstanceLifecycleConfiguration(
            f"{name}-lifecycle",
            name=naming.resource_name(prefix, "notebook-lifecycle"),
            on_create=bundle.lifecycle_content("on-create"),
            on_start=bundle.lifecycle_content("on-start"),
            opts=child,
        )

        # --- The notebook ------------------------------------------------------------------------------------
        network = self._network(name, config)
        notebook = aws.sagemaker.NotebookInstance(
            f"{name}-notebook",
            name=notebook_name,
            role_arn=role.arn,
            instance_type=settings.instance_type,
            volume_size=settings.volume_size_in_gb,
            platform_identifier=settings.platform_identifier,
            root_access="Enabled" if settings.root_access else "Disabled",
            kms_key_id=settings.kms_key_arn,
            lifecycle_config_name=lifecycle.name,
            default_code_repository=code_repository.code_repository_name,
            instance_metadata_service_configuration={"minimum_instance_metadata_service_version": "2"},
            # The lifecycle scripts find the bundle through this tag.
            tags={
                bundle.BUNDLE_TAG: pulumi.Output.concat(
                    "s3://", names["source_repository"], "/", layout.BUNDLE_PREFIX
                )
            },
            **network,
            # The role's permissions and the bundle must exist before the lifecycle scripts first run.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, *bundle_objects]),
        )
        self.notebook_name = notebook.name
        self.notebook_url = notebook.url
        self.summary = pulumi.Output.all(notebook.name, notebook.url, clone_url, account).apply(
            lambda v: render_summary(config, notebook_name=v[0], url=v[1], clone_url=v[2], region=v[3].region)
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

    def _bundle(
        self,
        name: str,
        config: MlOpsConfig,
        source_repository: BucketRef,
        stack: pulumi.Output[bundle.NotebookStack],
    ) -> list[aws.s3.BucketObjectv2]:
        """Upload the bundle under the source repository's `devenv/`: fixed files by content hash, then the
        generated stack settings and notebooks."""
        objects = [
            aws.s3.BucketObjectv2(
                f"{name}-bundle-{key.replace('/', '-').replace('.', '-')}",
                bucket=source_repository.name,
                key=layout.BUNDLE_PREFIX + key,
                source=pulumi.FileAsset(str(path)),
                source_hash=file_sha256(path),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, path in bundle.static_files().items()
        ]
        documents = stack.apply(bundle.generated_documents)
        settings = config.dev_environment
        for key in bundle.generated_keys(
            batch=config.is_batch, glue_sessions=settings.enable_interactive_sessions
        ):
            objects.append(
                aws.s3.BucketObjectv2(
                    f"{name}-bundle-{key.replace('/', '-').replace('.', '-')}",
                    bucket=source_repository.name,
                    key=layout.BUNDLE_PREFIX + key,
                    content=documents.apply(operator.itemgetter(key)),
                    content_type="application/json",
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return objects

    def _network(self, name: str, config: MlOpsConfig) -> dict[str, Any]:
        """A private subnet, no direct internet access and an HTTPS-only security group, when the config's
        `environment` has private subnets; SageMaker's managed network otherwise."""
        environment = config.environment
        if environment is None or not environment.private_subnets:
            return {"direct_internet_access": "Enabled"}
        assert environment.vpc_id is not None  # validated with enable_dev_environment
        group = aws.ec2.SecurityGroup(
            f"{name}-notebook-sg",
            vpc_id=environment.vpc_id,
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
            "subnet_id": environment.private_subnets[0],
            "security_groups": [group.id],
        }


def render_summary(config: MlOpsConfig, *, notebook_name: str, url: str, clone_url: str, region: str) -> str:
    """The development environment's part of the stack summary."""
    settings = config.dev_environment
    idle = (
        f"stops itself after {settings.idle_shutdown_minutes} idle minutes"
        if settings.idle_shutdown_minutes
        else "idle auto-stop is OFF"
    )
    return "\n".join(
        [
            f"Development notebook '{notebook_name}' ({settings.instance_type}, {idle}):",
            f"  open    https://{url}" if url and not url.startswith("https://") else f"  open    {url}",
            f"  clone   git clone {clone_url}",
            f"  stop    aws sagemaker stop-notebook-instance --region {region} --notebook-instance-name {notebook_name}",
        ]
    )
