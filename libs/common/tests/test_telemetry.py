from __future__ import annotations

import json
from pathlib import Path

from opentelemetry import trace

from greenchain.common.config import Settings
from greenchain.common.telemetry import extract_context, inject_headers, setup_tracing


def test_trace_context_travels_in_kafka_headers_and_spans_reach_the_file(tmp_path: Path) -> None:
    out = tmp_path / "spans.jsonl"
    provider = setup_tracing("unit", Settings(otel_exporter=f"file:{out}"))
    tracer = provider.get_tracer("unit")
    with tracer.start_as_current_span("produce") as span:
        headers = inject_headers()
        trace_id = span.get_span_context().trace_id
    assert [k for k, _ in headers] == ["traceparent"]

    with tracer.start_as_current_span("consume", context=extract_context(headers)) as child:
        assert child.get_span_context().trace_id == trace_id

    spans = [json.loads(line) for line in out.read_text().splitlines()]
    assert {s["name"] for s in spans} == {"produce", "consume"}
    assert len({s["context"]["trace_id"] for s in spans}) == 1
    assert extract_context([]) == extract_context(None)
    trace.get_tracer_provider()  # the global provider is set
