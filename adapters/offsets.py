"""Which offsets may be committed when records finish out of order (at-least-once)."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from typing import Generic, TypeVar

Partition = TypeVar("Partition")


class OffsetTracker(Generic[Partition]):
    """Per partition, the offset after the longest finished prefix of started records."""

    def __init__(self) -> None:
        self._started: dict[Partition, deque[int]] = {}
        self._finished: dict[Partition, set[int]] = {}
        self._committable: dict[Partition, int] = {}

    def started(self, partition: Partition, offset: int) -> None:
        self._started.setdefault(partition, deque()).append(offset)
        self._finished.setdefault(partition, set())

    def finished(self, partition: Partition, offset: int) -> None:
        started, finished = self._started[partition], self._finished[partition]
        finished.add(offset)
        while started and started[0] in finished:
            done = started.popleft()
            finished.discard(done)
            self._committable[partition] = done + 1

    def take(self) -> dict[Partition, int]:
        """The offsets to commit now (each once); empty when nothing moved on."""
        out, self._committable = self._committable, {}
        return out

    def restore(self, offsets: dict[Partition, int]) -> None:
        """Give back offsets whose commit failed, unless a later one is already due."""
        for partition, offset in offsets.items():
            if partition in self._started and self._committable.get(partition, -1) < offset:
                self._committable[partition] = offset

    def forget(self, partitions: Collection[Partition]) -> None:
        """Drop partitions this consumer no longer owns."""
        for partition in list(self._started):
            if partition in partitions:
                del self._started[partition], self._finished[partition]
                self._committable.pop(partition, None)
