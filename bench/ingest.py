"""Ingest throughput: acked declarations/s through StreamDeclarations into Kafka, vs Kafka's
ProducerPerformance (same record size, same broker, same durability: the ceiling)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import create_topic, fresh_settings, peak_of, service
from bench.kafka_tools import producer_performance
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.testing.flows import sample_declarations

STREAMS = 4  # concurrent connector streams (the connector's own chunking does the rest)


def run(bootstrap: str, workdir: Path, suppliers: int, months: int) -> dict[str, Any]:
    settings = fresh_settings(bootstrap, workdir / "ingest", topic_partitions=3)
    registry, decls = sample_declarations(suppliers=suppliers, months=months, seed=13)
    items = [Item(d, i) for i, d in enumerate(decls)]
    record_size = round(statistics.mean(len(d.SerializeToString()) for d in decls))
    ingest = service("ingest", settings, workdir / "ingest").start()
    try:
        ingest.wait_for_log("IngestServer started", within=120)

        async def send() -> tuple[float, int]:
            connector = Connector(settings.ingest_listen, chunk_size=5000)
            await upsert_suppliers(connector, registry)
            started = time.perf_counter()
            parts = [items[i::STREAMS] for i in range(STREAMS)]
            summaries = await asyncio.gather(*(connector.send(part) for part in parts))
            return time.perf_counter() - started, sum(s.accepted for s in summaries)

        elapsed, accepted = asyncio.run(send())
        peak = peak_of(ingest)
    finally:
        ingest.stop()
    if accepted != len(items):
        raise AssertionError(f"ingest accepted {accepted} of {len(items)} declarations")
    ceiling_topic = create_topic(settings, "bench.producer-performance", 3)
    ceiling = producer_performance(bootstrap, ceiling_topic, len(items), record_size)
    rate = accepted / elapsed
    return {
        "declarations": accepted,
        "record_bytes": record_size,
        "streams": STREAMS,
        "declarations_per_s": {"ingest": rate, "kafka_producer_performance": ceiling},
        "share_of_ceiling": rate / ceiling,
        "peak_rss_mib": {"ingest": peak},
    }
