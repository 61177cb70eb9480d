"""The bare-Temporal references: the least the same shapes cost on Temporal alone."""

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def handle_directly(task: str) -> str:
    return f"done:{task}"


@workflow.defn
class BareShapeWorkflow:
    """Stages of tasks: every task of a stage at once, as plain activities (no Kafka)."""

    @workflow.run
    async def run(self, stages: list[list[str]]) -> int:
        done = 0
        for stage in stages:
            results = await asyncio.gather(
                *[
                    workflow.execute_activity(
                        handle_directly, t, start_to_close_timeout=timedelta(seconds=30)
                    )
                    for t in stage
                ]
            )
            done += len(results)
        return done


TOKENS: list[bytes] = []  # the task tokens of the waiting activities, as a department keeps them


@activity.defn(name="wait_for_department")
async def wait_for_department() -> str:
    TOKENS.append(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn
class BareWaitWorkflow:
    """One task that waits for an asynchronous completion: the least a waiting task costs."""

    @workflow.run
    async def run(self) -> str:
        return str(
            await workflow.execute_activity(
                "wait_for_department", schedule_to_close_timeout=timedelta(hours=1)
            )
        )
