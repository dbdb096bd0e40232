"""Helpers for tests that talk to real gRPC servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
from aiokafka import AIOKafkaConsumer

from greenchain.common.config import Settings
from greenchain.common.kafka import client_security
from greenchain.common.telemetry import KafkaHeaders


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


def fields(violations: Sequence[tuple[str, str]]) -> set[str]:
    return {field for field, _ in violations}
