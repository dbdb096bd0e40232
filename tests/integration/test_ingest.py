"""IngestService against a real broker and a real gRPC server on 127.0.0.1."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import yaml

from greenchain.common import topics
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.common.grpc_server import field_violations
from greenchain.common.topics import DECLARATIONS
from greenchain.ingest.server import IngestServer
from greenchain.testing.builders import BODY_KINDS, envelope, supplier
from greenchain.testing.grpc_clients import bearer, channel, read_declarations, read_topic
from greenchain.v1 import declaration_pb2, ingest_pb2, ingest_pb2_grpc

TOKENS = {"admin-token": "admin", "s1-token": "supplier:sup-001", "c-token": "chain:chain-a"}


def write_tokens(path: Path) -> Path:
    entries = [{"sha256": hash_token(t), "principal": p} for t, p in TOKENS.items()]
    path.write_text(yaml.safe_dump({"tokens": entries}))
    return path


@pytest.fixture
async def ingest(topics: Settings, tmp_path: Path) -> AsyncIterator[IngestServer]:
    settings = topics.with_(tokens_file=str(write_tokens(tmp_path / "tokens.yaml")))
    async with IngestServer(settings, listen="127.0.0.1:0") as server:
        async with channel(server.port) as ch:
            stub = ingest_pb2_grpc.IngestServiceStub(ch)
            for sid in ("sup-001", "sup-002"):
                await stub.UpsertSupplier(supplier(sid), metadata=bearer("admin-token"))
        yield server


async def test_accepted_declarations_are_on_the_topic_byte_for_byte(ingest: IngestServer) -> None:
    sent = [envelope(kind) for kind in BODY_KINDS]
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        first = await stub.SubmitDeclaration(sent[0], metadata=bearer("s1-token"))
        assert first.WhichOneof("outcome") == "accepted"
        results = [
            r async for r in stub.StreamDeclarations(iter(sent[1:]), metadata=bearer("s1-token"))
        ]
    assert [r.sequence for r in results] == list(range(len(sent) - 1))
    assert all(r.WhichOneof("outcome") == "accepted" for r in results)

    placed = await read_declarations(ingest.settings, len(sent))
    by_value = {p.declaration.SerializeToString(): p for p in placed}
    for decl in sent:
        found = by_value[decl.SerializeToString()]
        assert found.key == b"sup-001"
        assert "traceparent" in dict(found.headers)
    records = await read_topic(ingest.settings, ingest.settings.topic(topics.DECLARATIONS), 1)
    assert ("greenchain.format", b"declaration-batch.v1") in records[0][2]


def _many(count: int) -> list[declaration_pb2.Declaration]:
    """``count`` distinct declarations of sup-001 and sup-002 (registered by the fixture)."""
    return [
        envelope(BODY_KINDS[i % len(BODY_KINDS)], f"sup-00{1 + i % 2}", 2020 + i // 12, 1 + i % 12)
        for i in range(count)
    ]


async def test_each_ack_names_partition_offset_and_index_of_its_declaration_in_kafka(
    topics: Settings, tmp_path: Path
) -> None:
    settings = topics.with_(ingest_batch_linger_seconds=0.05, ingest_batch_max_count=7)
    decls = _many(60)
    async with IngestServer(settings, listen="127.0.0.1:0") as server, channel(server.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        for sid in ("sup-001", "sup-002"):
            await stub.UpsertSupplier(supplier(sid))
        single = await stub.SubmitDeclaration(decls[0])
        results = [single, *[r async for r in stub.StreamDeclarations(iter(decls[1:]))]]
    assert all(r.WhichOneof("outcome") == "accepted" for r in results)

    placed = await read_declarations(settings, len(decls))
    at = {(p.partition, p.offset, p.index): p.declaration for p in placed}
    assert len(at) == len(decls)
    for decl, result in zip(decls, results, strict=True):
        ack = result.accepted
        assert ack.topic == settings.topic(DECLARATIONS)
        assert at[(ack.partition, ack.offset, ack.index)] == decl
    # batched, within the count limit, and each supplier's declarations in the order sent
    per_record: dict[tuple[int, int], int] = {}
    for p in placed:
        per_record[(p.partition, p.offset)] = per_record.get((p.partition, p.offset), 0) + 1
    assert 1 < max(per_record.values()) <= 7
    for sid in ("sup-001", "sup-002"):
        on_topic = [
            p.declaration.declaration_id
            for p in sorted(placed, key=lambda p: (p.offset, p.index))
            if p.declaration.supplier_id == sid
        ]
        assert on_topic == [d.declaration_id for d in decls if d.supplier_id == sid]
        assert len({p.partition for p in placed if p.declaration.supplier_id == sid}) == 1


async def test_a_record_kafka_refuses_fails_every_declaration_in_it_and_nothing_is_acked(
    topics: Settings,
) -> None:
    """The broker refuses the batch record (MESSAGE_TOO_LARGE, not retried): every declaration
    in it is answered UNAVAILABLE, none is on the topic; once fixed, the same ids go through."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    topic = topics.topic(DECLARATIONS)

    def max_message_bytes(value: int) -> None:
        admin = KafkaAdminClient(bootstrap_servers=topics.kafka_bootstrap_servers)
        try:
            admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": str(value)})]
            )
        finally:
            admin.close()

    settings = topics.with_(ingest_batch_linger_seconds=0.2)
    decls = _many(20)
    async with IngestServer(settings, listen="127.0.0.1:0") as server, channel(server.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        for sid in ("sup-001", "sup-002"):
            await stub.UpsertSupplier(supplier(sid))
        max_message_bytes(1024)  # a batch of ten declarations is larger
        refused = [r async for r in stub.StreamDeclarations(iter(decls))]
        max_message_bytes(1048588)
        retried = [r async for r in stub.StreamDeclarations(iter(decls))]
    assert [r.rejected.code for r in refused] == [grpc.StatusCode.UNAVAILABLE.value[0]] * 20
    assert all("retry" in r.rejected.message for r in refused)
    assert all(r.WhichOneof("outcome") == "accepted" for r in retried)
    placed = await read_declarations(settings, len(decls))
    assert sorted(p.declaration.declaration_id for p in placed) == sorted(
        d.declaration_id for d in decls
    )


async def test_stream_rejects_bad_items_individually_and_keeps_going(ingest: IngestServer) -> None:
    good, bad = envelope("energy", month=1), envelope("energy", month=2)
    bad.energy.renewable_ppa_kwh = bad.energy.electricity_kwh * 2
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        results = [
            r async for r in stub.StreamDeclarations(iter([bad, good]), metadata=bearer("s1-token"))
        ]
    assert results[0].rejected.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert results[0].rejected.violations[0].field == "energy.renewable_ppa_kwh"
    assert results[1].WhichOneof("outcome") == "accepted"


async def test_invalid_declaration_gets_invalid_argument_with_field_violations(
    ingest: IngestServer,
) -> None:
    decl = envelope("circularity")
    decl.circularity.water_reused_m3 = decl.circularity.water_withdrawn_m3 + 1
    decl.source = ""
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SubmitDeclaration(decl, metadata=bearer("s1-token"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(err.value)} == {"circularity.water_reused_m3", "source"}


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, grpc.StatusCode.UNAUTHENTICATED),
        ("forged", grpc.StatusCode.UNAUTHENTICATED),
        ("c-token", grpc.StatusCode.PERMISSION_DENIED),
    ],
)
async def test_declarations_need_the_suppliers_own_token(
    ingest: IngestServer, token: str | None, code: grpc.StatusCode
) -> None:
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SubmitDeclaration(
                envelope("energy"), metadata=bearer(token) if token else None
            )
    assert err.value.code() == code


