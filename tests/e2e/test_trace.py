"""One OpenTelemetry trace from the connector through ingest, scoring and the ledger: the
three services run as processes exporting spans to files; the connector runs here."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from greenchain.common.config import Settings
from greenchain.connector.client import Connector
from greenchain.connector.readers import Item
from greenchain.connector.registry import upsert_suppliers
from greenchain.testing.flows import sample_declarations
from greenchain.testing.processes import ServiceProcess


def spans_in(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_one_trace_spans_connector_ingest_scoring_and_ledger(
    topics: Settings, tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    settings = topics.with_(ingest_listen="127.0.0.1:50171", ledger_listen="127.0.0.1:50172")
    files = {name: tmp_path / f"{name}.spans.jsonl" for name in ("ingest", "scoring", "ledger")}
    services = [
        ServiceProcess(
            name, settings, tmp_path / f"{name}.log", GREENCHAIN_OTEL_EXPORTER=f"file:{files[name]}"
        ).start()
        for name in ("ingest", "scoring", "ledger")
    ]
    try:
        services[0].wait_for_log("IngestServer started")
        services[1].wait_for_log("scoring ready")
        suppliers, decls = sample_declarations(suppliers=1, months=3)
        one = [d for d in decls if d.supplier_id == suppliers[0].supplier_id]

        async def send() -> None:
            connector = Connector(settings.ingest_listen)
            await upsert_suppliers(connector, suppliers)
            summary = await connector.send([Item(d, i) for i, d in enumerate(one)])
            assert summary.accepted == len(one)

        asyncio.run(send())
        root = next(s for s in exporter.get_finished_spans() if s.name == "connector.send")
        trace_id = f"0x{root.context.trace_id:032x}"

        deadline = time.monotonic() + 90
        found: dict[str, set[str]] = {}
        while time.monotonic() < deadline:
            found = {
                name: {
                    str(s["name"]) for s in spans_in(path) if s["context"]["trace_id"] == trace_id
                }
                for name, path in files.items()
            }
            if all(found.values()):
                break
            time.sleep(1)
    finally:
        for service in services:
            service.stop()
    assert "/greenchain.v1.IngestService/StreamDeclarations" in found["ingest"]
    assert "rate supplier" in found["scoring"], found
    assert "ledger append" in found["ledger"], found
