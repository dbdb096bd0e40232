"""Log lines of every service process: structlog renders them, stdlib logging feeds it.

The services (and aiokafka, faust, grpc) log through the standard ``logging`` module; one
handler on the root logger formats every record with structlog's processors:

- ``json`` (``GREENCHAIN_LOG_FORMAT=json``): one JSON object per line, with ``timestamp``,
  ``level``, ``logger``, ``event`` and, inside a traced operation, the ``trace_id`` and
  ``span_id`` of the current OpenTelemetry span, so a log search can jump to the trace;
- ``console`` (the default): the same fields as readable ``key=value`` text.

Whatever the format, bearer tokens are replaced by ``[redacted]`` before a line is written
(tokens are secrets; a log line with metadata or a header in it must not leak one).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import IO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",)\]}]+")
_QUIET = ("aiokafka", "kafka")


def add_trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """``trace_id`` and ``span_id`` (hex, as W3C traceparent) of the current span, if any."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event


def redact(text: str) -> str:
    """``text`` with the value of every ``Bearer <token>`` replaced by ``[redacted]``."""
    return _BEARER.sub(r"\1[redacted]", text)


def redact_tokens(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Redacts bearer tokens in every value of the line (rendered values included)."""
    for key, value in list(event.items()):
        if key.startswith("_"):
            continue  # structlog's own bookkeeping (the LogRecord), never rendered
        if isinstance(value, str):
            event[key] = redact(value)
        elif not isinstance(value, int | float | bool | type(None)):
            text = repr(value)
            if _BEARER.search(text):
                event[key] = redact(text)
    return event


class StreamClosedDetachNoise(logging.Filter):
    """Drops OpenTelemetry's "Failed to detach context" error when it comes from a gRPC stream
    handler closed mid-answer (a ``GeneratorExit``). Python finalizes such a generator in
    another task, so the span's context token cannot be reset there; the span still ends and
    nothing else is wrong (opentelemetry-python-contrib issue 2357, open). Any other detach
    failure is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is None or record.getMessage() != "Failed to detach context":
            return True
        error = record.exc_info[1]
        return not (isinstance(error, ValueError) and isinstance(error.__context__, GeneratorExit))


def setup_logging(
    fmt: str = "console", level: int = logging.INFO, stream: IO[str] | None = None
) -> None:
    """Routes all stdlib logging of this process through structlog, formatted as ``fmt``
    (``json`` | ``console``), to ``stream`` (stderr). Idempotent: replaces the root handlers."""
    if fmt not in ("json", "console"):
        raise ValueError(f"unknown log format {fmt!r} (json | console)")
    before: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=before,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # the traceback is redacted too
            redact_tokens,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    detach = logging.getLogger("opentelemetry.context")
    if not any(isinstance(f, StreamClosedDetachNoise) for f in detach.filters):
        detach.addFilter(StreamClosedDetachNoise())
    logging.captureWarnings(True)  # warnings too, in the same format
    structlog.configure(
        processors=[*before, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
