"""The IngestService: declarations in, durable Kafka records out, one result per declaration."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import grpc
from google.rpc import code_pb2

from greenchain.common import topics
from greenchain.common.auth import Principal, TokenStore, authenticate, load_store
from greenchain.common.batches import current_trace_context
from greenchain.common.config import Settings
from greenchain.common.grpc_server import Context, abort, abort_invalid
from greenchain.common.idempotency import RESEND_METADATA, idempotency_key
from greenchain.common.kafka import CompactedTopicReader, DurableProducer
from greenchain.common.metrics import DECLARATIONS
from greenchain.common.service import GrpcService
from greenchain.common.telemetry import inject_headers
from greenchain.ingest.batcher import DeclarationBatcher, KafkaUnavailable
from greenchain.ingest.dedup import DeclarationIndex
from greenchain.ingest.designations import MAX_ROWS, plan_import
from greenchain.ingest.quota import SupplierQuota
from greenchain.ingest.validation import (
    validate_chain,
    validate_declaration,
    validate_supplier,
    validate_verification,
)
from greenchain.ingest.verification import may_verify, verification_record
from greenchain.v1 import declaration_pb2, ingest_pb2, ingest_pb2_grpc, supplier_pb2

log = logging.getLogger(__name__)

SERVICE_NAME = ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name
_UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]
_INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
_DENIED = grpc.StatusCode.PERMISSION_DENIED.value[0]
_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]


def _count(result: ingest_pb2.SubmitResult) -> ingest_pb2.SubmitResult:
    """Counts ``result`` in ``greenchain_ingest_declarations_total`` (outcome, reason)."""
    if result.WhichOneof("outcome") == "accepted":
        DECLARATIONS.labels("accepted", "duplicate" if result.accepted.duplicate else "ok").inc()
    else:
        DECLARATIONS.labels("rejected", code_pb2.Code.Name(result.rejected.code)).inc()
    return result


@dataclass
class _Pending:
    sequence: int
    declaration_id: str
    delivery: asyncio.Future[ingest_pb2.Accepted] | None = None
    rejected: ingest_pb2.Rejected | None = None


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    def __init__(self, settings: Settings, tokens: TokenStore | None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.declarations_topic = settings.topic(topics.DECLARATIONS)
        self.suppliers_topic = settings.topic(topics.SUPPLIERS)
        self.chains_topic = settings.topic(topics.CHAINS)
        self.registry: dict[str, supplier_pb2.Supplier] = {}
        self.quota = SupplierQuota(settings)  # per-supplier caps (quota.py)
        self.producer = DurableProducer(settings, "greenchain-ingest")
        self.reader = CompactedTopicReader(settings, self.suppliers_topic, self._on_supplier)
        self.send_timeout = 15.0
        self.batcher = DeclarationBatcher(
            self.producer, self.declarations_topic, settings, self.send_timeout
        )
        # idempotency by declaration id (dedup.py): what Kafka has, what is on its way there
        self.index = DeclarationIndex(settings, self.declarations_topic)
        self.in_flight: dict[str, asyncio.Future[ingest_pb2.Accepted]] = {}

    # Lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.producer.start()
        await self.batcher.start()
        await self.reader.start()
        await self.index.start()
        await self.reader.wait_caught_up()
        await self.index.wait_caught_up()

    async def stop(self) -> None:
        await self.reader.stop()
        await self.index.stop()
        await self.batcher.stop()
        await self.producer.stop()

    def _on_supplier(self, key: bytes, value: bytes | None) -> None:
        """A registry record (None = deleted); one that cannot be read raises, and the reader
        logs, counts and skips it."""
        if value is None:
            self.registry.pop(key.decode(), None)
            return
        supplier = supplier_pb2.Supplier.FromString(value)
        self.registry[supplier.supplier_id] = supplier

    # Kafka --------------------------------------------------------------------------------

    def _enqueue(
        self, decl: declaration_pb2.Declaration, trace_context: Mapping[str, str]
    ) -> asyncio.Future[ingest_pb2.Accepted]:
        """Hands a valid declaration to the batcher; the returned future resolves when Kafka
        acked the record that holds it. ``trace_context`` is the submitting call's (its server
        span), taken once per call: a span per declaration cost as much as validating it.

        A declaration already stored (the index knows it) or on its way (in flight here) is not
        written again: the future gives the stored copy's position, marked ``duplicate``."""
        key = idempotency_key(decl)
        stored = self.index.find(key)
        if stored is not None:
            partition, offset, index = stored
            done: asyncio.Future[ingest_pb2.Accepted] = asyncio.get_running_loop().create_future()
            done.set_result(
                ingest_pb2.Accepted(
                    topic=self.declarations_topic,
                    partition=partition,
                    offset=offset,
                    index=index,
                    duplicate=True,
                )
            )
            return done
        delivery = self.in_flight.get(key)
        if delivery is not None:
            return _duplicate_of(delivery)
        # the record's outcome, kept whatever the caller does: a resend waits on it
        tracker: asyncio.Future[ingest_pb2.Accepted] = asyncio.get_running_loop().create_future()
        tracker.add_done_callback(partial(self._settled, key))
        self.in_flight[key] = tracker
        # the caller gets the batcher's own future: no extra loop hop per declaration
        return self.batcher.submit(decl, trace_context, tracker)

    def _settled(self, key: str, delivery: asyncio.Future[ingest_pb2.Accepted]) -> None:
        del self.in_flight[key]
        if not delivery.cancelled() and delivery.exception() is None:
            accepted = delivery.result()
            self.index.remember_written(key, (accepted.partition, accepted.offset, accepted.index))

    async def _read_declarations_to_end(self, context: Context) -> None:
        """Before a resend is checked: what any ingest process stored until now is indexed."""
        try:
            async with asyncio.timeout(self.send_timeout):
                await self.index.read_to_end()
        except Exception as exc:
            await abort(
                context,
                grpc.StatusCode.UNAVAILABLE,
                f"cannot check the resent declarations against Kafka yet, retry: {exc!r}",
            )

    async def _acked(self, delivery: asyncio.Future[ingest_pb2.Accepted]) -> ingest_pb2.Accepted:
        try:
            if delivery.done():  # the usual case in a stream: no timer to set up
                return delivery.result()
            async with asyncio.timeout(self.send_timeout):
                return await delivery
        except KafkaUnavailable:
            raise
        except Exception as exc:
            raise KafkaUnavailable(str(exc) or type(exc).__name__) from exc

    # Checks -------------------------------------------------------------------------------

    def _check(
        self, decl: declaration_pb2.Declaration, principal: Principal
    ) -> ingest_pb2.Rejected | None:
        if principal.kind not in ("supplier", "admin") or (
            principal.kind == "supplier" and principal.id != decl.supplier_id
        ):
            return ingest_pb2.Rejected(
                code=_DENIED,
                message=f"{principal} may not post declarations for supplier {decl.supplier_id!r}",
            )
        violations = validate_declaration(decl, self.registry)
        if violations:
            return ingest_pb2.Rejected(
                code=_INVALID,
                message=f"invalid declaration: {len(violations)} field(s)",
                violations=[
                    ingest_pb2.FieldViolation(field=f, description=d) for f, d in violations
                ],
            )
        if (over := self.quota.admit(decl)) is not None:
            return ingest_pb2.Rejected(code=_EXHAUSTED, message=over)
        return None

    # RPCs ---------------------------------------------------------------------------------

    async def SubmitDeclaration(
        self, request: declaration_pb2.Declaration, context: Context
    ) -> ingest_pb2.SubmitResult:
        principal = await authenticate(self.tokens, context)
        if _is_resend(context):
            await self._read_declarations_to_end(context)
        rejected = self._check(request, principal)
        if rejected is not None:
            _count(ingest_pb2.SubmitResult(rejected=rejected))
            if rejected.code == _DENIED:
                await abort(context, grpc.StatusCode.PERMISSION_DENIED, rejected.message)
            if rejected.code == _EXHAUSTED:
                await abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, rejected.message)
            await abort_invalid(
                context, rejected.message, [(v.field, v.description) for v in rejected.violations]
            )
        try:
            accepted = await self._acked(self._enqueue(request, current_trace_context()))
        except KafkaUnavailable as exc:
            _count(ingest_pb2.SubmitResult(rejected=ingest_pb2.Rejected(code=_UNAVAILABLE)))
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"not stored, retry: {exc}")
        return _count(
            ingest_pb2.SubmitResult(declaration_id=request.declaration_id, accepted=accepted)
        )

    async def StreamDeclarations(
        self,
        request_iterator: AsyncIterator[declaration_pb2.Declaration],
        context: Context,
    ) -> AsyncIterator[ingest_pb2.SubmitResult]:
        principal = await authenticate(self.tokens, context)
        if _is_resend(context):
            await self._read_declarations_to_end(context)
        trace_context = current_trace_context()
        # Bounded: when max_in_flight results are pending, the reader stops reading and gRPC
        # flow control slows the client down.
        pending: asyncio.Queue[_Pending | None] = asyncio.Queue(self.settings.ingest_max_in_flight)
        too_long = asyncio.Event()

        async def read() -> None:
            sequence = 0
            try:
                async for decl in request_iterator:
                    if sequence >= self.settings.ingest_max_stream_length:
                        too_long.set()
                        break
                    item = _Pending(
                        sequence, decl.declaration_id, rejected=self._check(decl, principal)
                    )
                    if item.rejected is None:
                        item.delivery = self._enqueue(decl, trace_context)
                    await pending.put(item)
                    sequence += 1
            finally:
                # also when the request stream failed: the answers so far go out, then
                # `await reader` below ends the call with the failure's status
                me = asyncio.current_task()
                if me is not None and not me.cancelling():
                    await pending.put(None)

        reader = asyncio.create_task(read())
        try:
            while (item := await pending.get()) is not None:
                result = ingest_pb2.SubmitResult(
                    declaration_id=item.declaration_id, sequence=item.sequence
                )
                if item.delivery is not None:
                    try:
                        result.accepted.CopyFrom(await self._acked(item.delivery))
                    except KafkaUnavailable as exc:
                        result.rejected.CopyFrom(
                            ingest_pb2.Rejected(
                                code=_UNAVAILABLE, message=f"not stored, retry: {exc}"
                            )
                        )
                else:
                    assert item.rejected is not None
                    result.rejected.CopyFrom(item.rejected)
                yield _count(result)
            await reader  # surfaces a failure of the request stream
            if too_long.is_set():
                await abort(
                    context,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"a stream carries at most {self.settings.ingest_max_stream_length} "
                    "declarations; open a new stream for the rest",
                )
        finally:
            reader.cancel()

    async def VerifyDeclaration(
        self, request: ingest_pb2.VerifyDeclarationRequest, context: Context
    ) -> ingest_pb2.SubmitResult:
        """A verifier's record that a declaration was verified (verification.py)."""
        principal = await authenticate(self.tokens, context)
        if not may_verify(principal):
            await abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                f"{principal} may not record verifications: only a verifier principal may",
            )
        violations = validate_verification(request, self.registry)
        if violations:
            await abort_invalid(
                context, f"invalid verification: {len(violations)} field(s)", violations
            )
        record = verification_record(request, principal, datetime.now(UTC))
        try:
            accepted = await self._acked(self._enqueue(record, current_trace_context()))
        except KafkaUnavailable as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"not stored, retry: {exc}")
        return ingest_pb2.SubmitResult(declaration_id=request.declaration_id, accepted=accepted)

    async def _admin(self, context: Context) -> None:
        principal = await authenticate(self.tokens, context)
        if not principal.is_admin:
            await abort(
                context, grpc.StatusCode.PERMISSION_DENIED, "only admin may edit the registry"
            )

    async def _write(
        self, topic: str, key: str, value: bytes, context: Context
    ) -> ingest_pb2.Accepted:
        """One registry record, acknowledged by Kafka (else UNAVAILABLE: not stored)."""
        try:
            async with asyncio.timeout(self.send_timeout):
                metadata = await self.producer.send_and_wait(
                    topic, value=value, key=key.encode(), headers=inject_headers()
                )
        except Exception as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"not stored, retry: {exc}")
        return ingest_pb2.Accepted(
            topic=metadata.topic, partition=metadata.partition, offset=metadata.offset
        )

    async def UpsertSupplier(
        self, request: supplier_pb2.Supplier, context: Context
    ) -> ingest_pb2.UpsertSupplierResponse:
        await self._admin(context)
        violations = validate_supplier(request)
        if violations:
            await abort_invalid(
                context, f"invalid supplier: {len(violations)} field(s)", violations
            )
        accepted = await self._write(
            self.suppliers_topic, request.supplier_id, request.SerializeToString(), context
        )
        self.registry[request.supplier_id] = request
        return ingest_pb2.UpsertSupplierResponse(accepted=accepted)

    async def UpsertChain(
        self, request: supplier_pb2.Chain, context: Context
    ) -> ingest_pb2.UpsertSupplierResponse:
        await self._admin(context)
        violations = validate_chain(request)
        if violations:
            await abort_invalid(context, f"invalid chain: {len(violations)} field(s)", violations)
        accepted = await self._write(
            self.chains_topic, request.chain_id, request.SerializeToString(), context
        )
        return ingest_pb2.UpsertSupplierResponse(accepted=accepted)

    async def ImportDesignations(
        self, request: ingest_pb2.ImportDesignationsRequest, context: Context
    ) -> ingest_pb2.ImportDesignationsResponse:
        """Matches a published list to the registry; writes the changed suppliers (each a whole
        registry entry, so retrying an import that failed half-way is safe)."""
        await self._admin(context)
        if len(request.rows) > MAX_ROWS:
            await abort_invalid(
                context,
                f"{len(request.rows)} rows; at most {MAX_ROWS} per request",
                [("rows", f"at most {MAX_ROWS}")],
            )
        plan = plan_import(request.rows, self.registry, datetime.now(UTC).year)
        if not request.dry_run:
            for supplier in plan.updated.values():
                await self._write(
                    self.suppliers_topic,
                    supplier.supplier_id,
                    supplier.SerializeToString(),
                    context,
                )
                self.registry[supplier.supplier_id] = supplier
        return ingest_pb2.ImportDesignationsResponse(
            results=plan.results,
            applied=plan.applied,
            suppliers_updated=len(plan.updated),
            dry_run=request.dry_run,
        )


