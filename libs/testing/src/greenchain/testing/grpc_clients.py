"""Helpers for tests that talk to real gRPC servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from aiokafka import AIOKafkaConsumer

from greenchain.common import topics
from greenchain.common.batches import decode_record
from greenchain.common.config import Settings
from greenchain.common.kafka import client_security
from greenchain.common.telemetry import KafkaHeaders
from greenchain.v1 import declaration_pb2


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def channel(port: int) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}")


async def read_topic(
    settings: Settings, topic: str, count: int, within: float = 30.0
) -> list[tuple[bytes, bytes, KafkaHeaders]]:
    """The first ``count`` records of ``topic`` (all partitions) as (key, value, headers)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **client_security(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[tuple[bytes, bytes, KafkaHeaders]] = []
    try:
        async with asyncio.timeout(within):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    out.extend((r.key, r.value, list(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return out


@dataclass(frozen=True)
class Placed:
    """One declaration as it is on the declarations topic: where (partition, offset, index in
    its record), what, and its own headers (trace context)."""

    partition: int
    offset: int
    index: int
    key: bytes
    declaration: declaration_pb2.Declaration
    headers: KafkaHeaders


async def read_declarations(settings: Settings, count: int, within: float = 30.0) -> list[Placed]:
    """At least ``count`` declarations from the declarations topic, batch records expanded
    (every declaration of a record read is returned)."""
    consumer = AIOKafkaConsumer(
        settings.topic(topics.DECLARATIONS),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[Placed] = []
    try:
        async with asyncio.timeout(within):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for r in records:
                        out.extend(
                            Placed(r.partition, r.offset, e.index, r.key, e.declaration, e.headers)
                            for e in decode_record(r.value, list(r.headers))
                        )
    finally:
        await consumer.stop()
    return out


def fields(violations: Sequence[tuple[str, str]]) -> set[str]:
    return {field for field, _ in violations}
