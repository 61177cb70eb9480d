"""The bare-Temporal reference: the enterprise opening's shape with plain activities."""

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
