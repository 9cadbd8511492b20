"""The recording mocks the component tests use; they live in the package because `mlops check` uses them too."""

from mlops_component.tools.offline import (
    ACCOUNT_ID,
    ECR_PASSWORD,
    REGION,
    REGISTRY,
    RecordingMocks,
    Registered,
    run_program,
)

__all__ = ["ACCOUNT_ID", "ECR_PASSWORD", "REGION", "REGISTRY", "RecordingMocks", "Registered", "run_program"]