class IngestServer(GrpcService):
    """The ingest gRPC server with its Kafka clients; ``async with`` runs it."""

    def __init__(self, settings: Settings, listen: str | None = None) -> None:
        self.servicer = IngestServicer(settings, load_store(settings.tokens_file))
        super().__init__(
            settings,
            listen or settings.ingest_listen,
            SERVICE_NAME,
            lambda server: ingest_pb2_grpc.add_IngestServiceServicer_to_server(
                self.servicer, server
            ),
            # gRPC's own default is 1; off unless asked, so a second process on a taken port
            # fails instead of silently taking half the connections
            options=[("grpc.so_reuseport", 1 if settings.ingest_reuse_port else 0)],
        )

    async def start_backend(self) -> None:
        await self.servicer.start()
        # without the registry, declarations of new suppliers would be refused as unknown;
        # without the index, resent declarations would be stored twice
        self.supervise(self.servicer.reader.task)
        self.supervise(self.servicer.index.task)

    async def stop_backend(self) -> None:
        await self.servicer.stop()


def _is_resend(context: Context) -> bool:
    return RESEND_METADATA in (context.invocation_metadata() or ())


def _duplicate_of(
    delivery: asyncio.Future[ingest_pb2.Accepted],
) -> asyncio.Future[ingest_pb2.Accepted]:
    """A future with ``delivery``'s outcome, its Accepted marked ``duplicate`` (a declaration
    sent again while its first copy is still on its way to Kafka)."""
    follower: asyncio.Future[ingest_pb2.Accepted] = asyncio.get_running_loop().create_future()

    def settle(done: asyncio.Future[ingest_pb2.Accepted]) -> None:
        if follower.done():  # its caller gave up
            return
        if done.cancelled():
            follower.set_exception(KafkaUnavailable("the first copy's caller gave up; retry"))
        elif (error := done.exception()) is not None:
            follower.set_exception(error)
        else:
            first = done.result()
            follower.set_result(
                ingest_pb2.Accepted(
                    topic=first.topic,
                    partition=first.partition,
                    offset=first.offset,
                    index=first.index,
                    duplicate=True,
                )
            )

    # a caller whose client has gone never reads a failure: no "never retrieved" warning
    follower.add_done_callback(lambda f: f.cancelled() or f.exception())
    if delivery.done():
        settle(delivery)
    else:
        delivery.add_done_callback(settle)
    return follower
