"""Accepted declarations into Kafka, many per record: one DeclarationBatch per partition.

Each declaration goes to the partition Kafka's default partitioner gives its supplier id, so
per-supplier order and the scoring worker's ownership of a supplier are as with one record per
declaration. Declarations for one partition wait in an open batch until the batch is full
(count or bytes) or ``ingest_batch_linger_seconds`` after its first declaration; one sender task
then hands the closed batches to the producer in the order they closed (so one supplier's
declarations keep their order). Each declaration's future resolves only once Kafka acked the
whole record (acks=all), to (partition, offset, index); if the record fails, every declaration
in it fails: nothing is acknowledged that Kafka does not have.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from aiokafka.structs import RecordMetadata

from greenchain.common.batches import BATCH_FORMAT_HEADER, encode_batch, partition_for
from greenchain.common.config import Settings
from greenchain.common.kafka import DurableProducer
from greenchain.v1 import declaration_pb2, ingest_pb2

log = logging.getLogger(__name__)

_ENTRY_OVERHEAD = 16
"""Bytes a BatchedDeclaration adds around its declaration, besides its trace context."""


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge a record in time: nothing may be acknowledged to the client."""


@dataclass
class _Open:
    """A batch being filled for one partition."""

    partition: int
    declarations: list[declaration_pb2.Declaration] = field(default_factory=list)
    contexts: list[Mapping[str, str]] = field(default_factory=list)
    waiters: list[asyncio.Future[ingest_pb2.Accepted]] = field(default_factory=list)
    trackers: list[asyncio.Future[ingest_pb2.Accepted] | None] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


class DeclarationBatcher:
    """Groups declarations into one Kafka record per partition; :meth:`submit` returns a future
    of the declaration's :class:`~greenchain.v1.ingest_pb2.Accepted`."""

    def __init__(
        self, producer: DurableProducer, topic: str, settings: Settings, send_timeout: float
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.linger = settings.ingest_batch_linger_seconds
        self.max_count = max(1, settings.ingest_batch_max_count)
        self.max_bytes = settings.ingest_batch_max_bytes
        self.send_timeout = send_timeout
        self.partitions = 0
        self._open: dict[int, _Open] = {}
        self._closed: asyncio.Queue[_Open | None] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Learns the topic's partition count (the partitioner needs it) and starts sending."""
        self.partitions = await self.producer.partitions_for(self.topic)
        self._sender = asyncio.create_task(self._send_closed(), name="send declaration batches")

    async def stop(self) -> None:
        """Sends what is open and waits until every record was handed over and settled."""
        for partition in list(self._open):
            self._close(partition)
        if self._sender is not None:
            self._closed.put_nowait(None)
            await self._sender

    def submit(
        self,
        declaration: declaration_pb2.Declaration,
        trace_context: Mapping[str, str],
        tracker: asyncio.Future[ingest_pb2.Accepted] | None = None,
    ) -> asyncio.Future[ingest_pb2.Accepted]:
        """Adds a validated declaration to its partition's open batch. The future resolves once
        Kafka acked the record, or fails with :class:`KafkaUnavailable`. ``tracker``, if given,
        gets the same outcome even when the returned future was cancelled (its caller gave up
        while the record is still on its way)."""
        loop = asyncio.get_running_loop()
        if not self.partitions:  # a call that came in before Kafka was reached
            refused: asyncio.Future[ingest_pb2.Accepted] = loop.create_future()
            reason = KafkaUnavailable("ingest is not connected to Kafka yet")
            for future in (refused, tracker):
                if future is not None:
                    future.set_exception(reason)
                    future.add_done_callback(_retrieve)
            return refused
        partition = partition_for(declaration.supplier_id.encode(), self.partitions)
        size = declaration.ByteSize() + _ENTRY_OVERHEAD + sum(map(len, trace_context.values()))
        batch = self._open.get(partition)
        if batch is not None and batch.size + size > self.max_bytes:
            self._close(partition)
            batch = None
        if batch is None:
            batch = self._open[partition] = _Open(partition)
            batch.timer = loop.call_later(self.linger, self._close, partition)
        waiter: asyncio.Future[ingest_pb2.Accepted] = loop.create_future()
        batch.declarations.append(declaration)
        batch.contexts.append(trace_context)
        batch.waiters.append(waiter)
        batch.trackers.append(tracker)
        batch.size += size
        if len(batch.declarations) >= self.max_count or batch.size >= self.max_bytes:
            self._close(partition)
        return waiter

    def _close(self, partition: int) -> None:
        batch = self._open.pop(partition, None)
        if batch is None:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        self._closed.put_nowait(batch)

    async def _send_closed(self) -> None:
        """The one sender: closed batches go to the producer in the order they closed."""
        while (batch := await self._closed.get()) is not None:
            try:
                async with asyncio.timeout(self.send_timeout):
                    delivery = await self.producer.send(
                        self.topic,
                        value=encode_batch(zip(batch.declarations, batch.contexts, strict=True)),
                        # the first supplier's id: like every supplier of the batch it hashes
                        # to the record's partition, so the key still says where it belongs
                        key=batch.declarations[0].supplier_id.encode(),
                        headers=[BATCH_FORMAT_HEADER],
                        partition=batch.partition,
                    )
            except Exception as exc:  # every failure means "not stored"
                _fail(batch, exc)
                continue
            delivery.add_done_callback(partial(_settle, batch))


def _settle(batch: _Open, delivery: asyncio.Future[RecordMetadata]) -> None:
    if delivery.cancelled():
        _fail(batch, asyncio.CancelledError())
        return
    error = delivery.exception()
    if error is not None:
        _fail(batch, error)
        return
    metadata = delivery.result()
    for index, (waiter, tracker) in enumerate(zip(batch.waiters, batch.trackers, strict=True)):
        accepted = ingest_pb2.Accepted(
            topic=metadata.topic, partition=metadata.partition, offset=metadata.offset, index=index
        )
        for future in (waiter, tracker):
            # a waiter that gave up (timeout, client gone) is cancelled
            if future is not None and not future.done():
                future.set_result(accepted)


def _fail(batch: _Open, error: BaseException) -> None:
    reason = KafkaUnavailable(str(error) or type(error).__name__)
    for waiter in [*batch.waiters, *(t for t in batch.trackers if t is not None)]:
        if not waiter.done():
            waiter.set_exception(reason)
            # a waiter whose client has gone never reads it: no "never retrieved" warning
            waiter.add_done_callback(_retrieve)


def _retrieve(waiter: asyncio.Future[ingest_pb2.Accepted]) -> None:
    if not waiter.cancelled():
        waiter.exception()
