"""A smaller version of every `make faults` scenario: each must come through clean."""

from __future__ import annotations

import pytest

from tests.faults.harness import Outcome
from tests.faults.scenarios import (
    SCENARIOS,
    broker_down,
    commands_lost,
    killed_while_dispatching,
    one_of_each_killed,
    results_replayed,
    withdrawals_while_psb_fails,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(400)]
N = 8


def assert_clean(outcome: Outcome) -> None:
    assert outcome.clean, (outcome.row(), outcome.notes)


async def test_a_kill_at_the_moment_of_dispatch_is_dispatched_again_within_30_s() -> None:
    outcome = await killed_while_dispatching(N, 0)
    assert_clean(outcome)
    assert outcome.recovery_s is not None and outcome.recovery_s < 30


async def test_a_broker_restart_under_load_escalates_nothing() -> None:
    outcome = await broker_down(N, 10)
    assert_clean(outcome)
    assert outcome.escalated == 0
    assert outcome.during_outage[201] + outcome.during_outage[200] > 0  # served throughout


async def test_a_command_lost_on_the_way_is_sent_again_and_answered() -> None:
    assert_clean(await commands_lost(N, 0))


async def test_a_poison_stale_result_leaves_the_bridge_consuming() -> None:
    assert_clean(await results_replayed(N, 0))


async def test_a_withdrawal_racing_the_last_approval_is_answered_409_or_undone() -> None:
    outcome = await withdrawals_while_psb_fails(N, 0)
    assert_clean(outcome)
    assert set(outcome.during_outage) <= {202, 409}


async def test_with_two_of_each_a_killed_worker_and_api_are_carried_by_the_others() -> None:
    assert_clean(await one_of_each_killed(N, 0))


@pytest.mark.parametrize("name", ["worker", "bridge", "departments", "temporal"])
async def test_the_process_or_server_taken_away_is_survived(name: str) -> None:
    outcome = await SCENARIOS[name](N, 15)
    assert_clean(outcome)
