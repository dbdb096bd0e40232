"""Ledger queries: GetRating and ListRatings from concurrent clients, vs the health check on
the same server (an empty RPC: what the gRPC stack alone can serve).

- ``list_ratings_big_chain_page_50`` (issue #15): every supplier is also in one big chain
  (20,000 members in the full run); each call asks for a page of 50 at a random depth (page
  tokens collected by walking the chain once), so deep pages count as much as the first;
  reported under the ``scale`` key as ``ledger_list_ratings`` with the goal p99 <= 10 ms;
- ``get_rating_during_append`` (issue #18): GetRating while the consumer appends a fresh
  revision of every supplier (the checkpoint sizes before and after show how many entries were
  appended during the load window).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common import fresh_settings, peak_of, percentile, service
from greenchain.common import topics
from greenchain.testing.builders import rating
from greenchain.testing.flows import produce
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2

CLIENTS = 16
SECONDS = 8.0
BIG_CHAIN = "chain-big"
LIST_GOAL_P99_MS = 10.0


@dataclass(frozen=True)
class Stubs:
    """The stubs of one channel, made once: a stub per call would load the client (which
    shares the two cores with the server) with work that is not the server's."""

    ledger: ledger_pb2_grpc.LedgerServiceAsyncStub
    health: health_pb2_grpc.HealthStub


async def _load(target: str, call: Callable[[Stubs], Awaitable[object]]) -> dict[str, float]:
    """Queries/s and latency percentiles (ms) of CLIENTS concurrent callers for SECONDS."""
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stubs = Stubs(
            ledger_pb2_grpc.LedgerServiceStub(channel), health_pb2_grpc.HealthStub(channel)
        )
        await call(stubs)  # connect and warm up
        deadline = time.perf_counter() + SECONDS

        async def client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await call(stubs)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return {
        "qps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def run(bootstrap: str, workdir: Path, suppliers: int) -> dict[str, Any]:
    settings = fresh_settings(bootstrap, workdir / "ledger", topic_partitions=3)
    tiers = [rating_pb2.READINESS_TIER_NOT_YET, rating_pb2.READINESS_TIER_MUNICIPAL]
    ratings = [
        rating(f"s{i:06d}", float(i % 100), tiers[i % 2], 1e6, (f"chain-{i % 3}", BIG_CHAIN))
        for i in range(suppliers)
    ]
    produce(
        settings,
        topics.RATINGS,
        ((r.supplier_id.encode(), r.SerializeToString()) for r in ratings),
    )
    ledger = service("ledger", settings, workdir / "ledger").start()
    try:
        ledger.wait_for_log("LedgerServer started", within=120)
        target = settings.ledger_listen

        async def loaded() -> None:
            async with grpc.aio.insecure_channel(target) as channel:
                stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                last = ledger_pb2.GetRatingRequest(supplier_id=ratings[-1].supplier_id)
                while True:
                    try:
                        await stub.GetRating(last)
                        return
                    except grpc.aio.AioRpcError:
                        await asyncio.sleep(0.2)

        asyncio.run(asyncio.wait_for(loaded(), 120))
        ids = [r.supplier_id for r in ratings]

        async def get_rating(stubs: Stubs) -> object:
            request = ledger_pb2.GetRatingRequest(supplier_id=random.choice(ids))
            return await stubs.ledger.GetRating(request)

        async def list_ratings(stubs: Stubs) -> object:
            request = ledger_pb2.ListRatingsRequest(
                chain_id=f"chain-{random.randrange(3)}",
                order=ledger_pb2.RATING_ORDER_SCORE_DESC,
                page_size=50,
            )
            return await stubs.ledger.ListRatings(request)

        async def health(stubs: Stubs) -> object:
            return await stubs.health.Check(health_pb2.HealthCheckRequest())

        big = ledger_pb2.ListRatingsRequest(
            chain_id=BIG_CHAIN, order=ledger_pb2.RATING_ORDER_SCORE_DESC, page_size=50
        )
        tokens = asyncio.run(_page_tokens(target, big))

        # one request per page, made before the load: the load times the server, not this
        requests = []
        for token in tokens:
            request = ledger_pb2.ListRatingsRequest()
            request.CopyFrom(big)
            request.page_token = token
            requests.append(request)

        async def list_big_chain(stubs: Stubs) -> object:
            return await stubs.ledger.ListRatings(random.choice(requests))

        results = {
            "health_check": asyncio.run(_load(target, health)),
            "get_rating": asyncio.run(_load(target, get_rating)),
            "list_ratings_page_50": asyncio.run(_load(target, list_ratings)),
            "list_ratings_big_chain_page_50": asyncio.run(_load(target, list_big_chain)),
        }
        # a fresh revision of every supplier: the consumer appends while GetRating is loaded
        revised = [
            rating(
                r.supplier_id,
                (r.total_score + 7) % 100,
                r.readiness_tier,
                1e6,
                tuple(r.chain_ids),
                revision=2,
            )
            for r in ratings
        ]
        before = asyncio.run(_log_size(target))
        produce(
            settings,
            topics.RATINGS,
            ((r.supplier_id.encode(), r.SerializeToString()) for r in revised),
        )
        results["get_rating_during_append"] = asyncio.run(_load(target, get_rating))
        appended = asyncio.run(_log_size(target)) - before
        peak = peak_of(ledger)
    finally:
        ledger.stop()
    big_chain = results["list_ratings_big_chain_page_50"]
    return {
        "suppliers": suppliers,
        "clients": CLIENTS,
        "queries": results,
        "get_rating_share_of_health_qps": results["get_rating"]["qps"]
        / results["health_check"]["qps"],
        "appended_during_append_load": appended,
        "appended_of": len(revised),
        "peak_rss_mib": {"ledger": peak},
        "scale": {
            "ledger_list_ratings": {
                "chain_members": suppliers,
                "page_size": 50,
                "pages": len(tokens),
                "clients": CLIENTS,
                **big_chain,
                "goal_p99_ms": LIST_GOAL_P99_MS,
                "met": big_chain["p99_ms"] <= LIST_GOAL_P99_MS,
            }
        },
    }


async def _page_tokens(target: str, request: ledger_pb2.ListRatingsRequest) -> list[str]:
    """The page tokens of every page of ``request`` ('' = the first page), walking it once."""
    tokens = [""]
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        page = ledger_pb2.ListRatingsRequest()
        page.CopyFrom(request)
        while True:
            answer = await stub.ListRatings(page)
            if not answer.next_page_token:
                return tokens
            tokens.append(answer.next_page_token)
            page.page_token = answer.next_page_token


async def _log_size(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        return int((await stub.GetCheckpoint(ledger_pb2.GetCheckpointRequest())).size)
