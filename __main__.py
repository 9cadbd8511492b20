"""The bundled Pulumi program: stack config in, one pipeline out. Nothing happens at import time."""

import pulumi

from mlops_component import MlOpsPipeline
from mlops_component.config.stack_file import StackConfigError, from_pulumi


def main() -> MlOpsPipeline:
    """Validate the `mlops:` stack config, build the pipeline and export its outputs."""
    try:
        config = from_pulumi()
    except StackConfigError as error:
        # A RunError ends the program with this message alone, before any resource is registered.
        raise pulumi.RunError(str(error)) from None
    pipeline = MlOpsPipeline("mlops", config)
    pulumi.export("bucket_names", pipeline.bucket_names)
    pulumi.export("state_machine_arn", pipeline.state_machine_arn)
    pulumi.export("model_image_uri", pipeline.model_image_uri)
    pulumi.export("glue_job_name", pipeline.etl.job_name)
    pulumi.export("glue_database_name", pipeline.etl.database_name)
    pulumi.export("summary", pipeline.summary)
    if pipeline.processing:
        pulumi.export("processing_state_machine_arn", pipeline.processing.state_machine_arn)
        pulumi.export("processing_example_input", pipeline.processing.example_input)
        pulumi.export("processing_start_policy", pipeline.processing.start_policy)
        pulumi.export("processing_start_policy_arn", pipeline.processing.start_policy_arn)
    if pipeline.dev_environment:
        pulumi.export("notebook_url", pipeline.dev_environment.notebook_url)
        pulumi.export("repository_clone_url", pipeline.dev_environment.repository_clone_url)
    return pipeline


if __name__ == "__main__":
    main()
