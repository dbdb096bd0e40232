"""A watchdog for faust's skipped records: a record delivered past ones never delivered gets
them read again (:meth:`StallWatchdog.in_order`), and a source partition whose committed
offset stops short of its end gets sought back (reprocessing is idempotent), or the worker exits
for a clean restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from greenchain.common.config import Settings
from greenchain.common.kafka import client_security
from greenchain.common.metrics import set_lag
from greenchain.scoring.faust_bridge import (
    Record,
    count_as_processed,
    forget_skipped,
    withhold_ack,
)

log = logging.getLogger(__name__)

STALL_SECONDS = 15.0
"""A partition with records waiting and no progress for this long, outside batches, counts as
stalled."""


class StallWatchdog:
    """Detects a source partition whose committed offset stops short of its end, and gets it
    moving again.

    faust-streaming can skip a range of records after a restart or rebalance (a prefetched
    later record is delivered first, cf. faust-streaming issues #221 and #629): the records of
    the gap are never processed, so the group's committed offset stays before them. The
    watchdog compares committed and end offsets; when a partition has records waiting and its
    committed offset has not moved for STALL_SECONDS of time the worker spent outside batches
    (:meth:`working`), it seeks the partition back to the committed offset (reprocessing is
    idempotent). If that does not help, it exits the process for its supervisor to restart it,
    which is safe with at-least-once processing.
    """

    def __init__(self, app: faust.App, topic: str, settings: Settings) -> None:
        self.app = app
        self.topic = topic
        self.settings = settings
        # partition -> (committed offset, since when, busy_seconds then)
        self.seen: dict[int, tuple[int, float, float]] = {}
        self.attempts: dict[int, int] = {}
        self.replay_pending = False  # a restart: replay from start_offsets once caught up
        self.start_offsets: dict[int, int] = {}  # partition -> committed when this run began
        self.expected: dict[int, int] = {}  # partition -> offset of the next record to read
        self.rechecks: dict[int, tuple[int, int]] = {}  # partition -> skip read again
        self.busy_seconds = 0.0  # time spent in batches and refreshes (see :meth:`working`)
        # partitions whose committed offset waits on purpose: acks withheld until ratings owed
        # while catching up are emitted (see ScoringWorker)
        self.held: set[int] = set()
        self._working = 0  # batches and refreshes running now
        self._working_since: float | None = None
        self._offsets: AIOKafkaConsumer | None = None

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Around a batch or a refresh (they may overlap: the time counts once): while one
        runs, the stall clock stands still. A long batch (the first of a backfill can hold a
        million declarations) moves no committed offset, and faust cannot commit while it holds
        the event loop."""
        if self._working == 0:
            self._working_since = time.monotonic()
        self._working += 1
        try:
            yield
        finally:
            self._working -= 1
            if self._working == 0 and self._working_since is not None:
                self.busy_seconds += time.monotonic() - self._working_since
                self._working_since = None

    def _busy_until(self, now: float) -> float:
        """Seconds spent working up to ``now`` (a batch in progress counts up to now)."""
        started = self._working_since
        return self.busy_seconds + (0.0 if started is None else now - started)

    async def mark_start(self) -> None:
        """Notes where this run of the worker starts reading (the group's committed offsets, or
        the partition's first offset when none is committed): the first record of each
        partition must be there (:meth:`in_order`), and the run replays from there once caught
        up (see :meth:`_replay`)."""
        consumer: Any = self.app.consumer
        tps = [
            TopicPartition(self.topic, tp.partition)
            for tp in consumer.assignment()
            if tp.topic == self.topic
        ]
        self.expected, self.rechecks = {}, {}
        try:
            _, committed = await self._read_offsets(tps)
            assert self._offsets is not None
            first = await self._offsets.beginning_offsets(tps)
        except KafkaError as err:
            log.warning("watchdog: start offsets unavailable (%s); no skip or replay check", err)
            return
        self.start_offsets = {tp.partition: offset for tp, offset in committed.items()}
        self.expected = {tp.partition: max(committed[tp], first[tp]) for tp in tps}

    async def in_order(self, records: list[Record]) -> list[Record]:
        """The records of a batch that follow what this run read before, per partition. A
        record past offsets never delivered (faust-streaming dropped them, see
        :func:`~greenchain.scoring.faust_bridge.forget_skipped`) is left out with the rest of
        its partition in the batch, and the partition is read again from the first dropped
        offset, so a supplier's declarations are applied in order and none is skipped. When
        the same record comes first again, no record lies between (a transaction marker, say):
        it is taken and faust may count those offsets as processed again."""
        kept: list[Record] = []
        skipped: dict[int, tuple[int, int]] = {}  # partition -> (first dropped, first past)
        for record in records:
            partition = record.partition
            if record.topic != self.topic:
                kept.append(record)
                continue
            if partition in skipped:
                withhold_ack(record)
                continue
            want = self.expected.get(partition)
            if want is not None and record.offset > want:
                if self.rechecks.pop(partition, None) != (want, record.offset):
                    skipped[partition] = (want, record.offset)
                    withhold_ack(record)
                    continue
                log.info("partition %d: no records at %d..%d", partition, want, record.offset - 1)
                count_as_processed(self.app.consumer, self.topic, partition, want, record.offset)
                want = record.offset
            elif want is not None and record.offset == want:
                self.rechecks.pop(partition, None)
            if want is None or record.offset == want:
                self.expected[partition] = record.offset + 1
            kept.append(record)  # an earlier offset: a replay, applied again (idempotent)
        for partition, (first, past) in skipped.items():
            log.warning(
                "partition %d: the consumer delivered offset %d before %d..%d; reading from %d "
                "again",
                partition,
                past,
                first,
                past - 1,
                first,
            )
            # the held-back records are not acknowledged either (withhold_ack): they are read
            # again after the seek and processed then
            forget_skipped(self.app.consumer, self.topic, partition, first, past + 1)
            await self._seek(partition, first)
            self.rechecks[partition] = (first, past)
        return kept

    async def _seek(self, partition: int, offset: int) -> None:
        """Reads ``partition`` again from ``offset``, which the next record must then have."""
        consumer: Any = self.app.consumer
        faust_tp = next(
            (
                t
                for t in consumer.assignment()
                if t.topic == self.topic and t.partition == partition
            ),
            None,
        )
        if faust_tp is None:  # no longer ours: its new owner reads it from the committed offset
            self.expected.pop(partition, None)
            return
        consumer.resume_partitions([faust_tp])
        # on faust's consumer thread, where aiokafka's fetcher runs: a seek made from this
        # loop can change the fetcher's records while it reads them (a KeyError that stops it)
        await consumer.seek_wait({faust_tp: offset})
        self.expected[partition] = offset

    async def check(self) -> None:
        consumer: Any = self.app.consumer  # faust's: seek and resume are all we touch
        assigned = sorted(tp.partition for tp in consumer.assignment() if tp.topic == self.topic)
        if not assigned:
            return
        tps = [TopicPartition(self.topic, p) for p in assigned]
        try:
            # bounded: a lookup that hangs (a coordinator lost in a broker restart) would stop
            # this timer, and with it the worker's liveness heartbeat
            async with asyncio.timeout(STALL_SECONDS):
                ends, committed_now = await self._read_offsets(tps)
        except (KafkaError, TimeoutError) as err:
            # the broker is unreachable (restart, network): faust keeps retrying on its own;
            # the watchdog looks again on its next tick, with a new client, instead of
            # crashing the worker
            log.warning("watchdog: offsets unavailable (%r); will look again", err)
            await self._drop_offsets_client()
            return
        set_lag("scoring", ends, committed_now)
        if self.replay_pending and all(committed_now[tp] >= ends[tp] for tp in tps):
            await self._replay(consumer)
            return
        now = time.monotonic()
        busy = self._busy_until(now)
        for tp in tps:
            committed = committed_now[tp]
            last, since, busy_since = self.seen.get(tp.partition, (-1, now, busy))
            if committed != last or committed >= ends[tp] or tp.partition in self.held:
                self.seen[tp.partition] = (committed, now, busy)
                self.attempts.pop(tp.partition, None)
                continue
            # only time outside batches counts: while a batch runs, nothing can commit
            stuck_for = (now - since) - (busy - busy_since)
            if stuck_for < STALL_SECONDS:
                continue
            attempt = self.attempts.get(tp.partition, 0) + 1
            self.attempts[tp.partition] = attempt
            log.warning(
                "partition %d: committed offset stuck at %d of %d for %.0f s; "
                "seeking back to it (attempt %d)",
                tp.partition,
                committed,
                ends[tp],
                stuck_for,
                attempt,
            )
            if attempt > 3:
                log.error("partition %d still stuck: exiting for a clean restart", tp.partition)
                os._exit(75)
            await self._seek(tp.partition, committed)
            self.seen[tp.partition] = (committed, now, busy)

    async def _read_offsets(
        self, tps: list[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        """End and committed offsets of ``tps`` (from a consumer that never joins the group)."""
        if self._offsets is None:
            offsets = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                **client_security(self.settings),
                group_id=self.settings.group("scoring"),
                enable_auto_commit=False,
            )
            try:
                await offsets.start()
            except BaseException:
                await offsets.stop()
                raise
            self._offsets = offsets
        ends = await self._offsets.end_offsets(tps)
        committed = {tp: await self._offsets.committed(tp) or 0 for tp in tps}
        return ends, committed

    async def _replay(self, consumer: Any) -> None:
        """After a restart, once caught up: read what this run read once more, from the offsets
        committed when it started. faust can skip records while it recovers state after a
        restart; replaying is idempotent (applied declarations change nothing) and applies any
        it skipped. Its cost follows the work since the restart, not the topic's history."""
        self.replay_pending = False
        partitions = [
            tp.partition
            for tp in consumer.assignment()
            if tp.topic == self.topic and tp.partition in self.start_offsets
        ]
        log.info("restart check: replaying %d partition(s) from this run's start", len(partitions))
        for partition in partitions:
            await self._seek(partition, self.start_offsets[partition])

    async def _drop_offsets_client(self) -> None:
        offsets, self._offsets = self._offsets, None
        if offsets is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    await offsets.stop()

    async def stop(self) -> None:
        await self._drop_offsets_client()
