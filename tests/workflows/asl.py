"""Execute state machine definitions on moto's ASL interpreter, with task responses mocked.

moto runs definitions with the interpreter it ports from LocalStack, which already understands Step Functions
Local's mocked responses, but moto's StartExecution never loads a mock configuration. `execute` passes one test
case of a mock config (Step Functions Local's JSON format, kept in `mock_config.json`) to the execution it
starts, so every path of a real definition runs without calling SageMaker, Glue, Lambda or SNS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
    ComparisonOperatorType,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import (
    ComparisonVariable,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import NoSuchVariable
from moto.stepfunctions.parser.asl.component.state.exec.state_task import mock_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.mocking.mock_config import (
    MockedResponse,
    MockedResponseReturn,
    MockedResponseThrow,
    MockTestCase,
    StateMockedResponses,
)

MOCK_CONFIG = Path(__file__).with_name("mock_config.json")
ROLE_ARN = "arn:aws:iam::123456789012:role/workflow"


@dataclass
class Outcome:
    """How an execution ended, and the states it entered, in order."""

    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    entered: list[str] = field(default_factory=list)
    task_inputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def graph_problems(definition: dict[str, Any]) -> list[str]:
    """Transitions to states that do not exist, and states no path reaches; empty for a well-formed graph."""
    states = definition["States"]
    edges = []
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [choice["Next"] for choice in state.get("Choices", [])]
        targets += [catcher["Next"] for catcher in state.get("Catch", [])]
        edges += [(name, target) for target in targets if target]
    problems = [f"{source} -> missing state {target}" for source, target in edges if target not in states]
    reachable, frontier = {definition["StartAt"]}, [definition["StartAt"]]
    while frontier:
        current = frontier.pop()
        for source, target in edges:
            if source == current and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    return problems + [f"unreachable state {name}" for name in states if name not in reachable]


def load_test_case(state_machine: str, test_case: str, config_path: Path = MOCK_CONFIG) -> MockTestCase:
    """One test case of a Step Functions Local mock config, as moto's interpreter represents it."""
    config = json.loads(config_path.read_text())
    mapping = config["StateMachines"][state_machine]["TestCases"][test_case]
    return MockTestCase(
        state_machine_name=state_machine,
        test_case_name=test_case,
        state_mocked_responses_list=[
            StateMockedResponses(state, name, _responses(config["MockedResponses"][name]))
            for state, name in mapping.items()
        ],
    )


def _responses(raw: dict[str, dict[str, Any]]) -> list[MockedResponse]:
    responses: list[MockedResponse] = []
    for attempts, response in raw.items():
        first, _, last = attempts.partition("-")
        start, end = int(first), int(last or first)
        if "Return" in response:
            responses.append(MockedResponseReturn(start, end, response["Return"]))
        else:
            responses.append(
                MockedResponseThrow(start, end, response["Throw"]["Error"], response["Throw"]["Cause"])
            )
    return responses


@contextmanager
def interpreter(test_case: MockTestCase) -> Iterator[Any]:
    """A moto Step Functions client whose executions run for real, answering tasks from `test_case`.

    Responses are handed out in the order a state is invoked (retries and loop visits alike), as Step
    Functions Local numbers them; the ported interpreter would index by retry count only, which repeats the
    first answer forever in a polling loop.
    """
    invocations: dict[str, int] = {}

    def next_response(env: Environment) -> MockedResponse:
        state = env.next_state_name
        responses = test_case.state_mocked_responses[state].mocked_responses
        index = invocations.get(state, 0)
        invocations[state] = index + 1
        assert index < len(responses), f"no mocked response for invocation {index} of state {state!r}"
        return responses[index]

    def worker_with_mocks(self: Execution) -> ExecutionWorker:
        return ExecutionWorker(
            evaluation_details=_evaluation_details(self),
            exec_comm=self._get_start_execution_worker_comm(),
            cloud_watch_logging_session=self._cloud_watch_logging_session,
            activity_store=self._activity_store,
            mock_test_case=test_case,
        )

    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        mock.patch.object(Execution, "_get_start_execution_worker", worker_with_mocks),
        mock.patch.object(Environment, "get_current_mocked_response", next_response),
        # The port runs SageMaker's .sync pattern only against a live service; with every task answered from
        # the mock config no service is called, so the pattern check has nothing to protect.
        mock.patch.object(
            StateTaskServiceCallback, "_assert_integration_pattern_is_supported", lambda self: None
        ),
        # A mocked Throw of States.TaskFailed stands for a job that failed, as Step Functions reports it.
        mock.patch.object(mock_eval_utils, "CustomErrorName", _error_name),
        mock.patch.object(ComparisonVariable, "_eval_body", _compare_or_fail_on_missing_path),
    ):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def _compare_or_fail_on_missing_path(self: ComparisonVariable, env: Environment) -> None:
    """A Choice comparison as Step Functions evaluates it: on a path that is not there, every test but
    `IsPresent` fails the execution with States.Runtime (the port treats it as false, hiding the bug)."""
    self.variable.eval(env)
    if (
        isinstance(env.stack[-1], NoSuchVariable)
        and self.comparison_function.operator_type is not ComparisonOperatorType.IsPresent
    ):
        path = env.stack.pop().path.split(",")[0]
        cause = f"Invalid path '{path}': The choice state's condition path references an invalid value."
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
                event_type=HistoryEventType.ExecutionFailed,
                event_details=EventDetails(
                    executionFailedEventDetails=ExecutionFailedEventDetails(
                        error=StatesErrorNameType.StatesRuntime.to_name(), cause=cause
                    )
                ),
            )
        )
    self.comparison_function.eval(env)


def _error_name(name: str) -> ErrorName:
    return StatesErrorName.from_name(name) if name.startswith("States.") else CustomErrorName(name)


def _evaluation_details(execution: Execution) -> EvaluationDetails:
    return EvaluationDetails(
        aws_execution_details=execution._get_start_aws_execution_details(),
        execution_details=execution.get_start_execution_details(),
        state_machine_details=execution.get_start_state_machine_details(),
    )


def execute(
    definition: dict[str, Any],
    execution_input: dict[str, Any],
    *,
    state_machine: str,
    test_case: str,
    timeout_seconds: float = 60,
    mock_config: Path = MOCK_CONFIG,
) -> Outcome:
    """Create the state machine in moto, run one execution to its end, and report how it went."""
    case = load_test_case(state_machine, test_case, mock_config)
    with interpreter(case) as sfn:
        arn = sfn.create_state_machine(
            name=state_machine, definition=json.dumps(definition), roleArn=ROLE_ARN
        )["stateMachineArn"]
        execution_arn = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))[
            "executionArn"
        ]
        deadline = time.monotonic() + timeout_seconds
        while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"execution still running after {timeout_seconds}s"
            time.sleep(0.05)
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    task_inputs: dict[str, list[dict[str, Any]]] = {}
    current = None
    for event in events:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        if "taskScheduledEventDetails" in event and current:
            task_inputs.setdefault(current, []).append(
                json.loads(event["taskScheduledEventDetails"]["parameters"])
            )
    return Outcome(
        status=described["status"],
        output=json.loads(described["output"]) if described.get("output") else None,
        error=described.get("error"),
        cause=described.get("cause"),
        entered=entered,
        task_inputs=task_inputs,
    )
