"""The one place that touches faust-streaming's internals.

faust's public API delivers one event at a time; scoring takes micro-batches with
``take_events``, which leaves two gaps this module fills: the current-event context that tables
need to find a key's partition (and the rocksdb store its database), and the plain fields of
an event (headers, source position) that a batch step works with.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import faust.streams as faust_streams
from faust.types import TP


@dataclass(frozen=True)
class Record:
    """One source record as the scoring steps see it (no faust type in it)."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    topic: str
    partition: int
    offset: int
    event: Any = field(default=None, compare=False, repr=False)  # faust's, for table context


def record_of(event: Any) -> Record:
    """The plain fields of a faust event."""
    raw: Any = event.headers or {}
    items = raw.items() if isinstance(raw, Mapping) else raw
    message = event.message
    return Record(
        key=event.key,
        value=event.value,
        headers=[(k, v) for k, v in items if isinstance(v, bytes)],
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        event=event,
    )


@contextmanager
def table_context(record: Record) -> Iterator[None]:
    """Makes the record's event faust's current event in this task while table state is read
    and written: tables find the partition (and the rocksdb store its database) through it, and
    ``take_events`` does not set it. Only the task-local context variable is set; the stream's
    own ``current_event`` belongs to faust's buffering task and must not be touched. A record
    without an event (tests) needs no context."""
    if record.event is None:
        yield
        return
    token = faust_streams._current_event.set(weakref.ref(record.event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def forget_skipped(consumer: Any, topic: str, partition: int, start: int, end: int) -> None:
    """Tells faust's consumer that offsets ``start`` to ``end - 1`` of a partition were not
    processed. When faust-streaming delivers a later record before earlier ones (after a seek,
    a restart or a rebalance: a prefetched record), it drops the earlier ones and counts them
    as processed (its "gap" intervals, which let the committed offset pass them); without
    them there, the committed offset stops before the first of them until they are processed
    (at-least-once). faust keeps one interval tree per partition in ``Consumer._gap``."""
    gaps = getattr(consumer, "_gap", None)
    if gaps is not None:
        tree = gaps.get(TP(topic, partition))
        if tree is not None:
            tree.chop(start, end)


def count_as_processed(consumer: Any, topic: str, partition: int, start: int, end: int) -> None:
    """The opposite of :func:`forget_skipped`, for offsets that hold no record (a gap faust was
    right about): the committed offset may pass them."""
    gaps = getattr(consumer, "_gap", None)
    if gaps is not None:
        gaps[TP(topic, partition)].addi(start, end)


def withhold_ack(record: Record) -> Any:
    """Keeps faust from counting ``record`` as processed when its batch is acknowledged, so the
    group's committed offset stops before it; returns what :func:`release_acks` takes (None for
    a record without an event: tests). faust acks a ``take_events`` batch as a whole; a message
    already marked acked is left out of the offsets it commits (``Consumer.ack``), and its
    rebalance wait (``wait_empty``) does not wait for it. The record's bytes are let go: only
    its position is kept."""
    event = record.event
    if event is None:
        return None
    message = event.message
    message.acked = True
    message.value = message.key = None
    return message


def release_acks(consumer: Any, messages: list[Any]) -> None:
    """Acknowledges messages :func:`withhold_ack` held back: the committed offset may pass
    them now (faust commits on its next commit interval)."""
    for message in messages:
        if message is not None:
            message.acked = False
            consumer.ack(message)


async def batches(stream: Any, size: int, within: float) -> AsyncIterator[list[Record]]:
    """Micro-batches of up to ``size`` records, waiting at most ``within`` seconds to fill one.
    faust acks a batch's events when the loop body that consumed it returns."""
    async for events in stream.take_events(size, within=within):
        yield [record_of(event) for event in events]
