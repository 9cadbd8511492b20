"""The processing pipeline's settings: off by default, per-job defaults, and every validation rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from mlops_component.config import MlOpsConfig, ProcessingJobSettings, ProcessingSettings
from mlops_component.config.stack_file import StackConfigError, from_stack_file
from tests.conftest import BUILT_IN_XGBOOST
from tests.test_config import error_locations

BUILT_IN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def test_off_by_default_with_the_seeds_job_defaults(make_config) -> None:
    config = make_config()
    assert config.enable_processing_pipeline is False
    settings = config.processing
    for job in (settings.preprocessing, settings.inference, settings.postprocessing):
        assert job == ProcessingJobSettings(
            instance_type="ml.m5.xlarge", volume_size_in_gb=20, max_runtime_in_seconds=3600
        )
    assert settings.framework_version == "1.2-1"
    assert settings.code_prefix == "legacycode/scripts/"
    assert settings.inference_image_source_path is None


def test_every_setting_has_a_description() -> None:
    for model in (ProcessingSettings, ProcessingJobSettings):
        assert [name for name, f in model.model_fields.items() if not f.description] == [], model


def test_camel_case_stack_keys(project_dir: Path) -> None:
    stack = project_dir / "Pulumi.dev.yaml"
    stack.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "mlops:namePrefix": "mlops-dev",
                    "mlops:jobName": "employee-attrition",
                    "mlops:enableProcessingPipeline": True,
                    "mlops:processing": {
                        "inference": {"instanceType": "ml.c5.2xlarge", "volumeSizeInGb": 50},
                        "positiveThreshold": 0.3,
                        "inputPrefix": "legacy/in/",
                    },
                }
            }
        )
    )
    config, _ = from_stack_file(stack)
    assert config.enable_processing_pipeline
    assert config.processing.inference.instance_type == "ml.c5.2xlarge"
    assert config.processing.inference.volume_size_in_gb == 50
    assert config.processing.preprocessing.volume_size_in_gb == 20
    assert config.processing.positive_threshold == 0.3
    assert config.processing.input_prefix == "legacy/in/"


@pytest.mark.parametrize(
    ("processing", "location", "message"),
    [
        (
            {"inference": {"instance_type": "m5.large"}},
            "processing.inference.instance_type",
            "not a SageMaker instance type",
        ),
        (
            {"preprocessing": {"volume_size_in_gb": 0}},
            "processing.preprocessing.volume_size_in_gb",
            "greater than or equal to 1",
        ),
        (
            {"postprocessing": {"max_runtime_in_seconds": 777601}},
            "processing.postprocessing.max_runtime_in_seconds",
            "less than or equal to 777600",
        ),
        ({"framework_version": "1.2"}, "processing.framework_version", "such as 1.2-1"),
        ({"framework_image_uri": "python:3.12"}, "processing.framework_image_uri", "not an ECR image URI"),
        ({"inference_image_name": "Legacy Code"}, "processing.inference_image_name", "ECR repository name"),
        ({"positive_threshold": 1}, "processing.positive_threshold", "less than 1"),
        ({"code_prefix": "/scripts/"}, "processing.code_prefix", "must be an S3 key prefix ending in '/'"),
        ({"input_prefix": "legacycode/input"}, "processing.input_prefix", "ending in '/'"),
        ({"reports_prefix": "legacy/../x/"}, "processing.reports_prefix", "no '..'"),
        ({"model_prefix": "models/*/"}, "processing.model_prefix", "letters, digits"),
        ({"input_prefix": "data/"}, "processing.input_prefix", "training trigger watches"),
        ({"input_prefix": "data/score/legacy/"}, "processing.input_prefix", "training trigger watches"),
        (
            {"preprocessed_prefix": "score/legacy/"},
            "processing.preprocessed_prefix",
            "training workflow writes",
        ),
        ({"predictions_prefix": "predictions/legacy/"}, "processing.predictions_prefix", "writes and crawls"),
        ({"code_prefix": "etl/legacy/"}, "processing.code_prefix", "Glue job's code"),
        ({"reports_prefix": "legacycode/predictions/reports/"}, "processing", "must not contain each other"),
        ({"unknown": 1}, "processing.unknown", "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_name_the_key(
    make_config, processing: dict[str, Any], location: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(enable_processing_pipeline=True, processing=processing)
    assert location in error_locations(raised.value)
    assert message in str(raised.value)


def test_a_framework_image_uri_pinned_by_digest_is_accepted(make_config) -> None:
    uri = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn@sha256:" + "c" * 64
    assert make_config(processing={"framework_image_uri": uri}).processing.framework_image_uri == uri


def test_with_a_built_in_image_the_inference_build_context_is_resolved(
    make_config, project_dir: Path
) -> None:
    config = make_config(enable_processing_pipeline=True, **BUILT_IN_XGBOOST)
    assert config.processing.inference_image_source_path == str((project_dir / "container").resolve())


def test_a_missing_inference_build_context_is_named(make_config) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(
            enable_processing_pipeline=True,
            **BUILT_IN_XGBOOST,
            processing={"inference_image_source_path": "no-such-folder"},
        )
    assert "processing" in error_locations(raised.value)
    assert "inference image build context: folder 'no-such-folder' does not exist" in str(raised.value)


def test_the_inference_build_context_is_refused_when_it_would_be_ignored(make_config) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(enable_processing_pipeline=True, processing={"inference_image_source_path": "container"})
    assert "only used when built_in_model_image is set" in str(raised.value)


def test_nothing_is_checked_for_a_pipeline_that_is_off(make_config) -> None:
    config = make_config(**BUILT_IN_XGBOOST, byo_model_image_source_path="no-such-folder")
    assert config.processing.inference_image_source_path is None


def test_stack_errors_name_the_nested_key_as_written(project_dir: Path) -> None:
    stack = project_dir / "Pulumi.dev.yaml"
    stack.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "mlops:namePrefix": "mlops-dev",
                    "mlops:jobName": "employee-attrition",
                    "mlops:processing": {"inference": {"volumeSizeInGb": 0}, "inputPrefx": "x/"},
                }
            }
        )
    )
    with pytest.raises(StackConfigError) as raised:
        from_stack_file(stack)
    problems = "\n".join(raised.value.problems)
    assert "mlops:processing.inference.volumeSizeInGb" in problems
    assert "mlops:processing.inputPrefx" in problems


def test_the_config_model_lists_the_new_fields() -> None:
    assert {"enable_processing_pipeline", "processing"} <= set(MlOpsConfig.model_fields)
