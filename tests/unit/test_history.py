from pathlib import Path

from temporalio.client import WorkflowHistory

from orchestrator.ops.history import story

HISTORIES = Path(__file__).parent.parent / "replay" / "histories"


def load(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())


def test_the_story_of_a_compensated_application_is_in_order() -> None:
    steps = story(load("enterprise_opening_rejected_compensated"))
    events = [(s.event, s.task) for s in steps]
    assert events[0] == ("submitted", "")
    assert steps[-1].event == "rejected" and "网点已撤销" in steps[-1].detail
    refused = events.index(("rejected", "bank_account"))
    undone = [task for event, task in events if event == "compensated"]
    assert len(undone) == 5 and all(events.index(("compensated", t)) > refused for t in undone)
    approved = [task for event, task in events if event == "approved"]
    assert undone == list(reversed(approved))  # newest first
    for task in undone:
        assert events.index(("compensate sent", task)) < events.index(("compensated", task))
    assert [s.at for s in steps] == sorted(s.at for s in steps)


def test_updates_and_time_outs_are_in_the_story() -> None:
    withdrawn = [(s.event, s.detail) for s in story(load("enterprise_opening_withdrawn"))]
    assert any(event == "withdraw" for event, _ in withdrawn)
    escalated = [s.event for s in story(load("enterprise_opening_escalated_retried"))]
    assert "no answer in time" in escalated and "operator" in escalated
