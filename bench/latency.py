"""End-to-end latency at a fixed offered load: from ingest's acknowledgement of a declaration
to the moment the ledger publishes the first rating whose provenance includes it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import grpc

from bench.common import fresh_settings, peak_of, percentile
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.testing.flows import sample_declarations
from greenchain.testing.pipeline import Pipeline
from greenchain.v1 import declaration_pb2, ingest_pb2_grpc, ledger_pb2, ledger_pb2_grpc

SECONDS = 10.0
TICK = 0.02  # s between paced sends


async def _offer(
    target: str, decls: list[declaration_pb2.Declaration], rate: int
) -> tuple[dict[str, float], float]:
    """Sends ``decls`` at ``rate``/s on one stream; ack time per declaration id, achieved rate."""
    acked: dict[str, float] = {}
    per_tick = max(1, round(rate * TICK))

    async def paced() -> Any:
        started = time.perf_counter()
        for i in range(0, len(decls), per_tick):
            for decl in decls[i : i + per_tick]:
                yield decl
            delay = started + (i // per_tick + 1) * TICK - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

    started = time.perf_counter()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        async for result in stub.StreamDeclarations(paced()):
            if result.WhichOneof("outcome") == "accepted":
                acked[result.declaration_id] = time.perf_counter()
    return acked, len(acked) / (time.perf_counter() - started)


async def _measure(
    running: Pipeline, decls: list[declaration_pb2.Declaration], rate: int
) -> dict[str, Any]:
    seen: dict[str, float] = {}
    wanted = {d.declaration_id for d in decls}

    async def watch() -> None:
        async with grpc.aio.insecure_channel(running.settings.ledger_listen) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            async for entry in stub.WatchRatings(ledger_pb2.WatchRatingsRequest()):
                now = time.perf_counter()
                for did in entry.rating.declaration_ids:
                    if did in wanted and did not in seen:
                        seen[did] = now
                if len(seen) == len(wanted):
                    return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.5)  # the watch is registered
    acked, achieved = await _offer(running.settings.ingest_listen, decls, rate)
    # declarations that left the 12-month window before their month was rated never show up
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watcher, 30)
    latencies = [seen[d] - acked[d] for d in acked if d in seen]
    if not latencies:
        raise RuntimeError("no declaration reached the ledger")
    return {
        "offered_per_s": rate,
        "achieved_per_s": achieved,
        "declarations": len(acked),
        "reached_ledger": len(latencies),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def run(bootstrap: str, workdir: Path, rates: list[int]) -> dict[str, Any]:
    settings = fresh_settings(bootstrap, workdir / "latency", topic_partitions=3)
    # enough fresh declarations for every load level: months after the warm-up months
    suppliers, decls = sample_declarations(suppliers=2000, months=24, seed=17)
    periods = sorted({(d.period.year, d.period.month) for d in decls})
    warm = set(periods[:3])
    warm_up = [d for d in decls if (d.period.year, d.period.month) in warm]
    fresh = [d for d in decls if (d.period.year, d.period.month) not in warm]
    running = Pipeline(settings, workdir / "latency" / "logs")
    running.start()
    try:

        async def main() -> list[dict[str, Any]]:
            connector = Connector(running.settings.ingest_listen)
            await upsert_suppliers(connector, suppliers)
            await connector.send([Item(d, i) for i, d in enumerate(warm_up)])
            await running.settled_ledger(expected=1, quiet=5.0)
            out, offset = [], 0
            for rate in rates:
                batch = fresh[offset : offset + int(rate * SECONDS)]
                offset += len(batch)
                out.append(await _measure(running, batch, rate))
                await asyncio.sleep(3)
            return out

        levels = asyncio.run(main())
        memory = {name: peak_of(p) for name, p in running.services.items()}
    finally:
        running.stop()
    return {"levels": levels, "peak_rss_mib": memory}
