"""Per-supplier caps and verification through a real ingest server and a real broker.

A supplier past a cap gets RESOURCE_EXHAUSTED naming the limit; only a verifier principal can
record a verification, and scoring counts a declaration as verified only from that record
(scoring's steps run here on the records ingest wrote to Kafka).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
import yaml

from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.common.grpc_server import field_violations
from greenchain.ingest.server import IngestServer
from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.faust_bridge import Record
from greenchain.scoring.model import Methodology
from greenchain.scoring.worker import ScoringSteps
from greenchain.testing.builders import envelope, supplier
from greenchain.testing.grpc_clients import bearer, channel, read_declarations, read_topic
from greenchain.v1 import declaration_pb2, ingest_pb2, ingest_pb2_grpc, rating_pb2

TOKENS = {
    "admin-token": "admin",
    "s1-token": "supplier:sup-001",
    "c-token": "chain:chain-a",
    "v-token": "verifier:cqc",
}
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.fixture
async def ingest(topics: Settings, tmp_path: Path) -> AsyncIterator[IngestServer]:
    path = tmp_path / "tokens.yaml"
    entries = [{"sha256": hash_token(t), "principal": p} for t, p in TOKENS.items()]
    path.write_text(yaml.safe_dump({"tokens": entries}))
    settings = topics.with_(tokens_file=str(path), supplier_max_declarations=3)
    async with IngestServer(settings, listen="127.0.0.1:0") as server:
        async with channel(server.port) as ch:
            stub = ingest_pb2_grpc.IngestServiceStub(ch)
            for sid in ("sup-001", "sup-002"):
                await stub.UpsertSupplier(supplier(sid), metadata=bearer("admin-token"))
        yield server


async def test_a_supplier_posting_past_its_cap_gets_resource_exhausted_naming_the_limit(
    ingest: IngestServer,
) -> None:
    kept = [envelope("energy", month=m) for m in (1, 2, 3)]
    over = envelope("energy", month=4)
    correction = envelope("energy", month=1)
    correction.declaration_id += "-fix"
    correction.submitted_at.seconds += 3600
    others = envelope("energy", supplier_id="sup-002", month=4)
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        for decl in kept:
            await stub.SubmitDeclaration(decl, metadata=bearer("s1-token"))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SubmitDeclaration(over, metadata=bearer("s1-token"))
        assert err.value.code() == EXHAUSTED
        assert "GREENCHAIN_SUPPLIER_MAX_DECLARATIONS=3" in (err.value.details() or "")
        # in a stream the item is refused with the same reason and the stream goes on
        results = [
            r
            async for r in stub.StreamDeclarations(
                iter([over, correction]), metadata=bearer("s1-token")
            )
        ]
        assert results[0].rejected.code == EXHAUSTED.value[0]
        assert "GREENCHAIN_SUPPLIER_MAX_DECLARATIONS=3" in results[0].rejected.message
        assert results[1].WhichOneof("outcome") == "accepted"  # a correction is no new entry
        await stub.SubmitDeclaration(others, metadata=bearer("admin-token"))  # per supplier
    placed = await read_declarations(ingest.settings, 5)
    ids = {p.declaration.declaration_id for p in placed}
    assert ids == {d.declaration_id for d in [*kept, correction, others]}


def _request(decl: declaration_pb2.Declaration) -> ingest_pb2.VerifyDeclarationRequest:
    return ingest_pb2.VerifyDeclarationRequest(
        declaration_id=decl.declaration_id,
        supplier_id=decl.supplier_id,
        site_id=decl.site_id,
        period=decl.period,
        verifier="China Quality Certification Centre",
        statement_id="CQC-VS-2024-0042",
    )


async def test_only_a_verifiers_record_makes_a_declaration_verified(ingest: IngestServer) -> None:
    energy, emissions = envelope("energy"), envelope("emissions")
    assert energy.assurance.level == declaration_pb2.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
    forged = envelope("energy", month=2)
    forged.ClearField("energy")
    forged.verification.CopyFrom(declaration_pb2.Verification(recorded_by="verifier:cqc"))
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        for decl in (energy, emissions):  # both say THIRD_PARTY_VERIFIED themselves
            await stub.SubmitDeclaration(decl, metadata=bearer("s1-token"))
        for token in ("s1-token", "c-token"):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.VerifyDeclaration(_request(energy), metadata=bearer(token))
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as err:  # nor can a supplier write the record
            await stub.SubmitDeclaration(forged, metadata=bearer("s1-token"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "verification" in {f for f, _ in field_violations(err.value)}
        with pytest.raises(grpc.aio.AioRpcError) as err:  # a verifier declares nothing
            await stub.SubmitDeclaration(envelope("energy", month=2), metadata=bearer("v-token"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        incomplete = _request(energy)
        incomplete.statement_id = ""
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.VerifyDeclaration(incomplete, metadata=bearer("v-token"))
        assert {f for f, _ in field_violations(err.value)} == {"statement_id"}
        result = await stub.VerifyDeclaration(_request(energy), metadata=bearer("v-token"))
        assert result.WhichOneof("outcome") == "accepted"

    placed = await read_declarations(ingest.settings, 3)
    (record,) = [
        p.declaration for p in placed if p.declaration.WhichOneof("body") == "verification"
    ]
    assert record.declaration_id == energy.declaration_id
    assert record.verification.recorded_by == "verifier:cqc"
    assert record.verification.statement_id == "CQC-VS-2024-0042"

    # scoring, on those very records: the self-flags count for nothing, the record for one
    everything = [
        Record(p.key, p.declaration.SerializeToString(), list(p.headers), "decls", 0, i)
        for i, p in enumerate(placed)
    ]
    claims_only = [r for r in everything if r.value != record.SerializeToString()]
    assert _rating(claims_only).coverage.verified_share == 0.0
    rating = _rating(everything)
    assert rating.coverage.declarations_used == 2
    assert rating.coverage.verified_share == 0.5


def _rating(records: list[Record]) -> rating_pb2.SupplierRating:
    """sup-001's rating by scoring's steps after ``records``."""
    engine = ScoringEngine(Methodology.load())
    engine.set_supplier(supplier("sup-001"))
    steps = ScoringSteps(engine, {})
    (emission,) = steps.rate(steps.apply(records), datetime(2026, 1, 1, tzinfo=UTC))
    return emission.rating


async def test_the_demo_verifier_records_what_the_exports_mark_verified(
    ingest: IngestServer,
) -> None:
    from greenchain.client.demo import record_verifications
    from greenchain.connector.client import Connector
    from greenchain.connector.readers import Item

    claimed, plain = envelope("energy"), envelope("emissions")
    plain.assurance.Clear()
    plain.assurance.level = declaration_pb2.ASSURANCE_LEVEL_SELF_DECLARED
    verifier = Connector(f"127.0.0.1:{ingest.port}", token="v-token")
    assert await record_verifications(verifier, [Item(claimed, 0), Item(plain, 1)]) == 1
    (placed,) = await read_declarations(ingest.settings, 1)
    key, record = placed.key, placed.declaration
    assert (key, record.declaration_id) == (b"sup-001", claimed.declaration_id)
    assert record.verification.recorded_by == "verifier:cqc"


def test_the_scoring_worker_dead_letters_past_the_cap_naming_the_limit(
    topics: Settings, tmp_path: Path
) -> None:
    """Scoring is the authority (ingest forgets its counts on restart): a real worker refuses
    what would take a supplier past the cap, and rates the rest."""
    from greenchain.testing.flows import produce_declarations, produce_registry, settled_ratings
    from greenchain.testing.processes import ServiceProcess

    settings = topics.with_(supplier_max_declarations=3)
    registered = supplier("sup-001")
    produce_registry(settings, [registered])
    kept = [envelope("energy", month=m) for m in (1, 2, 3)]
    over = [envelope("emissions", month=m) for m in (1, 2)]
    produce_declarations(settings, [*kept, *over])
    worker = ServiceProcess("scoring", settings, tmp_path / "scoring.log").start()
    try:
        ratings = settled_ratings(settings, expected=1)
    finally:
        worker.stop()
    assert ratings["sup-001"].coverage.declarations_used == 3
    dlq = settings.topic(topic_names.DECLARATIONS_DLQ)
    dead = asyncio.run(read_topic(settings, dlq, 2))
    assert {v for _, v, _ in dead} == {d.SerializeToString() for d in over}
    for _, _, headers in dead:
        assert b"GREENCHAIN_SUPPLIER_MAX_DECLARATIONS=3" in dict(headers)["error"]
