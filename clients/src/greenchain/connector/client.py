"""Streams declarations to ingest: one stream per chunk, retries with backoff, a summary.

A declaration is done when ingest accepted it (Kafka has it) or rejected it for a reason that a
retry cannot fix (INVALID_ARGUMENT, PERMISSION_DENIED). Anything else (UNAVAILABLE, a broken
stream, a deadline) is retried with the same declaration id, marked as a resend: ingest answers
a declaration it already stored with that copy's position, so nothing is lost or duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt, wait_exponential_jitter

from greenchain.common import tls
from greenchain.common.idempotency import RESEND_METADATA
from greenchain.connector.readers import Item
from greenchain.v1 import ingest_pb2, ingest_pb2_grpc

log = logging.getLogger(__name__)
tracer = trace.get_tracer("greenchain.connector")

FINAL_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT.value[0],
    grpc.StatusCode.PERMISSION_DENIED.value[0],
}


@dataclass
class Summary:
    accepted: int = 0
    rejected: dict[int, str] = field(default_factory=dict)  # origin -> reason
    attempts: int = 0

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)


def _reason(rejected: ingest_pb2.Rejected) -> str:
    details = "; ".join(f"{v.field}: {v.description}" for v in rejected.violations)
    return f"{rejected.message}: {details}" if details else rejected.message


@dataclass
class Connector:
    """Sends declarations to the ingest service at ``target``."""

    target: str
    token: str = ""
    chunk_size: int = 2000
    max_attempts: int = 30
    max_backoff: float = 10.0
    root_certificates: bytes | None = None  # the CA to trust: TLS when given
    certificate_chain: bytes | None = None  # mTLS: our client certificate ...
    private_key: bytes | None = None  # ... and its key
    insecure_dev: bool = False  # GREENCHAIN_INSECURE_DEV: a token may go plaintext anywhere

    def channel(self) -> grpc.aio.Channel:
        """A channel that carries the W3C trace context to ingest (OpenTelemetry interceptors);
        :class:`~greenchain.common.tls.PlaintextTokenError` rather than a token in the clear."""
        return tls.channel(
            self.target,
            tls.ClientTls(self.root_certificates, self.certificate_chain, self.private_key),
            token=self.token,
            insecure_dev=self.insecure_dev,
            options=[("grpc.max_send_message_length", 64 * 1024)],
            interceptors=aio_client_interceptors(),
        )

    def metadata(self, resend: bool = False) -> tuple[tuple[str, str], ...] | None:
        """Call metadata: the token, and on a resend :data:`RESEND_METADATA` (ingest then
        recognises declarations it stored although their answer never arrived)."""
        metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {self.token}"),) if self.token else ()
        )
        if resend:
            metadata += (RESEND_METADATA,)
        return metadata or None

    async def send(
        self, items: Sequence[Item], on_progress: Callable[[int], None] | None = None
    ) -> Summary:
        """Sends every item until it is accepted or finally rejected."""
        summary = Summary()
        todo = list(items)
        with tracer.start_as_current_span(
            "connector.send", attributes={"declarations": len(items)}
        ):
            async with self.channel() as channel:
                stub = ingest_pb2_grpc.IngestServiceStub(channel)

                async def attempt() -> list[Item]:
                    """Sends what is not stored yet; returns what is still not stored."""
                    nonlocal todo
                    summary.attempts += 1
                    retry: list[Item] = []
                    for start in range(0, len(todo), self.chunk_size):
                        chunk = todo[start : start + self.chunk_size]
                        retry.extend(
                            await self._send_chunk(
                                stub, chunk, summary, on_progress, resend=summary.attempts > 1
                            )
                        )
                    todo = retry
                    return retry

                left: list[Item] = await AsyncRetrying(
                    retry=retry_if_result(bool),  # something is left to send
                    stop=stop_after_attempt(self.max_attempts),
                    wait=wait_exponential_jitter(multiplier=0.5, max=self.max_backoff),
                    before_sleep=lambda state: log.warning(
                        "%d declarations not stored yet; retrying in %.1f s",
                        len(todo),
                        state.upcoming_sleep,
                    ),
                    retry_error_callback=lambda state: todo,  # attempts used up
                )(attempt)
                for item in left:
                    summary.rejected[item.origin] = "not stored after retries (ingest unavailable)"
        return summary

    async def _send_chunk(
        self,
        stub: ingest_pb2_grpc.IngestServiceAsyncStub,
        chunk: list[Item],
        summary: Summary,
        on_progress: Callable[[int], None] | None,
        resend: bool,
    ) -> list[Item]:
        """Streams one chunk; returns the items to retry. ``resend``: the chunk holds
        declarations sent before whose outcome is unknown."""
        done: set[int] = set()
        try:
            call = stub.StreamDeclarations(
                (item.declaration for item in chunk),
                metadata=self.metadata(resend),
                timeout=600,
            )
            async for result in call:
                item = chunk[result.sequence]
                done.add(result.sequence)
                if result.WhichOneof("outcome") == "accepted":
                    summary.accepted += 1
                elif result.rejected.code in FINAL_CODES:
                    summary.rejected[item.origin] = _reason(result.rejected)
                else:
                    done.discard(result.sequence)
                    continue
                if on_progress:
                    on_progress(1)
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                raise
            log.warning(
                "stream broke (%s: %s); will retry the rest", err.code().name, err.details()
            )
        return [item for i, item in enumerate(chunk) if i not in done]
