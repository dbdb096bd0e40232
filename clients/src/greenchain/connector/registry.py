"""Registering suppliers through ingest (admin token), with the connector's retries."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from greenchain.connector.client import Connector
from greenchain.v1 import ingest_pb2_grpc, supplier_pb2


async def upsert_suppliers(
    connector: Connector, suppliers: Sequence[supplier_pb2.Supplier], concurrency: int = 64
) -> int:
    """Upserts every supplier (retrying UNAVAILABLE); returns how many were stored."""
    semaphore = asyncio.Semaphore(concurrency)
    async with connector.channel() as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)

        async def one(supplier: supplier_pb2.Supplier) -> None:
            async with semaphore:
                for attempt in range(connector.max_attempts):
                    try:
                        await stub.UpsertSupplier(supplier, metadata=connector.metadata())
                        return
                    except grpc.aio.AioRpcError as err:
                        if err.code() != grpc.StatusCode.UNAVAILABLE:
                            raise
                        await asyncio.sleep(min(0.5 * 2**attempt, connector.max_backoff))
                raise RuntimeError(f"{supplier.supplier_id}: ingest unavailable")

        await asyncio.gather(*(one(s) for s in suppliers))
    return len(suppliers)
