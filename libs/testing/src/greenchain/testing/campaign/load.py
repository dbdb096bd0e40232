"""The campaign's load: declarations streamed to ingest over gRPC the way a connector sends them
(chunks, each unacknowledged declaration sent again with the same id), paced so the load lasts
as long as the fault schedule. Only declarations ingest ACKNOWLEDGED (Kafka had them) count."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_result,
    stop_after_delay,
    wait_exponential_jitter,
)

from greenchain.common.idempotency import RESEND_METADATA
from greenchain.v1 import declaration_pb2, ingest_pb2_grpc

log = logging.getLogger(__name__)

# ingest answers these for a declaration it will never store; anything else is worth a retry
_FINAL = {grpc.StatusCode.INVALID_ARGUMENT.value[0], grpc.StatusCode.PERMISSION_DENIED.value[0]}


@dataclass
class LoadResult:
    """What the load generator saw: ids ingest acknowledged, rejected for good, or never."""

    acknowledged: set[str] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)
    unacknowledged: set[str] = field(default_factory=set)
    attempts: int = 0
    broken_streams: int = 0
    seconds: float = 0.0


@dataclass
class LoadGenerator:
    """Sends ``declarations`` to ingest at ``target`` over ``streams`` concurrent streams, at
    about ``rate`` declarations/s, retrying each chunk's unacknowledged rest for up to
    ``give_up_after`` seconds."""

    target: str
    declarations: Sequence[declaration_pb2.Declaration]
    rate: float
    chunk_size: int = 250
    streams: int = 2
    give_up_after: float = 300.0
    call_timeout: float = 30.0
    result: LoadResult = field(default_factory=LoadResult)

    async def run(self) -> LoadResult:
        started = time.monotonic()
        chunks = [
            list(self.declarations[i : i + self.chunk_size])
            for i in range(0, len(self.declarations), self.chunk_size)
        ]
        queue: asyncio.Queue[tuple[int, list[declaration_pb2.Declaration]]] = asyncio.Queue()
        for numbered in enumerate(chunks):
            queue.put_nowait(numbered)
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)

            async def worker() -> None:
                while not queue.empty():
                    number, chunk = queue.get_nowait()
                    # pacing: chunk n starts no earlier than n * chunk_size / rate
                    due = started + number * self.chunk_size / self.rate
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    await self._deliver(stub, chunk)

            await asyncio.gather(*(worker() for _ in range(self.streams)))
        self.result.seconds = time.monotonic() - started
        return self.result

    async def _deliver(
        self, stub: ingest_pb2_grpc.IngestServiceAsyncStub, chunk: list[declaration_pb2.Declaration]
    ) -> None:
        """One chunk until every declaration in it is acknowledged or finally rejected."""
        todo, resend = chunk, False
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_result(bool),  # retried while something is left to send
                wait=wait_exponential_jitter(multiplier=0.2, max=3.0),
                stop=stop_after_delay(self.give_up_after),
            ):
                with attempt:
                    todo = await self._stream(stub, todo, resend)
                    resend = True
                attempt.retry_state.set_result(todo)
        except RetryError:
            self.result.unacknowledged.update(d.declaration_id for d in todo)

    async def _stream(
        self,
        stub: ingest_pb2_grpc.IngestServiceAsyncStub,
        chunk: list[declaration_pb2.Declaration],
        resend: bool,
    ) -> list[declaration_pb2.Declaration]:
        """One stream of ``chunk``; returns the declarations still to send. ``resend``: some of
        them were sent before and their outcome is unknown (ingest stores none twice)."""
        self.result.attempts += 1
        done: set[int] = set()
        try:
            call = stub.StreamDeclarations(
                iter(chunk),
                timeout=self.call_timeout,
                metadata=(RESEND_METADATA,) if resend else None,
            )
            async for answer in call:
                outcome = answer.WhichOneof("outcome")
                if outcome == "accepted":
                    self.result.acknowledged.add(answer.declaration_id)
                    done.add(answer.sequence)
                elif answer.rejected.code in _FINAL:
                    fields = "; ".join(
                        f"{v.field}: {v.description}" for v in answer.rejected.violations
                    )
                    self.result.rejected[answer.declaration_id] = (
                        f"{answer.rejected.message} ({fields})"
                    )
                    done.add(answer.sequence)
        except grpc.aio.AioRpcError as err:
            self.result.broken_streams += 1
            log.debug("stream broke (%s); resending the rest", err.code().name)
        return [d for i, d in enumerate(chunk) if i not in done]
