"""The watchdog's guard against records faust-streaming skips: a record delivered past offsets
that were never delivered is held back, faust's consumer is told those offsets are not processed
(its gap intervals), and the partition is read again from the first of them.

And its stall clock: a partition's committed offset that stops short of the end counts as
stuck only for the time the worker spends outside batches (a long batch is no stall).

faust's consumer is stood in for by the few members the watchdog touches (assignment,
seek_wait, resume_partitions and the ``_gap`` interval trees, real ``intervaltree`` objects as
faust's); the offsets the watchdog reads from Kafka are given, and so is the clock."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.types import TP
from intervaltree import IntervalTree  # type: ignore[import-untyped]

from greenchain.common.config import Settings
from greenchain.scoring import watchdog as watchdog_module
from greenchain.scoring.faust_bridge import Record
from greenchain.scoring.watchdog import STALL_SECONDS, StallWatchdog
from greenchain.testing.clock import ManualClock

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

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.seeks.extend((tp.partition, offset) for tp, offset in partitions.items())

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


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    clock = ManualClock()
    monkeypatch.setattr(watchdog_module, "time", SimpleNamespace(monotonic=clock))
    return clock


def stuck_at(dog: StallWatchdog, committed: int, end: int) -> None:
    """Kafka says: partition 0 and 1 end at ``end``, the group committed ``committed``."""

    async def read_offsets(
        tps: list[TopicPartition],
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        return {tp: end for tp in tps}, {tp: committed for tp in tps}

    dog._read_offsets = read_offsets  # type: ignore[method-assign]


def test_a_long_batch_is_no_stall(clock: ManualClock) -> None:
    dog, consumer = watchdog({})
    stuck_at(dog, committed=5, end=900)
    asyncio.run(dog.check())  # the clock starts
    with dog.working():  # the first batch of a backfill: minutes, nothing commits meanwhile
        clock.now += 4 * STALL_SECONDS
        asyncio.run(dog.check())
    clock.now += 1
    asyncio.run(dog.check())
    assert consumer.seeks == []


def test_committed_offsets_stuck_outside_batches_are_sought_back(clock: ManualClock) -> None:
    dog, consumer = watchdog({})
    stuck_at(dog, committed=5, end=900)
    asyncio.run(dog.check())
    with dog.working(), dog.working():  # a batch and a refresh at once: counted once
        clock.now += STALL_SECONDS
    clock.now += STALL_SECONDS - 1
    asyncio.run(dog.check())
    assert consumer.seeks == []  # 14 s outside work
    clock.now += 2
    asyncio.run(dog.check())
    assert sorted(consumer.seeks) == [(0, 5), (1, 5)]
