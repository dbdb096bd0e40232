"""Test helpers that move real records through real topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from google.protobuf.message import DecodeError
from kafka import KafkaProducer

from greenchain.client import sampledata
from greenchain.common import topics
from greenchain.common.batches import decode_record
from greenchain.common.config import Settings
from greenchain.common.kafka import client_security
from greenchain.common.ratings import declarations_digest
from greenchain.connector.mapping import Mapping
from greenchain.connector.readers import declarations_from_table
from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.model import Methodology, snapshot
from greenchain.scoring.state import SupplierState, apply
from greenchain.v1 import declaration_pb2, rating_pb2, supplier_pb2


def sample_declarations(
    suppliers: int = 30, months: int = 6, seed: int = 1
) -> tuple[list[supplier_pb2.Supplier], list[declaration_pb2.Declaration]]:
    """A small sample population as registry entries and (valid) declarations."""
    population = sampledata.generate(suppliers, months, seed)
    export, mapping = sampledata._flavour_frame(population.monthly, "generic")
    items = declarations_from_table(export, Mapping.parse(mapping))
    decls = [i.declaration for i in items]
    # the generator's deliberate ERP errors would be stopped by ingest; keep the valid ones
    from greenchain.ingest.validation import validate_declaration

    registry = {s.supplier_id: s for s in population.suppliers}
    designated = sampledata.designated_suppliers(population)  # as after the list import
    return designated, [d for d in decls if not validate_declaration(d, registry)]


def provenance(decls: Iterable[declaration_pb2.Declaration]) -> dict[str, str]:
    """Each supplier's ``declarations_digest`` when a rating uses every one of ``decls``."""
    ids: dict[str, list[str]] = {}
    for decl in decls:
        ids.setdefault(decl.supplier_id, []).append(decl.declaration_id)
    return {sid: declarations_digest(these) for sid, these in ids.items()}


def produce(
    settings: Settings,
    base_topic: str,
    messages: Iterable[tuple[bytes, bytes]],
) -> int:
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        linger_ms=5,
        **client_security(settings),
    )
    count = 0
    try:
        for key, value in messages:
            producer.send(settings.topic(base_topic), key=key, value=value)
            count += 1
        producer.flush(60)
    finally:
        producer.close()
    return count


def produce_registry(settings: Settings, suppliers: Sequence[supplier_pb2.Supplier]) -> None:
    produce(
        settings,
        topics.SUPPLIERS,
        ((s.supplier_id.encode(), s.SerializeToString()) for s in suppliers),
    )


def produce_declarations(settings: Settings, decls: Sequence[declaration_pb2.Declaration]) -> None:
    produce(
        settings,
        topics.DECLARATIONS,
        ((d.supplier_id.encode(), d.SerializeToString()) for d in decls),
    )


async def read_all(settings: Settings, topic: str, quiet: float, within: float) -> list[bytes]:
    """Every value on ``topic`` (partition order kept) once it has been quiet for ``quiet`` s."""
    return [value for value, _ in await read_records(settings, topic, quiet, within)]


async def read_declarations_on_topic(
    settings: Settings, quiet: float, within: float
) -> list[declaration_pb2.Declaration]:
    """Every declaration on the declarations topic, batch records expanded, in order."""
    records = await read_records(settings, topics.DECLARATIONS, quiet, within)
    return [e.declaration for value, headers in records for e in decode_record(value, headers)]


async def read_records(
    settings: Settings, topic: str, quiet: float, within: float
) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """Every (value, headers) on ``topic`` once it has been quiet for ``quiet`` s."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **client_security(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[tuple[bytes, list[tuple[str, bytes]]]] = []
    try:
        deadline = time.monotonic() + within
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            new = [(r.value, list(r.headers)) for records in batch.values() for r in records]
            if new:
                values.extend(new)
                last_new = time.monotonic()
            elif values and time.monotonic() - last_new >= quiet:
                break
    finally:
        await consumer.stop()
    return values


def settled_ratings(
    settings: Settings, expected: int, quiet: float = 8.0, within: float = 180.0
) -> dict[str, rating_pb2.SupplierRating]:
    """The latest rating per supplier once the ratings topic has been quiet for ``quiet`` s and
    has ratings for at least ``expected`` suppliers."""
    deadline = time.monotonic() + within
    latest: dict[str, rating_pb2.SupplierRating] = {}
    while time.monotonic() < deadline:
        values = asyncio.run(read_all(settings, topics.RATINGS, quiet, deadline - time.monotonic()))
        latest = {}
        for value in values:
            try:
                rating = rating_pb2.SupplierRating.FromString(value)
            except DecodeError:  # a poison record a test put there is no rating
                continue
            if rating.revision >= latest.get(rating.supplier_id, rating).revision:
                latest[rating.supplier_id] = rating
        if len(latest) >= expected:
            return latest
    raise TimeoutError(f"ratings for {len(latest)} of {expected} suppliers")


def offline_ratings(
    suppliers: Sequence[supplier_pb2.Supplier], decls: Sequence[declaration_pb2.Declaration]
) -> dict[str, rating_pb2.SupplierRating]:
    """What an uninterrupted worker must end with: the engine run once over the whole state."""
    engine = ScoringEngine(Methodology.load())
    for supplier in suppliers:
        engine.set_supplier(supplier)
    states: dict[str, SupplierState] = {}
    for decl in decls:
        apply(states.setdefault(decl.supplier_id, {}), decl)
    population = engine.update(states)
    engine.set_snapshot("settled", snapshot(population, engine.m))  # the settled population's
    return {e.rating.supplier_id: e.rating for e in engine.ratings(population, datetime.now(UTC))}


def assert_same_ratings(
    actual: dict[str, rating_pb2.SupplierRating], expected: dict[str, rating_pb2.SupplierRating]
) -> None:
    """Same provenance, grade, tier, total and indicator points per supplier (all differences
    are reported at once)."""
    assert set(actual) == set(expected)
    problems: list[tuple[object, ...]] = []
    for sid, want in sorted(expected.items()):
        got = actual[sid]
        if (got.declarations_digest, got.coverage.declarations_used) != (
            want.declarations_digest,
            want.coverage.declarations_used,
        ):
            used = (got.coverage.declarations_used, want.coverage.declarations_used)
            problems.append((sid, "declarations", *used))
        if (got.grade, got.readiness_tier) != (want.grade, want.readiness_tier):
            problems.append(
                (
                    sid,
                    "grade/tier",
                    (got.grade, got.readiness_tier),
                    (want.grade, want.readiness_tier),
                )
            )
        if abs(got.total_score - want.total_score) >= 1e-4:
            problems.append((sid, "total", got.total_score, want.total_score, got.revision))
        for a, b in zip(got.indicators, want.indicators, strict=True):
            if a.indicator != b.indicator or abs(a.points - b.points) >= 1e-4:
                problems.append(
                    (sid, a.indicator, a.points, b.points, a.benchmark_value, b.benchmark_value)
                )
    assert not problems, problems
