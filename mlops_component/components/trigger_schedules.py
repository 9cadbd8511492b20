"""Optional EventBridge Scheduler schedules that invoke the trigger function: retraining on the newest train data,
and scoring the newest score data with the latest approved package."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_component.builders import iam, naming, start_events
from mlops_component.components.aws_account import account_or_lookup

# A schedule whose invocation failed (throttled, or the function unavailable) is retried for up to an hour, then
# parked in the dead-letter queue, where it is kept for the queue's maximum of 14 days.
RETRY_ATTEMPTS = 10
MAX_EVENT_AGE_SECONDS = 3600
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class TriggerSchedulesArgs:
    """What `TriggerSchedules` needs: the function to invoke and the expressions (None: no such schedule)."""

    name_prefix: str
    """Prefix of the schedules' and the scheduler role's names."""
    function_arn: pulumi.Input[str]
    """The trigger function the schedules invoke."""
    retrain_schedule: str | None
    """`rate()` or `cron()` expression of retraining on the newest train data."""
    score_schedule: str | None
    """`rate()` or `cron()` expression of scoring the newest score data (batch mode)."""
    account: pulumi.Input[iam.Account] | None = None
    """The account the scheduler acts for; looked up from the AWS provider when None."""


class TriggerSchedules(pulumi.ComponentResource):
    """One schedule per expression, invoking the trigger with `{"mlops-schedule": ..., "scheduled-time": ...}`
    through a role that may invoke only that function (and write to its dead-letter queue)."""

    dead_letter_queue_arn: pulumi.Output[str]
    """Where invocations that failed every retry are kept."""

    def __init__(
        self, name: str, args: TriggerSchedulesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:index:TriggerSchedules", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = account_or_lookup(args.account, self)
        queue = aws.sqs.Queue(
            f"{name}-dead-letters",
            name=naming.resource_name(args.name_prefix, "schedule-dead-letters"),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=naming.resource_name(args.name_prefix, naming.SCHEDULER_ROLE),
            description="Assumed by EventBridge Scheduler to invoke the trigger function on a schedule",
            # Only schedules of this account may assume it (the confused deputy problem).
            assume_role_policy=account.apply(
                lambda a: json.dumps(
                    iam.assume_role_policy("scheduler.amazonaws.com", source_account=a.account_id)
                )
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(args.function_arn, queue.arn).apply(
                lambda v: json.dumps(iam.scheduler_policy(function_arn=v[0], dead_letter_queue_arn=v[1]))
            ),
            opts=child,
        )
        expressions: dict[start_events.Schedule, str | None] = {
            "retrain": args.retrain_schedule,
            "score": args.score_schedule,
        }
        for schedule, expression in expressions.items():
            if expression is None:
                continue
            aws.scheduler.Schedule(
                f"{name}-{schedule}",
                name=naming.resource_name(args.name_prefix, f"{schedule}-schedule"),
                description=f"Starts the pipeline's scheduled {schedule} run",
                schedule_expression=expression,
                flexible_time_window={"mode": "OFF"},
                target={
                    "arn": args.function_arn,
                    "role_arn": role.arn,
                    "input": json.dumps(start_events.schedule_input(schedule)),
                    "retry_policy": {
                        "maximum_retry_attempts": RETRY_ATTEMPTS,
                        "maximum_event_age_in_seconds": MAX_EVENT_AGE_SECONDS,
                    },
                    "dead_letter_config": {"arn": queue.arn},
                },
                # The role must be able to invoke the function before the first invocation.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        self.dead_letter_queue_arn = queue.arn
        self.register_outputs({"dead_letter_queue_arn": self.dead_letter_queue_arn})