async def test_a_supplier_cannot_post_for_another_supplier(ingest: IngestServer) -> None:
    other = envelope("energy", supplier_id="sup-002")
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SubmitDeclaration(other, metadata=bearer("s1-token"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        results = [
            r async for r in stub.StreamDeclarations(iter([other]), metadata=bearer("s1-token"))
        ]
        assert results[0].rejected.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
        # and only admin edits the registry
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.UpsertSupplier(supplier("sup-001"), metadata=bearer("s1-token"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_unknown_supplier_and_site_are_rejected(ingest: IngestServer) -> None:
    unknown = envelope("energy", supplier_id="sup-999")
    wrong_site = envelope("energy", site="nowhere")
    async with channel(ingest.port) as ch:
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        for decl, field in ((unknown, "supplier_id"), (wrong_site, "site_id")):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.SubmitDeclaration(decl, metadata=bearer("admin-token"))
            assert field in {f for f, _ in field_violations(err.value)}


def test_tokens_are_stored_hashed(tmp_path: Path) -> None:
    text = write_tokens(tmp_path / "t.yaml").read_text()
    assert "admin-token" not in text
    assert hashlib.sha256(b"admin-token").hexdigest() in text


async def test_too_long_stream_is_cut_with_resource_exhausted(topics: Settings) -> None:
    settings = topics.with_(ingest_max_stream_length=2)
    async with (
        IngestServer(settings, listen="127.0.0.1:0") as server,
        channel(server.port) as ch,
    ):
        stub = ingest_pb2_grpc.IngestServiceStub(ch)
        await stub.UpsertSupplier(supplier())
        decls = [envelope("energy", month=m) for m in (1, 2, 3)]
        results: list[ingest_pb2.SubmitResult] = []
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for r in stub.StreamDeclarations(iter(decls)):
                results.append(r)
    assert len(results) == 2
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_health_and_reflection(ingest: IngestServer) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with channel(ingest.port) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for service in ("", "greenchain.v1.IngestService"):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(ch)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        responses = [r async for r in reflect.ServerReflectionInfo(iter([request]))]
    names = {s.name for s in responses[0].list_services_response.service}
    assert "greenchain.v1.IngestService" in names
