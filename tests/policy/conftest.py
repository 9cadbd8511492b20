"""Each example stack is built once per session: the policy tests only read the recorded resources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_component.tools import policies
from tests.policy.stacks import stack_resources


@pytest.fixture(scope="session")
def example_stack(shared_project_dir: Path) -> Callable[[str], list[policies.Resource]]:
    built: dict[str, list[policies.Resource]] = {}

    def get(stack: str) -> list[policies.Resource]:
        if stack not in built:
            built[stack] = stack_resources(shared_project_dir, stack)
        return list(built[stack])

    return get
