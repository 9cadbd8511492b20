"""The model image under recording mocks (repository settings, build inputs, no build for a built-in image),
and its pure helpers (context hash, content tag, lifecycle policy) with plain pytest."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pulumi
import pytest
from pydantic import ValidationError

from mlops_component import MlOpsPipeline
from mlops_component.components.model_image import (
    ModelImage,
    build_context_digest,
    build_context_files,
    content_tag,
    ecr_lifecycle_policy,
    repository_name,
)
from mlops_component.components.pipeline import model_image_args
from mlops_component.components.tagging import tag_everything
from tests.conftest import BUILT_IN_XGBOOST
from tests.pulumi_mocks import ECR_PASSWORD, REGION, REGISTRY, RecordingMocks, run_program

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker:index/image:Image"
TAG = "docker:index/tag:Tag"
REGISTRY_IMAGE = "docker:index/registryImage:RegistryImage"
REPOSITORY_URL = f"{REGISTRY}/mlops-test/byo-xgboost"
# How Pulumi marks a secret value in the inputs the engine receives.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def deploy(config) -> tuple[RecordingMocks, dict]:
    """The image alone from the pipeline's mapping of `config`; the whole pipeline for a built-in image."""

    def program() -> dict:
        if config.built_in_model_image:
            return {"model_image_uri": MlOpsPipeline("mlops", config).model_image_uri}
        tagged = pulumi.ResourceOptions(transformations=[tag_everything(config.tags)])
        image = ModelImage("mlops-model-image", model_image_args(config), opts=tagged)
        return {"model_image_uri": image.image_uri}

    return run_program(program)


def unsecret(value):
    """The plain value inside a secret, and whether it was one."""
    if isinstance(value, dict) and SECRET_SIGNATURE in value:
        return value["value"], True
    return value, False


def test_repository_is_scanned_encrypted_and_keeps_content_tags_immutable(make_config) -> None:
    config = make_config()
    mocks, _ = deploy(config)
    (repository,) = mocks.of_type(REPOSITORY)
    assert repository.name == "mlops-model-image-repository"
    assert repository.inputs["name"] == "mlops-test/byo-xgboost"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    # Only the movable extra tag may be pushed again; every content tag stays immutable.
    assert repository.inputs["imageTagMutabilityExclusionFilters"] == [
        {"filter": "latest", "filterType": "WILDCARD"}
    ]
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repository.inputs["forceDelete"] is False
    assert repository.inputs["tags"] == config.tags

    (lifecycle,) = mocks.of_type(LIFECYCLE)
    assert lifecycle.inputs["repository"] == "mlops-test/byo-xgboost"
    assert json.loads(lifecycle.inputs["policy"]) == ecr_lifecycle_policy(10)
    assert mocks.named("mlops-model-image").typ == "mlops:index:ModelImage"


def test_kms_key_keep_count_and_force_destroy_reach_the_repository(make_config) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    mocks, _ = deploy(make_config(kms_key_arn=key, ecr_keep_images=25, force_destroy=True))
    (repository,) = mocks.of_type(REPOSITORY)
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key}]
    assert repository.inputs["forceDelete"] is True
    policy = json.loads(mocks.of_type(LIFECYCLE)[0].inputs["policy"])
    assert policy["rules"][0]["selection"]["countNumber"] == 25


def test_image_is_built_from_the_source_path_for_amd64_with_ecr_token_credentials(
    make_config, project_dir: Path
) -> None:
    mocks, outputs = deploy(make_config())
    (image,) = mocks.of_type(IMAGE)
    context = project_dir / "container"
    assert image.inputs["build"] == {
        "context": str(context),
        "dockerfile": str(context / "Dockerfile"),
        "platform": "linux/amd64",
        "builderVersion": "BuilderBuildKit",
    }
    assert image.inputs["imageName"] == f"{REPOSITORY_URL}:{content_tag(build_context_digest(context))}"
    assert image.inputs.get("skipPush") is not True
    registry, secret = unsecret(image.inputs["registry"])
    assert secret  # the ECR password never appears in plain text in the state
    assert registry == {"server": REPOSITORY_URL, "username": "AWS", "password": ECR_PASSWORD}
    # The workflow gets the pushed image pinned by digest, never a tag.
    assert re.fullmatch(rf"{re.escape(REPOSITORY_URL)}@sha256:[0-9a-f]{{64}}", outputs["model_image_uri"])


