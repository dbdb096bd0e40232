"""Ingest throughput: acked declarations/s through StreamDeclarations into Kafka, vs Kafka's
ProducerPerformance (same record size, same broker, same durability: the ceiling), with one
ingest process and with two processes sharing one port (SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from bench.common import create_topic, fresh_settings, peak_of, service
from bench.kafka_tools import producer_performance
from greenchain.common.config import Settings
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.testing.flows import sample_declarations
from greenchain.v1 import supplier_pb2

STREAMS = 8  # concurrent connector streams, each on a TCP connection of its own


class OwnConnection(Connector):
    """A connector whose channel opens a TCP connection of its own: gRPC shares one connection
    between channels to the same target by default, and SO_REUSEPORT spreads connections (not
    streams) across the processes on a port."""

    def channel(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(
            self.target,
            options=[
                ("grpc.max_send_message_length", 64 * 1024),
                ("grpc.use_local_subchannel_pool", 1),
            ],
            interceptors=aio_client_interceptors(),
        )


def _send(
    settings: Settings, registry: list[supplier_pb2.Supplier], items: list[Item]
) -> tuple[float, int]:
    async def send() -> tuple[float, int]:
        await upsert_suppliers(Connector(settings.ingest_listen), registry)
        connectors = [
            OwnConnection(settings.ingest_listen, chunk_size=5000) for _ in range(STREAMS)
        ]
        started = time.perf_counter()
        parts = [items[i::STREAMS] for i in range(STREAMS)]
        summaries = await asyncio.gather(
            *(c.send(p) for c, p in zip(connectors, parts, strict=True))
        )
        return time.perf_counter() - started, sum(s.accepted for s in summaries)

    return asyncio.run(send())


def _measure(
    bootstrap: str,
    workdir: Path,
    processes: int,
    registry: list[supplier_pb2.Supplier],
    items: list[Item],
) -> tuple[float, list[float]]:
    """Acked declarations/s of ``processes`` ingest processes on one port, and their peak RSS."""
    settings = fresh_settings(
        bootstrap, workdir, topic_partitions=3, ingest_reuse_port=int(processes > 1)
    )
    logs = [workdir / f"process-{n}" for n in range(processes)]
    for log in logs:
        log.mkdir(parents=True, exist_ok=True)
    ingests = [service("ingest", settings, log).start() for log in logs]
    try:
        for ingest in ingests:
            ingest.wait_for_log("IngestServer started", within=120)
        elapsed, accepted = _send(settings, registry, items)
        peaks = [peak_of(ingest) for ingest in ingests]
    finally:
        for ingest in ingests:
            ingest.stop()
    if accepted != len(items):
        raise AssertionError(f"ingest accepted {accepted} of {len(items)} declarations")
    return accepted / elapsed, peaks


def run(bootstrap: str, workdir: Path, suppliers: int, months: int) -> dict[str, Any]:
    registry, decls = sample_declarations(suppliers=suppliers, months=months, seed=13)
    items = [Item(d, i) for i, d in enumerate(decls)]
    record_size = round(statistics.mean(len(d.SerializeToString()) for d in decls))
    one, (peak,) = _measure(bootstrap, workdir / "ingest", 1, registry, items)
    two, peaks = _measure(bootstrap, workdir / "ingest-two", 2, registry, items)
    settings = fresh_settings(bootstrap, workdir / "producer-performance")
    ceiling_topic = create_topic(settings, "bench.producer-performance", 3)
    ceiling = producer_performance(bootstrap, ceiling_topic, len(items), record_size)
    return {
        "declarations": len(items),
        "record_bytes": record_size,
        "streams": STREAMS,
        "declarations_per_s": {
            "ingest": one,
            "ingest_two_processes": two,
            "kafka_producer_performance": ceiling,
        },
        "share_of_ceiling": one / ceiling,
        "share_of_ceiling_two_processes": two / ceiling,
        "peak_rss_mib": {"ingest": max(peak, *peaks)},
    }
