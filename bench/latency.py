"""End-to-end latency at a fixed offered load: from ingest's acknowledgement of a declaration
to the moment the ledger publishes the first rating whose provenance includes it.

A rating names its declarations by a digest (``declarations_digest``), so the benchmark replays
what it sent through scoring's state rules and knows, per supplier, which digest a rating has
once it has read up to each declaration."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import grpc

from bench.common import fresh_settings, peak_of, percentile
from greenchain.common.ratings import declarations_digest
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.scoring.model import Methodology
from greenchain.scoring.state import SupplierState, apply, rated_ids
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


def _provenance(
    history: list[declaration_pb2.Declaration], decls: list[declaration_pb2.Declaration]
) -> dict[tuple[str, str], list[str]]:
    """(supplier, declarations digest) -> the ids of ``decls`` a rating with that digest has
    read (``history`` was sent before them)."""
    window = Methodology.load().window_months
    states: dict[str, SupplierState] = {}
    for decl in history:
        apply(states.setdefault(decl.supplier_id, {}), decl)
    read: dict[str, list[str]] = {}
    out: dict[tuple[str, str], list[str]] = {}
    for decl in decls:
        state = states.setdefault(decl.supplier_id, {})
        apply(state, decl)
        read.setdefault(decl.supplier_id, []).append(decl.declaration_id)
        digest = declarations_digest(rated_ids(state, window))
        out[(decl.supplier_id, digest)] = list(read[decl.supplier_id])
    return out


async def _measure(
    running: Pipeline,
    decls: list[declaration_pb2.Declaration],
    rate: int,
    history: list[declaration_pb2.Declaration],
) -> dict[str, Any]:
    seen: dict[str, float] = {}
    wanted = {d.declaration_id for d in decls}
    provenance = _provenance(history, decls)

    async def watch() -> None:
        async with grpc.aio.insecure_channel(running.settings.ledger_listen) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            async for entry in stub.WatchRatings(ledger_pb2.WatchRatingsRequest()):
                now = time.perf_counter()
                key = (entry.rating.supplier_id, entry.rating.declarations_digest)
                for did in provenance.get(key, ()):
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
                sent_before = warm_up + fresh[:offset]
                offset += len(batch)
                out.append(await _measure(running, batch, rate, sent_before))
                await asyncio.sleep(3)
            return out

        levels = asyncio.run(main())
        memory = {name: peak_of(p) for name, p in running.services.items()}
    finally:
        running.stop()
    return {"levels": levels, "peak_rss_mib": memory}
