"""Ratings topic -> the ledger's sequence topic -> LedgerStore, resuming from stored offsets.

Two loops over partitions assigned by hand, not by a consumer group (each ledger instance owns
its SQLite file and reads every partition, so instances are independent read replicas and a
fresh one rebuilds itself):

- the **copier** reads the ratings topic (every partition) and copies each record, unchanged,
  to the sequence topic (one partition) with a ``greenchain-source`` header naming its ratings
  position. It starts once the reader has caught up, from the positions the log already holds,
  so a new replica copies nothing that another one copied before;
- the **reader** reads the sequence topic in order and appends to the store. Every replica
  reads the same sequence, and the store skips a position it has already applied (two
  replicas copying the same rating at once), so every replica builds the same Merkle tree.

After each appended batch the store's new signed checkpoint is published to the compacted
checkpoints topic, for witnesses.

**Caught up** (issue #19): at start the consumer takes the end offsets of the sequence and the
ratings topics; it is caught up once the reader has applied the sequence topic to its start end
and every rating produced before the start (ratings end offsets) is in the log (copied, then
applied). Until then the server answers UNAVAILABLE and health says NOT_SERVING.

**Lag** (``lag``, refreshed every ``REPORT_SECONDS``): records not yet in the log = sequence
records not yet applied + ratings records not yet copied, against the topics' end offsets.

**Consumer group, for lag tools only** (issue #18). The consumed positions are committed to
the group ``settings.group("ledger")`` every ``REPORT_SECONDS``, after the SQLite transaction
that applied them: ratings partitions at the next offset not yet in the log, the sequence
partition at the next offset not yet applied, so ``kafka-consumer-groups.sh --describe`` shows
the ledger's lag. The SQLite file wins: it is the only thing read to resume, because its
offsets commit atomically with the entries they produced (a group commit cannot join that
transaction: it may lag behind it after a crash, and a replica on an empty disk must rebuild
from the beginning whatever the group says). Replicas share the group, so it shows the
position of the replica that committed last; each replica reports its own lag in its answers.

**Failure**: if the reader or the copier dies (a store error, a full disk), ``failure`` gets
the exception; the server then reports NOT_SERVING and the process exits for its supervisor,
which restarts it from the SQLite file (nothing is retried in place: an error the store raised
once will usually be raised again, and a restart re-checks everything).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.message import DecodeError
from opentelemetry import trace

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import (
    DurableProducer,
    assign_all_partitions,
    client_security,
    start_with_retry,
)
from greenchain.common.metrics import LEDGER_APPEND_SECONDS, LEDGER_ENTRIES, record_consumer_lag
from greenchain.common.telemetry import extract_context
from greenchain.ledger.store import Entry, LedgerStore, Record
from greenchain.v1 import rating_pb2

log = logging.getLogger(__name__)

COPY_ACK_SECONDS = 60.0
"""Longest wait for Kafka to acknowledge a batch of copies to the sequence topic; after it the
batch is copied again from the stored positions (a copy is applied once: its source header)."""
tracer = trace.get_tracer("greenchain.ledger")

SOURCE_HEADER = "greenchain-source"
REPORT_SECONDS = 1.0


def _source(headers: object) -> tuple[int, int] | None:
    for key, value in headers or ():  # type: ignore[attr-defined]
        if key == SOURCE_HEADER:
            partition, _, offset = bytes(value).decode().partition(":")
            return int(partition), int(offset)
    return None


def _log_failure(done: asyncio.Future[object]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("checkpoint not published: %r", done.exception())


class RatingsConsumer:
    def __init__(
        self,
        settings: Settings,
        store: LedgerStore,
        on_appended: Callable[[list[Entry]], None],
        max_records: int = 2000,
    ) -> None:
        self.ratings_topic = settings.topic(topics.RATINGS)
        self.sequence_topic = settings.topic(topics.LEDGER_SEQUENCE)
        self.checkpoints_topic = settings.topic(topics.LEDGER_CHECKPOINTS)
        self.settings = settings
        self.store = store
        self.on_appended = on_appended
        self.max_records = max_records
        self.caught_up = asyncio.Event()
        self.failure: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
        self.lag: int | None = None  # records not yet in the log (None: not measured yet)
        self._producer = DurableProducer(settings, "greenchain-ledger")
        self._reader: AIOKafkaConsumer | None = None
        self._ratings: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sequence_read = asyncio.Event()  # the reader reached the sequence end at start
        self._ratings_start_end: dict[TopicPartition, int] = {}
        self._catch_up_target: int | None = None  # sequence offset to apply before caught up
        self._last_copied = -1  # sequence offset of the latest copy this process made
        self._copied_next: dict[int, int] = {}  # ratings positions copied and acked, in memory

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.settings.group("ledger"),  # commits only: partitions are assigned
            **client_security(self.settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="greenchain-ledger",
        )

    async def start(self) -> None:
        await self._producer.start()
        reader = self._consumer()
        await start_with_retry(reader.start, "ledger sequence reader")
        [tp] = await assign_all_partitions(reader, self.sequence_topic)
        stored = self.store.offsets(self.sequence_topic)
        if tp.partition in stored:
            reader.seek(tp, stored[tp.partition])
        else:
            await reader.seek_to_beginning(tp)
        end = (await reader.end_offsets([tp]))[tp]
        ratings = self._consumer()
        await start_with_retry(ratings.start, "ledger ratings copier")
        ratings_tps = await assign_all_partitions(ratings, self.ratings_topic)
        self._ratings_start_end = await ratings.end_offsets(ratings_tps)
        self._reader, self._ratings = reader, ratings
        self._tasks = [
            asyncio.create_task(self._read(tp, end), name="ledger reader"),
            asyncio.create_task(self._copy(), name="ledger copier"),
        ]
        for task in self._tasks:
            task.add_done_callback(self._on_task_done)
        self._tasks.append(asyncio.create_task(self._report(tp), name="ledger lag report"))

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        """An essential loop ended: that is a failure (they run until cancelled)."""
        if task.cancelled() or self.failure.done():
            return
        error = task.exception() or RuntimeError(f"{task.get_name()} ended")
        log.error("%s died: %r", task.get_name(), error, exc_info=error)
        self.failure.set_result(error)

    # reader: sequence topic -> store ----------------------------------------------------------

    async def _read(self, tp: TopicPartition, end: int) -> None:
        assert self._reader is not None
        if await self._reader.position(tp) >= end:
            self._sequence_read.set()
        while True:
            batch = await self._reader.getmany(timeout_ms=200, max_records=self.max_records)
            records: list[Record] = []
            traced: list[trace.Span] = []  # one span per rating, over the append
            for messages in batch.values():
                for message in messages:
                    source = _source(message.headers)
                    rating: rating_pb2.SupplierRating | None = None
                    if source is None:
                        log.error("sequence record %d has no source; skipped", message.offset)
                    else:
                        try:
                            rating = rating_pb2.SupplierRating.FromString(message.value)
                        except DecodeError:
                            log.error("undecodable rating at %s; skipped", source)
                    if rating is not None:
                        span = tracer.start_span(
                            "ledger append",
                            context=extract_context(message.headers),
                            kind=trace.SpanKind.CONSUMER,
                            attributes={"greenchain.supplier_id": rating.supplier_id},
                        )
                        traced.append(span)
                    records.append(
                        Record(tp.topic, tp.partition, message.offset, rating, source or (-1, -1))
                    )
            if records:
                started = time.perf_counter()
                try:
                    appended = await asyncio.to_thread(self.store.append, records)
                finally:  # each span ends when its rating's batch is committed (or failed)
                    for span in traced:
                        span.end()
                LEDGER_APPEND_SECONDS.observe(time.perf_counter() - started)
                LEDGER_ENTRIES.inc(len(appended))
                if appended:
                    self.on_appended(appended)
                    await self._publish_checkpoint()
            if not self.caught_up.is_set():
                position = await self._reader.position(tp)
                if position >= end:
                    self._sequence_read.set()
                if self._catch_up_target is not None and position >= self._catch_up_target:
                    log.info("caught up: %d entries in the log", self.store.size())
                    self.caught_up.set()
            await record_consumer_lag("ledger", self._reader)

    async def _publish_checkpoint(self) -> None:
        _, note = self.store.checkpoint()
        key = f"{self.store.origin} {self.store.signer.name}".encode()
        try:
            delivery = await self._producer.send(self.checkpoints_topic, note.encode(), key, [])
        except Exception as exc:  # witnesses miss one; the next batch publishes a newer one
            log.warning("checkpoint not published: %r", exc)
            return
        delivery.add_done_callback(_log_failure)

    # copier: ratings topic -> sequence topic ---------------------------------------------------

    async def _seek_ratings(self) -> None:
        assert self._ratings is not None
        copied = self.store.offsets(self.ratings_topic)
        applied = self.store.applied_sources()
        for tp in self._ratings.assignment():
            start = max(copied.get(tp.partition, 0), applied.get(tp.partition, -1) + 1)
            if start:
                self._ratings.seek(tp, start)
            else:
                await self._ratings.seek_to_beginning(tp)

    async def _copy(self) -> None:
        assert self._ratings is not None
        await self._sequence_read.wait()
        await self._seek_ratings()
        while True:
            if self._catch_up_target is None and await self._copied_to_start():
                # everything produced before the start is copied: once the reader has applied
                # the last copy (or the sequence end at start), the ledger is caught up
                self._catch_up_target = self._last_copied + 1
            batch = await self._ratings.getmany(timeout_ms=200, max_records=self.max_records)
            await record_consumer_lag("ledger", self._ratings)
            if not batch:
                continue
            applied = self.store.applied_sources()
            deliveries = []
            next_offsets: dict[int, int] = {}
            try:
                for tp, messages in batch.items():
                    for message in messages:
                        next_offsets[tp.partition] = message.offset + 1
                        if message.offset <= applied.get(tp.partition, -1):
                            continue  # another replica copied it already
                        headers = [
                            *(message.headers or ()),
                            (SOURCE_HEADER, f"{tp.partition}:{message.offset}".encode()),
                        ]
                        deliveries.append(
                            await self._producer.send(
                                self.sequence_topic, message.value, message.key, headers
                            )
                        )
                # bounded: a write lost in a broker restart must not stop the copying for good
                async with asyncio.timeout(COPY_ACK_SECONDS):
                    placed = await asyncio.gather(*deliveries)
                for metadata in placed:
                    self._last_copied = max(self._last_copied, metadata.offset)
                self._copied_next.update(next_offsets)
            except Exception as exc:  # not acknowledged: copy again from the stored positions
                log.warning("copying ratings to the sequence topic failed (%r); retrying", exc)
                await asyncio.sleep(1.0)
                await self._seek_ratings()
                continue
            await asyncio.to_thread(self.store.save_offsets, self.ratings_topic, next_offsets)

    async def _copied_to_start(self) -> bool:
        assert self._ratings is not None
        for tp, end in self._ratings_start_end.items():
            if await self._ratings.position(tp) < end:
                return False
        return True

    # lag and the consumer group ---------------------------------------------------------------

    async def _report(self, sequence: TopicPartition) -> None:
        """Every REPORT_SECONDS: measure the lag and commit the positions to the group."""
        while True:
            try:
                await self._report_once(sequence)
            except Exception as exc:  # lag reporting is for operators: never fatal
                log.warning("lag report failed: %r", exc)
            await asyncio.sleep(REPORT_SECONDS)

    async def _report_once(self, sequence: TopicPartition) -> None:
        assert self._reader is not None and self._ratings is not None
        ratings_tps = list(self._ratings_start_end)
        sequence_end = (await self._reader.end_offsets([sequence]))[sequence]
        ratings_end = await self._ratings.end_offsets(ratings_tps)
        applied_next = (await asyncio.to_thread(self.store.offsets, self.sequence_topic)).get(
            sequence.partition, 0
        )
        copied = await asyncio.to_thread(self.store.offsets, self.ratings_topic)
        applied = await asyncio.to_thread(self.store.applied_sources)
        lag = max(0, sequence_end - applied_next)
        in_log: dict[TopicPartition, int] = {}
        for tp in ratings_tps:
            next_copy = max(
                copied.get(tp.partition, 0),
                self._copied_next.get(tp.partition, 0),
                applied.get(tp.partition, -1) + 1,
            )
            lag += max(0, ratings_end[tp] - next_copy)
            if tp.partition in applied:
                in_log[tp] = applied[tp.partition] + 1
        self.lag = lag
        if applied_next:
            await self._reader.commit({sequence: applied_next})
        if in_log:
            await self._ratings.commit(in_log)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for consumer in (self._reader, self._ratings):
            if consumer:
                await consumer.stop()
        await self._producer.stop()
