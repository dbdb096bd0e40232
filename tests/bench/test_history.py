"""The benchmarks' history writer and generator: the records greenchain's worker and the peers
read are the declarations asked for, in the form asked for, countable by committed offsets."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer

from bench.backfill import population
from bench.history import Written, write
from greenchain.common import topics
from greenchain.common.batches import decode_record, is_batch, partition_for
from greenchain.common.config import Settings
from greenchain.testing.flows import sample_declarations
from greenchain.v1 import declaration_pb2

PARTITIONS = 3
Read = tuple[int, int, bytes, list[tuple[str, bytes]]]  # partition, offset, value, headers


async def _records(settings: Settings, expected: int) -> list[Read]:
    consumer = AIOKafkaConsumer(
        settings.topic(topics.DECLARATIONS),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[Read] = []
    try:
        while len(out) < expected:
            batch = await consumer.getmany(timeout_ms=2000)
            assert batch, f"only {len(out)} of {expected} records"
            for records in batch.values():
                out += [(r.partition, r.offset, r.value, list(r.headers)) for r in records]
    finally:
        await consumer.stop()
    return out


@pytest.mark.parametrize("form", ["batch", "single"])
def test_written_declarations_read_back_in_supplier_order(settings: Settings, form: str) -> None:
    topics.ensure_topics(settings)  # settings.topic_partitions partitions each
    assert settings.topic_partitions == PARTITIONS
    _, decls = sample_declarations(suppliers=12, months=3, seed=2)
    written = write(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.DECLARATIONS),
        PARTITIONS,
        decls,
        form,  # type: ignore[arg-type]
        batch_size=7,
    )
    assert written.declarations == len(decls)
    if form == "single":
        assert written.records == len(decls)
    else:  # at most 7 declarations per record, full ones but the last of each partition
        assert len(decls) / 7 <= written.records <= len(decls) / 7 + PARTITIONS
    records = asyncio.run(_records(settings, written.records))
    assert len(records) == written.records

    by_supplier: dict[str, list[str]] = defaultdict(list)
    per_partition: dict[int, int] = defaultdict(int)
    for partition, offset, value, headers in sorted(records):
        assert is_batch(headers) == (form == "batch")
        entries = decode_record(value, headers)
        assert form == "single" or len(entries) <= 7
        for entry in entries:
            sid = entry.declaration.supplier_id
            if form == "batch":  # where a record keyed by the supplier would have gone
                assert partition == partition_for(sid.encode(), PARTITIONS)
            by_supplier[sid].append(entry.declaration.declaration_id)
        per_partition[partition] += len(entries)
        # committed offset = offset + 1: the declarations up to and including this record
        assert written.done({partition: offset + 1}) == per_partition[partition]
    expected: dict[str, list[str]] = defaultdict(list)
    for decl in decls:
        expected[decl.supplier_id].append(decl.declaration_id)
    assert by_supplier == expected
    ends: dict[int, int] = defaultdict(int)
    for partition, offset, _, _ in records:
        ends[partition] = max(ends[partition], offset + 1)
    assert written.done(ends) == len(decls)


def test_done_counts_declarations_of_committed_batch_records() -> None:
    written = Written("batch", records=3, declarations=9, cumulative={0: [2, 5], 1: [4]})
    assert written.done({}) == 0
    assert written.done({0: 1}) == 2
    assert written.done({0: 2, 1: 1}) == 9
    assert Written("single").done({0: 4, 1: 3}) == 7


def test_history_is_cloned_in_month_order_with_unique_ids() -> None:
    suppliers, history = population(30_000)
    decls = list(history)
    assert len(decls) == 30_000
    registered = {s.supplier_id for s in suppliers}
    assert len(registered) == len(suppliers)
    assert {d.supplier_id for d in decls} <= registered
    assert len({d.declaration_id for d in decls}) == len(decls)
    months = [(d.period.year, d.period.month) for d in decls]
    assert months == sorted(months)
    assert all(isinstance(d, declaration_pb2.Declaration) and d.WhichOneof("body") for d in decls)
