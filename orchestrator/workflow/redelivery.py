"""Sending a command again when neither its answer nor a receipt came: a command or an answer
lost on the way (a broker that acknowledged a record and lost it, a department system that
dropped one) costs minutes, not the matter's time limit (days).

Departments take a command again by its idempotency key and answer as they did; an answer that
comes twice finds its dispatch over the second time and is counted stale by the bridge. A
department that takes long says so at once (`accepted`): a command taken in is not sent again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orchestrator.workflow.models import PublishCommand, PublishCommands
    from orchestrator.workflow.names import PUBLISH_COMMANDS

from orchestrator.workflow.promises import Promises

LONGEST_WAIT = timedelta(hours=1)


@dataclass
class Unanswered:
    """A command waiting for its answer, and when it is sent again."""

    command: PublishCommand
    wait: timedelta
    due: datetime | None = None  # None while the command is not out
    received: bool = False  # the department said it took the command in

    @property
    def overdue_at(self) -> datetime | None:
        return None if self.received else self.due


class Redelivery(Promises):
    """Watches the commands out; one timer at a time, for the first to fall due."""

    def __init__(self) -> None:
        super().__init__()
        self._redelivering = False  # from revision 2: unanswered commands are sent again
        self._unanswered: dict[str, Unanswered] = {}  # by the activity awaiting the answer
        self._watch: asyncio.Future[None] | None = None

    def _expect_answer(
        self, awaiting: str, command: PublishCommand, published: asyncio.Future[None]
    ) -> None:
        """Send `command` again if its wait runs out, counted from when it is out."""
        if not self._redelivering:
            return
        assert self._inp is not None
        entry = Unanswered(
            command.model_copy(update={"announce": []}),
            timedelta(seconds=self._inp.redelivery_seconds),
        )
        self._unanswered[awaiting] = entry

        def out(publish: asyncio.Future[None]) -> None:
            if not publish.cancelled() and publish.exception() is None:
                entry.due = workflow.now() + entry.wait

        published.add_done_callback(out)

    def _receipt(self, task_id: str, attempt: int) -> None:
        for entry in self._unanswered.values():
            if entry.command.task.task_id == task_id and entry.command.attempt == attempt:
                entry.received = True

    def _due_before(self, moment: datetime) -> bool:
        return (self._next_due() or moment) < moment

    def _next_due(self) -> datetime | None:
        return min(
            (d for e in self._unanswered.values() if (d := e.overdue_at) is not None),
            default=None,
        )

    def _start_redelivering(self) -> None:
        """Watch every command from now on. The watch is never cancelled: its timer is left
        running when the run ends, so a quick application pays one timer and no cancellation."""
        self._redelivering = True
        self._watch = asyncio.ensure_future(self._redeliver())

    async def _redeliver(self) -> None:
        """Wait for the first command to fall due (a new timer only when one falls due sooner
        than the one running), send every one due, and again."""
        while True:
            await workflow.wait_condition(lambda: self._next_due() is not None)
            due = self._next_due()
            assert due is not None
            wait = (due - workflow.now()).total_seconds()
            if wait > 0:
                try:
                    await workflow.wait_condition(partial(self._due_before, due), timeout=wait)
                    continue  # another falls due sooner
                except TimeoutError:
                    pass
            now = workflow.now()  # what fell due may have been answered or taken in meanwhile
            overdue = [e for e in self._unanswered.values() if (d := e.overdue_at) and d <= now]
            if overdue:
                await self._send_again(overdue)

    async def _send_again(self, entries: list[Unanswered]) -> None:
        now = workflow.now()
        for entry in entries:
            command, waited = entry.command, int(entry.wait.total_seconds())
            entry.due, entry.wait = None, min(entry.wait * 2, LONGEST_WAIT)
            state = self._task(command.task.task_id)
            state.enter(state.state, now, f"sent again: no answer nor receipt in {waited} s")
            self._count(
                "onething_redeliveries",
                "Commands sent again: neither an answer nor a receipt came in time.",
                command.task.department,
            )
        lifetime = max(e.command.deadline for e in entries) - now
        batch = PublishCommands(commands=[e.command for e in entries])
        try:
            await self._publish(PUBLISH_COMMANDS, batch, lifetime)
        except ActivityError:  # not out before the last deadline: those dispatches time out
            return
        for entry in entries:
            entry.due = workflow.now() + entry.wait
