"""Idempotency by declaration id (issue #18, #20): a resent declaration is stored once.

Real broker, real ingest servers on 127.0.0.1. The resend after a lost acknowledgement is the
case the fault campaign found: the first copy is in Kafka, its answer never reached the client,
and the client sends it again, to the same process, to another one, or to a restarted one.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from greenchain.common.config import Settings
from greenchain.common.idempotency import RESEND_METADATA
from greenchain.ingest.server import IngestServer
from greenchain.testing.builders import BODY_KINDS, envelope, supplier
from greenchain.testing.grpc_clients import channel, read_declarations
from greenchain.v1 import declaration_pb2, ingest_pb2, ingest_pb2_grpc


def _declarations(count: int) -> list[declaration_pb2.Declaration]:
    return [
        envelope(BODY_KINDS[i % len(BODY_KINDS)], f"sup-00{1 + i % 2}", 2020 + i // 12, 1 + i % 12)
        for i in range(count)
    ]


async def _stream(
    server: IngestServer, decls: list[declaration_pb2.Declaration], resend: bool = False
) -> list[ingest_pb2.SubmitResult]:
    async with channel(server.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        return [
            r
            async for r in stub.StreamDeclarations(
                iter(decls), metadata=(RESEND_METADATA,) if resend else None
            )
        ]


async def _register(server: IngestServer) -> None:
    async with channel(server.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        for sid in ("sup-001", "sup-002"):
            await stub.UpsertSupplier(supplier(sid))


def _position(accepted: ingest_pb2.Accepted) -> tuple[int, int, int]:
    return accepted.partition, accepted.offset, accepted.index


async def _copies_on_topic(settings: Settings, expected: int) -> Counter[str]:
    """Declaration ids on the topic, counted, once ``expected`` declarations are there and no
    more arrive for a moment (a second copy would come in the same records or soon after)."""
    await read_declarations(settings, expected)
    await asyncio.sleep(1.0)
    placed = await read_declarations(settings, expected, within=5.0)
    return Counter(p.declaration.declaration_id for p in placed)


async def test_a_resend_to_a_restarted_ingest_is_answered_with_the_stored_copy(
    topics: Settings,
) -> None:
    decls = _declarations(12)
    async with IngestServer(topics, listen="127.0.0.1:0") as first:
        await _register(first)
        original = await _stream(first, decls)
    assert all(r.WhichOneof("outcome") == "accepted" for r in original)
    assert not any(r.accepted.duplicate for r in original)

    # a new process: it knows what is stored only from the topic
    async with IngestServer(topics, listen="127.0.0.1:0") as restarted:
        again = await _stream(restarted, decls, resend=True)
    assert all(r.accepted.duplicate for r in again)
    assert [_position(r.accepted) for r in again] == [_position(r.accepted) for r in original]
    copies = await _copies_on_topic(topics, len(decls))
    assert sorted(copies) == sorted(d.declaration_id for d in decls)
    assert set(copies.values()) == {1}


async def test_a_resend_to_another_ingest_process_sees_a_write_of_a_moment_ago(
    topics: Settings,
) -> None:
    """Two processes side by side: what one stored, the other answers as duplicate, at once."""
    decls = _declarations(40)
    async with (
        IngestServer(topics, listen="127.0.0.1:0") as one,
        IngestServer(topics, listen="127.0.0.1:0") as other,
    ):
        await _register(one)
        stored = await _stream(one, decls)
        resent = await _stream(other, decls, resend=True)
        # a declaration neither has seen is stored as usual, also in a resend
        fresh = envelope("emissions", "sup-001", 2024, 1)
        mixed = await _stream(other, [decls[0], fresh], resend=True)
    assert all(r.WhichOneof("outcome") == "accepted" for r in stored + resent)
    assert all(r.accepted.duplicate for r in resent)
    assert [_position(r.accepted) for r in resent] == [_position(r.accepted) for r in stored]
    assert [r.WhichOneof("outcome") for r in mixed] == ["accepted", "accepted"]
    assert mixed[0].accepted.duplicate and not mixed[1].accepted.duplicate
    copies = await _copies_on_topic(topics, len(decls) + 1)
    assert set(copies.values()) == {1}
    assert len(copies) == len(decls) + 1


async def test_the_same_declaration_twice_in_flight_makes_one_record_entry(
    topics: Settings,
) -> None:
    """Sent twice before Kafka answered (one stream, a long linger): the second waits for the
    first's write and gets its position."""
    settings = topics.with_(ingest_batch_linger_seconds=0.3)
    decl = envelope("emissions", "sup-001", 2024, 6)
    async with IngestServer(settings, listen="127.0.0.1:0") as server:
        await _register(server)
        results = await _stream(server, [decl, decl])
    assert [r.WhichOneof("outcome") for r in results] == ["accepted", "accepted"]
    first, second = (r.accepted for r in results)
    assert not first.duplicate and second.duplicate
    assert _position(first) == _position(second)
    copies = await _copies_on_topic(settings, 1)
    assert copies == Counter({decl.declaration_id: 1})


async def test_a_correction_with_a_new_id_is_stored_and_a_verification_is_not_its_duplicate(
    topics: Settings,
) -> None:
    """Identity is (supplier, id, kind): another id is another declaration (a correction);
    a verification record carrying the verified declaration's id is not a duplicate of it."""
    decl = envelope("emissions", "sup-001", 2024, 7)
    correction = declaration_pb2.Declaration()
    correction.CopyFrom(decl)
    correction.declaration_id = decl.declaration_id + "-v2"
    async with IngestServer(topics, listen="127.0.0.1:0") as server:
        await _register(server)
        results = await _stream(server, [decl, correction])
        async with channel(server.port) as ch:
            stub = ingest_pb2_grpc.IngestServiceStub(ch)
            # without a tokens file the loopback caller is admin, who may record verifications
            verified = await stub.VerifyDeclaration(
                ingest_pb2.VerifyDeclarationRequest(
                    declaration_id=decl.declaration_id,
                    supplier_id="sup-001",
                    site_id=decl.site_id,
                    period=decl.period,
                    verifier="verifier-1",
                    statement_id="st-1",
                )
            )
    assert [r.WhichOneof("outcome") for r in results] == ["accepted", "accepted"]
    assert not any(r.accepted.duplicate for r in results)
    assert not verified.accepted.duplicate
    copies = await _copies_on_topic(topics, 3)
    # the declaration and its verification record carry the same id
    assert copies == Counter({decl.declaration_id: 2, correction.declaration_id: 1})
