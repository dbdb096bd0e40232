"""The watchdog's guard against records faust-streaming skips: a record delivered past offsets
that were never delivered is held back, faust's consumer is told those offsets are not processed
(its gap intervals), and the partition is read again from the first of them.

faust's consumer is stood in for by the few members the watchdog touches (assignment, seek,
resume_partitions and the ``_gap`` interval trees, real ``intervaltree`` objects as faust's)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from faust.types import TP
from intervaltree import IntervalTree  # type: ignore[import-untyped]

from greenchain.common.config import Settings
from greenchain.scoring.faust_bridge import Record
from greenchain.scoring.watchdog import StallWatchdog

TOPIC = "greenchain.declarations.v1"


class Consumer:
    def __init__(self, partitions: range) -> None:
        self.tps = {TP(TOPIC, p) for p in partitions}
        self._gap: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)
        self.seeks: list[tuple[int, int]] = []

    def assignment(self) -> set[TP]:
        return self.tps

    def resume_partitions(self, tps: list[TP]) -> None:
        pass

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp.partition, offset))

    def skip(self, partition: int, start: int, end: int) -> None:
        """What faust does when it drops offsets start..end-1 (they count as processed)."""
        self._gap[TP(TOPIC, partition)].addi(start, end)

    def counted(self, partition: int) -> set[int]:
        return {o for i in self._gap[TP(TOPIC, partition)] for o in range(i.begin, i.end)}


def watchdog(expected: dict[int, int]) -> tuple[StallWatchdog, Consumer]:
    consumer = Consumer(range(2))
    app: Any = SimpleNamespace(consumer=consumer)
    dog = StallWatchdog(app, TOPIC, Settings())
    dog.expected = dict(expected)
    return dog, consumer


def records(partition: int, *offsets: int) -> list[Record]:
    return [Record(b"k", b"v", [], TOPIC, partition, o) for o in offsets]


def offsets(kept: list[Record]) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) for r in kept]


def test_records_in_order_pass_and_advance_what_comes_next() -> None:
    dog, consumer = watchdog({0: 10, 1: 0})
    kept = asyncio.run(dog.in_order(records(0, 10, 11) + records(1, 0)))
    assert offsets(kept) == [(0, 10), (0, 11), (1, 0)]
    assert dog.expected == {0: 12, 1: 1} and consumer.seeks == []


def test_a_record_past_dropped_ones_is_held_back_and_they_are_read_again() -> None:
    dog, consumer = watchdog({0: 10, 1: 5})
    consumer.skip(0, 11, 15)  # faust: 10 was last read, 14 arrived, 11..14 count as processed
    batch = records(0, 14, 15) + records(1, 5)
    kept = asyncio.run(dog.in_order(batch))
    assert offsets(kept) == [(1, 5)]  # partition 1 is untouched
    assert consumer.seeks == [(0, 10)]
    assert consumer.counted(0) == set()  # the committed offset cannot pass 10 any more
    # after the seek: 10..15 in order, all applied
    kept = asyncio.run(dog.in_order(records(0, 10, 11, 12, 13, 14, 15)))
    assert offsets(kept) == [(0, o) for o in range(10, 16)] and dog.expected[0] == 16


def test_stale_records_after_the_seek_are_held_back_too() -> None:
    dog, consumer = watchdog({0: 0})
    asyncio.run(dog.in_order(records(0, 7)))
    assert asyncio.run(dog.in_order(records(0, 8, 9))) == []  # still in faust's queue
    assert consumer.seeks == [(0, 0), (0, 0)]
    assert offsets(asyncio.run(dog.in_order(records(0, 0, 1)))) == [(0, 0), (0, 1)]


def test_offsets_without_records_are_taken_when_the_same_record_comes_first_again() -> None:
    dog, consumer = watchdog({0: 3})
    assert asyncio.run(dog.in_order(records(0, 5))) == []
    kept = asyncio.run(dog.in_order(records(0, 5, 6)))  # read again from 3: nothing at 3, 4
    assert offsets(kept) == [(0, 5), (0, 6)]
    assert consumer.counted(0) == {3, 4} and dog.expected[0] == 7


def test_replays_of_earlier_records_are_kept() -> None:
    dog, consumer = watchdog({0: 20})
    kept = asyncio.run(dog.in_order(records(0, 12, 13)))
    assert offsets(kept) == [(0, 12), (0, 13)] and dog.expected[0] == 20 and not consumer.seeks
