"""OpenTelemetry tracing: exporter by configuration, W3C trace context in Kafka headers.

A declaration's trace starts in the connector, continues in ingest (gRPC metadata), travels in
the Kafka record headers (``traceparent``) to scoring, and from the rating's headers to the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO

from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

from greenchain.common.config import Settings

KafkaHeaders = list[tuple[str, bytes]]


def _json_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def setup_tracing(service_name: str, settings: Settings) -> TracerProvider:
    """Install a global tracer provider for ``service_name`` with the configured exporter.

    ``none`` still creates spans (so trace ids propagate) but exports nothing; ``file:<path>``
    appends one JSON span per line, which tests and air-gapped operators can read.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    name = settings.otel_exporter
    processor: SpanProcessor | None = None
    if name == "console":
        processor = BatchSpanProcessor(ConsoleSpanExporter(service_name=service_name))
    elif name == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint))
    elif name.startswith("file:"):
        out: IO[str] = open(name.removeprefix("file:"), "a", buffering=1)  # noqa: SIM115
        # Written as each span ends, so a killed process loses no finished span.
        processor = SimpleSpanProcessor(ConsoleSpanExporter(out=out, formatter=_json_line))
    elif name != "none":
        raise ValueError(f"unknown GREENCHAIN_OTEL_EXPORTER {name!r}")
    if processor is not None:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


class _HeaderSetter(Setter[KafkaHeaders]):
    def set(self, carrier: KafkaHeaders, key: str, value: str) -> None:
        carrier.append((key, value.encode()))


class _HeaderGetter(Getter[Sequence[tuple[str, bytes]]]):
    def get(self, carrier: Sequence[tuple[str, bytes]], key: str) -> list[str] | None:
        values = [v.decode(errors="replace") for k, v in carrier if k == key and v is not None]
        return values or None

    def keys(self, carrier: Sequence[tuple[str, bytes]]) -> list[str]:
        return [k for k, _ in carrier]


def inject_headers(headers: KafkaHeaders | None = None) -> KafkaHeaders:
    """Kafka headers carrying the current trace context (appended to ``headers``)."""
    carrier: KafkaHeaders = [] if headers is None else headers
    propagate.inject(carrier, setter=_HeaderSetter())
    return carrier


def extract_context(headers: Iterable[tuple[str, bytes]] | None) -> context.Context:
    """The trace context carried by Kafka record headers (empty context if none)."""
    return propagate.extract(list(headers or ()), getter=_HeaderGetter())
