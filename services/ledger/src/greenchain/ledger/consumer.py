"""Ratings topic -> the ledger's sequence topic -> LedgerStore, resuming from stored offsets.

Two loops, no consumer group (each ledger instance owns its SQLite file and reads every
partition, so instances are independent read replicas and a fresh one rebuilds itself):

- the **copier** reads the ratings topic (every partition) and copies each record, unchanged,
  to the sequence topic (one partition) with a ``greenchain-source`` header naming its ratings
  position. It starts once the reader has caught up, from the positions the log already holds,
  so a new replica copies nothing that another one copied before;
- the **reader** reads the sequence topic in order and appends to the store. Every replica
  reads the same sequence, and the store skips a position it has already applied (two
  replicas copying the same rating at once), so every replica builds the same Merkle tree.

After each appended batch the store's new signed checkpoint is published to the compacted
checkpoints topic, for witnesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from greenchain.common.telemetry import extract_context
from greenchain.ledger.store import Entry, LedgerStore, Record
from greenchain.v1 import rating_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("greenchain.ledger")

SOURCE_HEADER = "greenchain-source"


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
        self._producer = DurableProducer(settings, "greenchain-ledger")
        self._reader: AIOKafkaConsumer | None = None
        self._ratings: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
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
        await assign_all_partitions(ratings, self.ratings_topic)
        self._reader, self._ratings = reader, ratings
        self._tasks = [
            asyncio.create_task(self._read(tp, end), name="ledger reader"),
            asyncio.create_task(self._copy(), name="ledger copier"),
        ]

    # reader: sequence topic -> store ----------------------------------------------------------

    async def _read(self, tp: TopicPartition, end: int) -> None:
        assert self._reader is not None
        if await self._reader.position(tp) >= end:
            self.caught_up.set()
        while True:
            batch = await self._reader.getmany(timeout_ms=200, max_records=self.max_records)
            records: list[Record] = []
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
                        with tracer.start_as_current_span(
                            "ledger append",
                            context=extract_context(message.headers),
                            kind=trace.SpanKind.CONSUMER,
                            attributes={"greenchain.supplier_id": rating.supplier_id},
                        ):
                            pass
                    records.append(
                        Record(tp.topic, tp.partition, message.offset, rating, source or (-1, -1))
                    )
            if records:
                appended = await asyncio.to_thread(self.store.append, records)
                if appended:
                    self.on_appended(appended)
                    await self._publish_checkpoint()
            if not self.caught_up.is_set() and await self._reader.position(tp) >= end:
                self.caught_up.set()

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
        await self.caught_up.wait()
        await self._seek_ratings()
        while True:
            batch = await self._ratings.getmany(timeout_ms=200, max_records=self.max_records)
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
                await asyncio.gather(*deliveries)
            except Exception as exc:  # not acknowledged: copy again from the stored positions
                log.warning("copying ratings to the sequence topic failed (%r); retrying", exc)
                await asyncio.sleep(1.0)
                await self._seek_ratings()
                continue
            await asyncio.to_thread(self.store.save_offsets, self.ratings_topic, next_offsets)

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
