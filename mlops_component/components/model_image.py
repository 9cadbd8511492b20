"""The bring-your-own model image: its ECR repository, and the image built and pushed with pulumi-docker.

The image is tagged with a hash of its build context (`src-<hash>`), so the tag names exactly one content
and the repository can make tags immutable. `byo_model_image_tag` (e.g. `latest`) is an optional extra tag
that the repository exempts from immutability, so it can follow the newest build. The workflow never uses a
tag: it gets `image_uri`, the digest-pinned reference (`<repository>@sha256:...`) of what was pushed.

The pipeline creates one when `built_in_model_image` is not set, and the processing pipeline one of its own for
its Inference job when training uses a built-in image.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker
from docker.utils.build import exclude_paths

from mlops_component.components.data_stores import file_sha256
from mlops_component.config import CONTENT_TAG_PREFIX
from mlops_component.config.base import KmsKeyArn, LocalFolder

PLATFORM = "linux/amd64"
_CONTENT_TAG_HEX = 16


# --- Pure helpers (plain values in, plain values out) ------------------------------------------------------------
def repository_name(name_prefix: str, image_name: str) -> str:
    """The ECR repository: the image name in the deployment's namespace, so stacks do not collide."""
    return f"{name_prefix}/{image_name}"


def build_context_files(context: Path) -> list[str]:
    """The files Docker sends to the builder: everything not excluded by `.dockerignore`, sorted.

    The exclusion rules are Docker's own, as implemented by the Docker SDK for Python.
    """
    ignore_file = context / ".dockerignore"
    patterns = []
    if ignore_file.is_file():
        lines = (line.strip() for line in ignore_file.read_text(encoding="utf-8").splitlines())
        patterns = [line for line in lines if line and not line.startswith("#")]
    included = exclude_paths(str(context), patterns)
    return sorted(path for path in included if (context / path).is_file())


def build_context_digest(context: Path) -> str:
    """A SHA-256 over the build context: each file's path, executable bit and content, in a stable order."""
    digest = hashlib.sha256()
    for relative in build_context_files(context):
        path = context / relative
        executable = bool(path.stat().st_mode & 0o111)
        digest.update(f"{relative}\0{int(executable)}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def content_tag(context_digest: str) -> str:
    """The immutable tag of one build context."""
    return f"{CONTENT_TAG_PREFIX}{context_digest[:_CONTENT_TAG_HEX]}"


def ecr_lifecycle_policy(keep_images: int) -> dict[str, Any]:
    """An ECR lifecycle policy that expires all but the `keep_images` most recently pushed images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the {keep_images} most recently pushed images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            }
        ]
    }


def _registry_host(repository_url: str) -> str:
    return repository_url.split("/", 1)[0]


# --- The component ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelImageArgs:
    """What `ModelImage` builds and where it pushes it."""

    repository_name: str
    """The ECR repository to create, e.g. `<prefix>/byo-xgboost`."""
    source_path: LocalFolder
    """The build context: a folder with a `Dockerfile`."""
    keep_images: int
    """How many of the most recently pushed images the repository keeps."""
    extra_tag: str | None = None
    """An optional mutable tag (e.g. `latest`) pushed with every build, besides the immutable content tag."""
    kms_key_arn: KmsKeyArn | None = None
    """KMS key the repository encrypts images with; AES256 when None."""
    force_delete: bool = False
    """Whether `pulumi destroy` may delete the repository while it still holds images."""


class ModelImage(pulumi.ComponentResource):
    """An encrypted, scanned ECR repository with immutable tags, and the model image built and pushed to it."""

    repository_name: pulumi.Output[str]
    """The ECR repository's name."""
    repository_arn: pulumi.Output[str]
    """The ECR repository's ARN (for the pull permissions of SageMaker's execution role)."""
    repository_url: pulumi.Output[str]
    """`<registry>/<repository>`, without a tag."""
    content_tag: str
    """The immutable tag derived from the build context (`src-<hash>`)."""
    image_uri: pulumi.Output[str]
    """The pushed image pinned by digest: `<registry>/<repository>@sha256:<digest>`."""

    def __init__(self, name: str, args: ModelImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelImage", name, None, opts)
        repository = self._repository(name, args)
        # A short-lived token from ECR itself: no `docker login` on the machine that runs `pulumi up`.
        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        username = token.apply(lambda result: result.user_name)
        password: pulumi.Output[str] = pulumi.Output.secret(token.apply(lambda result: result.password))

        context = Path(args.source_path)
        self.content_tag = content_tag(build_context_digest(context))
        build: pulumi_docker.DockerBuildArgsDict = {
            "context": str(context),
            "dockerfile": str(context / "Dockerfile"),
            "platform": PLATFORM,
            "builder_version": pulumi_docker.BuilderVersion.BUILDER_BUILD_KIT,
        }
        registry: pulumi_docker.RegistryArgsDict = {
            "server": repository.repository_url,
            "username": username,
            "password": password,
        }
        image = pulumi_docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(repository.repository_url, ":", self.content_tag),
            build=build,
            registry=registry,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.extra_tag:
            self._push_extra_tag(name, args.extra_tag, repository, image, username, password)

        self.repository_name = repository.name
        self.repository_arn = repository.arn
        self.repository_url = repository.repository_url
        self.image_uri = image.repo_digest
        self.register_outputs(
            {
                "repository_name": self.repository_name,
                "repository_arn": self.repository_arn,
                "repository_url": self.repository_url,
                "content_tag": self.content_tag,
                "image_uri": self.image_uri,
            }
        )

    def _repository(self, name: str, args: ModelImageArgs) -> aws.ecr.Repository:
        """The repository: encrypted, scanned on push, tags immutable but the extra one, old images expired."""
        child = pulumi.ResourceOptions(parent=self)
        extra_tag = args.extra_tag
        encryption: aws.ecr.RepositoryEncryptionConfigurationArgsDict = (
            {"encryption_type": "KMS", "kms_key": args.kms_key_arn}
            if args.kms_key_arn
            else {"encryption_type": "AES256"}
        )
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="IMMUTABLE_WITH_EXCLUSION" if extra_tag else "IMMUTABLE",
            image_tag_mutability_exclusion_filters=(
                [{"filter": extra_tag, "filter_type": "WILDCARD"}] if extra_tag else None
            ),
            encryption_configurations=[encryption],
            force_delete=args.force_delete,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(ecr_lifecycle_policy(args.keep_images)),
            opts=child,
        )
        return repository

    def _push_extra_tag(
        self,
        name: str,
        extra_tag: str,
        repository: aws.ecr.Repository,
        image: pulumi_docker.Image,
        username: pulumi.Output[str],
        password: pulumi.Output[str],
    ) -> None:
        """Tag the local image with `extra_tag` and push that tag again whenever the digest changes."""
        child = pulumi.ResourceOptions(parent=self)
        local_tag = pulumi_docker.Tag(
            f"{name}-extra-tag",
            source_image=image.image_name,
            target_image=pulumi.Output.concat(repository.repository_url, ":", extra_tag),
            tag_triggers=[image.repo_digest],
            opts=child,
        )
        auth: pulumi_docker.RegistryImageAuthConfigArgsDict = {
            "address": repository.repository_url.apply(_registry_host),
            "username": username,
            "password": password,
        }
        # keep_remotely: deleting it from the registry would delete the image the content tag names.
        pulumi_docker.RegistryImage(
            f"{name}-extra-tag-push",
            name=local_tag.target_image,
            keep_remotely=True,
            triggers={"repo_digest": image.repo_digest},
            auth_config=auth,
            opts=child,
        )
