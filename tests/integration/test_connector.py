"""The ERP connector against a real ingest server and a real broker."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import grpc
import pytest

from greenchain.common.config import Settings
from greenchain.connector.client import Connector
from greenchain.connector.mapping import Mapping
from greenchain.connector.pact import read_pact
from greenchain.connector.readers import declarations_from_table, read_table
from greenchain.connector.registry import upsert_suppliers
from greenchain.connector.run import connect_file
from greenchain.ingest.server import IngestServer
from greenchain.testing import DATA
from greenchain.testing.builders import envelope, supplier
from greenchain.testing.grpc_clients import channel, read_declarations
from greenchain.testing.kafka_broker import isolated_settings, private_broker
from greenchain.v1 import ingest_pb2_grpc


async def test_csv_and_pact_v2_v3_reach_the_topic(topics: Settings, tmp_path: Path) -> None:
    async with IngestServer(topics, listen="127.0.0.1:0") as server:
        connector = Connector(f"127.0.0.1:{server.port}")
        await upsert_suppliers(connector, [supplier("sup-001"), supplier("sup-002")])
        items = declarations_from_table(
            read_table(DATA / "erp_monthly.csv"), Mapping.load(DATA / "erp_mapping.yaml")
        )
        items += read_pact(DATA / "pact_v2.json", "sup-001", "s1", 0.3).items
        items += read_pact(DATA / "pact_v3.json", "sup-001", "s1", 0.2).items
        summary = await connector.send(items)
    # row 3 has "abc" as renewable electricity: its energy declaration is rejected by name
    assert summary.accepted == len(items) - 1
    assert list(summary.rejected) == [2]
    assert "energy.renewable_certificates_kwh" in summary.rejected[2]
    records = await read_declarations(topics, summary.accepted)
    kinds = [p.declaration.WhichOneof("body") for p in records]
    assert kinds.count("product_footprint") == 2


async def test_a_pact_successor_and_a_withdrawal_are_accepted_by_ingest(
    topics: Settings, tmp_path: Path
) -> None:
    """A 3.x RequestFulfilledEvent with a deprecated footprint and its successor: ingest accepts
    the withdrawal and the successor with the new contract fields, as the connector sends them."""
    successor = json.loads((DATA / "pact_v3.json").read_text())["data"][0]
    old = dict(successor, id="0b6b2a5c-79e6-4b3e-8a5d-0d3e1f6a2b11", status="Deprecated")
    successor["precedingPfIds"] = [old["id"]]
    event = {
        "type": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
        "specversion": "1.0",
        "id": "505e5d-4f9b-4b3b-9c05bc35-68f8",
        "source": "//api.example.com/3/events",
        "time": "2026-03-05T17:31:00Z",
        "data": {"requestEventId": "1934405d", "pfs": [old, successor]},
    }
    document = tmp_path / "event.json"
    document.write_text(json.dumps(event))
    read = read_pact(document, "sup-001", "s1", 0.25)
    assert [i.kind for i in read.issues] == ["deprecated"]
    async with IngestServer(topics, listen="127.0.0.1:0") as server:
        connector = Connector(f"127.0.0.1:{server.port}")
        await upsert_suppliers(connector, [supplier("sup-001")])
        summary = await connector.send(read.items)
    assert (summary.accepted, summary.rejected) == (2, {})
    records = await read_declarations(topics, 2)
    bodies = [p.declaration.product_footprint for p in records]
    assert [b.pact_deprecated for b in bodies] == [True, False]
    assert list(bodies[1].preceding_pact_footprint_ids) == [old["id"]]
    assert bodies[1].pcf_excluding_biogenic_uptake_kgco2e == 4.4


def test_connect_file_writes_the_rejected_rows_to_fix(topics: Settings, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text((DATA / "erp_monthly.csv").read_text())

    async def run() -> tuple[int, list[str]]:
        async with IngestServer(topics, listen="127.0.0.1:0") as server:
            connector = Connector(f"127.0.0.1:{server.port}")
            await upsert_suppliers(connector, [supplier("sup-001"), supplier("sup-002")])
            result = await asyncio.to_thread(
                connect_file, export, connector, Mapping.load(DATA / "erp_mapping.yaml")
            )
            assert result.rejected_file is not None
            lines = result.rejected_file.read_text().splitlines()
            return result.summary.accepted, lines

    accepted, lines = asyncio.run(run())
    assert accepted == 11
    assert lines[0].startswith("Lieferant,") and lines[0].endswith(",error")
    assert len(lines) == 2 and "2024/3" in lines[1] and "renewable_certificates_kwh" in lines[1]


async def test_broker_down_means_unavailable_then_the_connector_completes(tmp_path: Path) -> None:
    with private_broker(tmp_path / "kafka") as broker:
        settings = isolated_settings(broker.bootstrap, tmp_path, topic_partitions=2)
        async with IngestServer(settings, listen="127.0.0.1:0") as server:
            server.servicer.send_timeout = 5.0
            connector = Connector(f"127.0.0.1:{server.port}", max_backoff=2.0)
            await upsert_suppliers(connector, [supplier("sup-001")])
            broker.down()

            async with channel(server.port) as ch:
                stub = ingest_pb2_grpc.IngestServiceStub(ch)
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.SubmitDeclaration(envelope("energy", month=1))
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                assert time.monotonic() - started < 30

            export = read_table(DATA / "erp_monthly.csv")
            items = declarations_from_table(
                export.filter(export["Lieferant"] == "sup-001"),
                Mapping.load(DATA / "erp_mapping.yaml"),
            )
            run = asyncio.create_task(connector.send(items))
            await asyncio.sleep(3)
            assert not run.done()  # nothing can be acknowledged while Kafka is down
            await asyncio.to_thread(broker.up)
            summary = await asyncio.wait_for(run, 120)

        # the one bad row ("abc" as renewable electricity) costs only its energy declaration
        bad = {
            i.declaration.declaration_id
            for i in items
            if i.origin == 2 and i.declaration.WhichOneof("body") == "energy"
        }
        assert list(summary.rejected) == [2]
        expected = {i.declaration.declaration_id for i in items} - bad
        assert summary.accepted == len(expected)
        records = await read_declarations(settings, len(expected), within=60)
        on_topic = {p.declaration.declaration_id for p in records}
        assert expected <= on_topic


async def test_the_connectors_trace_continues_in_ingest_and_the_kafka_headers(
    topics: Settings,
) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from greenchain.common.telemetry import extract_context

    spans = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    async with IngestServer(topics, listen="127.0.0.1:0") as server:
        connector = Connector(f"127.0.0.1:{server.port}")
        await upsert_suppliers(connector, [supplier("sup-001")])
        summary = await connector.send(read_pact(DATA / "pact_v2.json", "sup-001", "s1", 0.3).items)
    assert summary.accepted == 1
    (placed,) = await read_declarations(topics, 1)
    carried = trace.get_current_span(extract_context(placed.headers)).get_span_context().trace_id
    finished = spans.get_finished_spans()
    root = next(s for s in finished if s.name == "connector.send")
    assert carried == root.context.trace_id
    services = {s.name for s in finished if s.context.trace_id == root.context.trace_id}
    assert "/greenchain.v1.IngestService/StreamDeclarations" in services