def test_the_extra_tag_follows_the_pushed_digest(make_config) -> None:
    mocks, outputs = deploy(make_config(byo_model_image_tag="stable"))
    (tag,) = mocks.of_type(TAG)
    (image,) = mocks.of_type(IMAGE)
    assert tag.inputs["sourceImage"] == image.inputs["imageName"]
    assert tag.inputs["targetImage"] == f"{REPOSITORY_URL}:stable"
    assert tag.inputs["tagTriggers"] == [outputs["model_image_uri"]]
    (push,) = mocks.of_type(REGISTRY_IMAGE)
    assert push.inputs["name"] == f"{REPOSITORY_URL}:stable"
    assert push.inputs["keepRemotely"] is True  # deleting the tag would delete the image it names
    assert push.inputs["triggers"] == {"repo_digest": outputs["model_image_uri"]}
    auth, secret = unsecret(push.inputs["authConfig"])
    assert secret and auth == {"address": REGISTRY, "username": "AWS", "password": ECR_PASSWORD}
    filters = mocks.of_type(REPOSITORY)[0].inputs["imageTagMutabilityExclusionFilters"]
    assert filters == [{"filter": "stable", "filterType": "WILDCARD"}]


def test_without_an_extra_tag_every_tag_is_immutable(make_config) -> None:
    mocks, _ = deploy(make_config(byo_model_image_tag=None))
    (repository,) = mocks.of_type(REPOSITORY)
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert not repository.inputs.get("imageTagMutabilityExclusionFilters")
    assert mocks.of_type(TAG) == [] and mocks.of_type(REGISTRY_IMAGE) == []
    assert len(mocks.of_type(IMAGE)) == 1


def test_a_built_in_image_builds_nothing(make_config) -> None:
    builtin = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
    mocks, outputs = deploy(
        make_config(
            **{**BUILT_IN_XGBOOST, "built_in_model_image": builtin}, byo_model_image_source_path="nowhere"
        )
    )
    assert outputs["model_image_uri"] == builtin
    assert not [
        r for r in mocks.resources if r.typ.startswith(("aws:ecr", "docker:")) or "ModelImage" in r.typ
    ]


def test_image_tag_setting_is_validated(make_config) -> None:
    for bad in ("has space", "-leading", "x" * 129, "src-0123456789abcdef"):
        with pytest.raises(ValidationError, match="byo_model_image_tag"):
            make_config(byo_model_image_tag=bad)
    for bad_count in (0, 1001):
        with pytest.raises(ValidationError, match="ecr_keep_images"):
            make_config(ecr_keep_images=bad_count)
    assert make_config(byoModelImageTag="v1.2_rc-3").byo_model_image_tag == "v1.2_rc-3"
    assert make_config(ecrKeepImages=3).ecr_keep_images == 3


# --- Pure helpers --------------------------------------------------------------------------------------------
def make_context(folder: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder


def test_content_tag_is_deterministic_and_follows_the_content(tmp_path: Path) -> None:
    context = make_context(tmp_path / "ctx", {"Dockerfile": "FROM scratch\n", "app/main.py": "print(1)\n"})
    first = content_tag(build_context_digest(context))
    assert re.fullmatch(r"src-[0-9a-f]{16}", first)
    assert content_tag(build_context_digest(context)) == first

    (context / "app" / "main.py").write_text("print(2)\n")
    changed = content_tag(build_context_digest(context))
    assert changed != first
    (context / "app" / "main.py").write_text("print(1)\n")
    assert content_tag(build_context_digest(context)) == first

    os.chmod(context / "app" / "main.py", 0o755)  # the executable bit is part of the image
    assert content_tag(build_context_digest(context)) != first
    os.chmod(context / "app" / "main.py", 0o644)
    (context / "app" / "main.py").rename(context / "app" / "other.py")  # so is the path
    assert content_tag(build_context_digest(context)) != first


def test_files_dockerignore_excludes_do_not_change_the_tag(tmp_path: Path) -> None:
    context = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM scratch\n",
            ".dockerignore": "# caches\n**/__pycache__\n*.log\n!keep.log\n",
            "app/main.py": "print(1)\n",
            "keep.log": "kept\n",
        },
    )
    before = build_context_digest(context)
    make_context(context, {"app/__pycache__/main.cpython-312.pyc": "bytecode", "debug.log": "noise"})
    assert build_context_digest(context) == before
    assert build_context_files(context) == [".dockerignore", "Dockerfile", "app/main.py", "keep.log"]


def test_the_shipped_container_context_is_what_the_dockerfile_needs() -> None:
    container = Path(__file__).resolve().parent.parent / "container"
    files = build_context_files(container)
    assert {"Dockerfile", "requirements.txt", "train", "serve", "batch-predict", "nginx.conf", "wsgi.py",
            "predictor.py", "xgb_model/app.py"} <= set(files)  # fmt: skip
    assert not any("__pycache__" in f for f in files)


def test_lifecycle_policy_keeps_the_newest_images() -> None:
    assert ecr_lifecycle_policy(7) == {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep the 7 most recently pushed images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 7},
                "action": {"type": "expire"},
            }
        ]
    }


def test_repository_name_is_namespaced_by_the_deployment() -> None:
    assert repository_name("churn-prod", "byo-xgboost") == "churn-prod/byo-xgboost"
