"""The batcher's grouping, limits and failure handling, with a producer that records sends
(the real producer and broker are in tests/integration/test_ingest.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.structs import RecordMetadata

from greenchain.common.batches import decode_record, partition_for
from greenchain.common.config import Settings
from greenchain.ingest.batcher import DeclarationBatcher, KafkaUnavailable
from greenchain.testing.builders import envelope

PARTITIONS = 3


class RecordingProducer:
    """Acks every record at the next offset of its partition, or fails it with ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[dict[str, Any]] = []

    async def partitions_for(self, topic: str) -> int:
        return PARTITIONS

    async def send(self, topic: str, **record: Any) -> asyncio.Future[RecordMetadata]:
        delivery: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        if self.error is not None:
            delivery.set_exception(self.error)
        else:
            offset = sum(1 for r in self.sent if r["partition"] == record["partition"])
            record["offset"] = offset
            delivery.set_result(RecordMetadata(topic, record["partition"], None, offset, 0, 0, 0))
        self.sent.append(record)
        return delivery


def batcher(producer: RecordingProducer, **settings: Any) -> DeclarationBatcher:
    return DeclarationBatcher(
        producer,  # type: ignore[arg-type]
        "decls",
        Settings(ingest_batch_linger_seconds=0.01, **settings),
        send_timeout=5.0,
    )


async def test_declarations_are_grouped_per_partition_in_order_and_acked_by_index() -> None:
    producer = RecordingProducer()
    b = batcher(producer, ingest_batch_max_count=4)
    await b.start()
    decls = [envelope("energy", f"sup-{i % 5}", 2024, 1 + i % 12) for i in range(20)]
    waiters = [b.submit(d, {"traceparent": f"t{i}"}) for i, d in enumerate(decls)]
    acks = await asyncio.gather(*waiters)
    await b.stop()

    for record in producer.sent:
        entries = decode_record(record["value"], record["headers"])
        assert 1 <= len(entries) <= 4
        assert {partition_for(e.declaration.supplier_id.encode(), 3) for e in entries} == {
            record["partition"]
        }
        assert record["key"] == entries[0].declaration.supplier_id.encode()
    at = {(r["partition"], r["offset"]): r for r in producer.sent}
    for i, (decl, ack) in enumerate(zip(decls, acks, strict=True)):
        record = at[(ack.partition, ack.offset)]
        entry = decode_record(record["value"], record["headers"])[ack.index]
        assert entry.declaration == decl
        assert ("traceparent", f"t{i}".encode()) in entry.headers


async def test_the_linger_sends_a_batch_that_is_not_full() -> None:
    producer = RecordingProducer()
    b = batcher(producer, ingest_batch_max_count=500)
    await b.start()
    ack = await asyncio.wait_for(b.submit(envelope("energy"), {}), 2.0)
    assert (ack.index, len(producer.sent)) == (0, 1)
    await b.stop()


async def test_the_byte_limit_starts_a_new_record() -> None:
    producer = RecordingProducer()
    decl = envelope("energy")
    b = batcher(producer, ingest_batch_max_bytes=decl.ByteSize() * 3)
    await b.start()
    await asyncio.gather(*(b.submit(decl, {}) for _ in range(7)))
    await b.stop()
    assert [len(decode_record(r["value"], r["headers"])) for r in producer.sent] == [2, 2, 2, 1]


async def test_a_failed_record_fails_every_declaration_in_it() -> None:
    b = batcher(RecordingProducer(error=RuntimeError("broker says no")))
    await b.start()
    waiters = [b.submit(envelope("energy", month=m), {}) for m in range(1, 6)]
    results = await asyncio.gather(*waiters, return_exceptions=True)
    await b.stop()
    assert all(isinstance(r, KafkaUnavailable) and "broker says no" in str(r) for r in results)


async def test_before_start_a_declaration_is_unavailable_not_an_error() -> None:
    b = batcher(RecordingProducer())
    with pytest.raises(KafkaUnavailable):
        await b.submit(envelope("energy"), {})
