from adapters.offsets import OffsetTracker


def test_commits_only_the_finished_prefix() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.started("p0", offset)
    tracker.finished("p0", 12)
    assert tracker.take() == {}
    tracker.finished("p0", 10)
    assert tracker.take() == {"p0": 11}
    assert tracker.take() == {}
    tracker.finished("p0", 11)
    assert tracker.take() == {"p0": 13}


def test_partitions_are_independent_and_can_be_forgotten() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.started("p0", 1)
    tracker.started("p1", 5)
    tracker.finished("p1", 5)
    assert tracker.take() == {"p1": 6}
    tracker.forget({"p0"})
    tracker.started("p0", 3)
    tracker.finished("p0", 3)
    assert tracker.take() == {"p0": 4}
