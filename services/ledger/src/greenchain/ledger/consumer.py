"""Ratings topic -> LedgerStore, resuming from the offsets stored with the entries.

No consumer group: each ledger instance owns its SQLite file and reads every partition, so
several instances are independent read replicas, and a fresh instance rebuilds itself from the
topic (which keeps ratings forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from google.protobuf.message import DecodeError
from opentelemetry import trace

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import assign_all_partitions, start_with_retry
from greenchain.common.telemetry import extract_context
from greenchain.ledger.store import Entry, LedgerStore, Record
from greenchain.v1 import rating_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("greenchain.ledger")


class RatingsConsumer:
    def __init__(
        self,
        settings: Settings,
        store: LedgerStore,
        on_appended: Callable[[list[Entry]], None],
        max_records: int = 2000,
    ) -> None:
        self.topic = settings.topic(topics.RATINGS)
        self.settings = settings
        self.store = store
        self.on_appended = on_appended
        self.max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="greenchain-ledger",
        )
        await start_with_retry(consumer.start, "ledger consumer")
        assigned = await assign_all_partitions(consumer, self.topic)
        stored = self.store.offsets(self.topic)
        for tp in assigned:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name="ledger consumer")

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=self.max_records)
            records: list[Record] = []
            for tp, messages in batch.items():
                for message in messages:
                    rating: rating_pb2.SupplierRating | None
                    try:
                        rating = rating_pb2.SupplierRating.FromString(message.value)
                    except DecodeError:
                        log.error("undecodable rating at %s:%d; skipped", tp, message.offset)
                        rating = None
                    if rating is not None:
                        parent = extract_context(message.headers)
                        with tracer.start_as_current_span(
                            "ledger append",
                            context=parent,
                            kind=trace.SpanKind.CONSUMER,
                            attributes={"greenchain.supplier_id": rating.supplier_id},
                        ):
                            pass
                    records.append(Record(tp.topic, tp.partition, message.offset, rating))
            if records:
                appended = await asyncio.to_thread(self.store.append, records)
                if appended:
                    self.on_appended(appended)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer:
            await self._consumer.stop()
