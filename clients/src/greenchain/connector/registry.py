"""The registry through ingest (admin token): suppliers, chain leaders and published designation
lists, with jittered retries while ingest answers UNAVAILABLE (nothing stored, safe to resend)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import grpc
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from greenchain.connector.client import Connector
from greenchain.connector.designations import chunks
from greenchain.v1 import ingest_pb2, ingest_pb2_grpc, supplier_pb2

T = TypeVar("T")


def _unavailable(exc: BaseException) -> bool:
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() == grpc.StatusCode.UNAVAILABLE


async def with_retries(connector: Connector, call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` until it does not answer UNAVAILABLE (at most ``connector.max_attempts``)."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_unavailable),
        wait=wait_exponential_jitter(multiplier=0.5, max=connector.max_backoff),
        stop=stop_after_attempt(connector.max_attempts),
        reraise=True,
    ):
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises the last error")


async def upsert_suppliers(
    connector: Connector, suppliers: Sequence[supplier_pb2.Supplier], concurrency: int = 64
) -> int:
    """Upserts every supplier; returns how many were stored."""
    semaphore = asyncio.Semaphore(concurrency)
    async with connector.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)

        async def one(supplier: supplier_pb2.Supplier) -> None:
            async with semaphore:
                await with_retries(
                    connector, lambda: stub.UpsertSupplier(supplier, metadata=connector.metadata())
                )

        await asyncio.gather(*(one(s) for s in suppliers))
    return len(suppliers)


async def upsert_chains(connector: Connector, chains: Sequence[supplier_pb2.Chain]) -> int:
    """Upserts chain leaders (name, credit code, green supply-chain designation)."""
    async with connector.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        for chain in chains:

            def upsert(
                c: supplier_pb2.Chain = chain,
            ) -> Awaitable[ingest_pb2.UpsertSupplierResponse]:
                return stub.UpsertChain(c, metadata=connector.metadata())

            await with_retries(connector, upsert)
    return len(chains)


async def import_designations(
    connector: Connector, rows: Sequence[ingest_pb2.DesignationRow], dry_run: bool = False
) -> ingest_pb2.ImportDesignationsResponse:
    """Sends a designation list (in requests that keep related rows together); ingest matches
    and applies it and reports every row. The answer covers every row, in row order."""
    total = ingest_pb2.ImportDesignationsResponse(dry_run=dry_run)
    async with connector.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        for chunk in chunks(rows):
            request = ingest_pb2.ImportDesignationsRequest(rows=chunk, dry_run=dry_run)

            def send(
                r: ingest_pb2.ImportDesignationsRequest = request,
            ) -> Awaitable[ingest_pb2.ImportDesignationsResponse]:
                return stub.ImportDesignations(r, metadata=connector.metadata())

            answer = await with_retries(connector, send)
            total.results.extend(answer.results)
            total.applied += answer.applied
            total.suppliers_updated += answer.suppliers_updated
    total.results.sort(key=lambda r: r.row)
    return total
