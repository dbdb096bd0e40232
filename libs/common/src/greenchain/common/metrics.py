"""Prometheus metrics of every greenchain service, and the HTTP endpoint that serves them.

All metrics live in prometheus-client's default registry, declared here once so that the
dashboard (deploy/grafana/greenchain.json) and docs/operations.md have one list to follow.
Each service process serves them at ``http://<GREENCHAIN_METRICS_HOST>:<port>/metrics`` when its
``GREENCHAIN_<SERVICE>_METRICS_PORT`` is set (0 = off); the same server answers ``/healthz``
(liveness) and ``/readyz`` (readiness) with the checks the service registers, for services
without a gRPC health endpoint (scoring).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

log = logging.getLogger(__name__)

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# ingest ---------------------------------------------------------------------------------------
DECLARATIONS = Counter(
    "greenchain_ingest_declarations",
    "Declarations ingest answered, by outcome (accepted|rejected) and reason (the status code "
    "of a rejection; 'ok' for an accepted one, 'duplicate' for a resend ingest had stored "
    "already).",
    ["outcome", "reason"],
)

# Kafka ----------------------------------------------------------------------------------------
PRODUCE_SECONDS = Histogram(
    "greenchain_kafka_produce_seconds",
    "From handing a record to the producer until Kafka acknowledged it (acks=all), seconds.",
    ["client"],
    buckets=_LATENCY,
)
PRODUCE_FAILURES = Counter(
    "greenchain_kafka_produce_failures",
    "Records Kafka did not acknowledge (the sender answers UNAVAILABLE or retries).",
    ["client"],
)
CONSUMER_LAG = Gauge(
    "greenchain_kafka_consumer_lag",
    "Records on a partition not yet processed by this process (end offset - position or "
    "committed offset).",
    ["service", "topic", "partition"],
)
SKIPPED_RECORDS = Counter(
    "greenchain_kafka_skipped_records",
    "Records a reader could not use (undecodable, or its handler failed) and skipped.",
    ["topic"],
)

# scoring --------------------------------------------------------------------------------------
SCORING_BATCH_SIZE = Histogram(
    "greenchain_scoring_batch_size",
    "Declarations per scoring micro-batch.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
)
SCORING_BATCH_SECONDS = Histogram(
    "greenchain_scoring_batch_seconds",
    "Time to apply, rate and emit one micro-batch (until Kafka acked its ratings), seconds.",
    buckets=_LATENCY,
)
RATINGS_EMITTED = Counter(
    "greenchain_scoring_ratings_emitted", "Ratings scoring emitted and Kafka acknowledged."
)
DEAD_LETTERS = Counter(
    "greenchain_scoring_dead_letters", "Declarations scoring sent to the dead-letter topic."
)

# ledger ---------------------------------------------------------------------------------------
LEDGER_APPEND_SECONDS = Histogram(
    "greenchain_ledger_append_seconds",
    "Time to append one batch of ratings to the ledger's store (SQLite + Merkle tree), seconds.",
    buckets=_LATENCY,
)
LEDGER_ENTRIES = Counter("greenchain_ledger_entries_appended", "Entries appended to the ledger.")

# gRPC server (names as go-grpc-prometheus, which dashboards know) ---------------------------
GRPC_HANDLED = Counter(
    "grpc_server_handled",
    "RPCs completed on the server, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_type", "grpc_code"],
)
GRPC_HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Response latency of RPCs until the server finished them, seconds.",
    ["grpc_service", "grpc_method", "grpc_type"],
    buckets=_LATENCY,
)

# lifecycle ------------------------------------------------------------------------------------
TASK_FAILURES = Counter(
    "greenchain_essential_task_failures",
    "Essential tasks (readers, consumers) that ended unexpectedly; the service then reports "
    "NOT_SERVING and exits for its supervisor.",
    ["task"],
)


def observe_delivery(delivery: Awaitable[Any], client: str) -> None:
    """Records the produce latency of ``delivery`` (the future of a Kafka send: aiokafka's and
    faust's are asyncio futures) once it resolves."""
    if not isinstance(delivery, asyncio.Future):
        return
    started = time.perf_counter()

    def done(future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            PRODUCE_FAILURES.labels(client).inc()
        else:
            PRODUCE_SECONDS.labels(client).observe(time.perf_counter() - started)

    delivery.add_done_callback(done)


def set_lag(
    service: str, ends: Mapping[TopicPartition, int], positions: Mapping[TopicPartition, int]
) -> None:
    """Sets the consumer lag gauge of ``service`` for each partition in ``positions``."""
    for tp, position in positions.items():
        end = ends.get(tp)
        if end is not None:
            CONSUMER_LAG.labels(service, tp.topic, str(tp.partition)).set(max(end - position, 0))


async def record_consumer_lag(
    service: str, consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition] | None = None
) -> None:
    """Lag of an assigned (group-less or group) aiokafka consumer: the high watermark it last
    fetched minus its position, per partition. Cheap: no request to the broker."""
    positions: dict[TopicPartition, int] = {}
    ends: dict[TopicPartition, int] = {}
    for tp in partitions if partitions is not None else consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue  # nothing fetched yet
        ends[tp] = highwater
        positions[tp] = await consumer.position(tp)
    set_lag(service, ends, positions)


Check = Callable[[], bool]

HEALTH_CHECKS: dict[str, Check] = {}
"""Path (``/healthz``, ``/readyz``) -> check, registered by the service (called from the HTTP
thread: keep them to reading a flag or a timestamp). A path without a check answers 200 while
the process answers at all."""


class _Quiet(WSGIRequestHandler):
    """Scrapes every few seconds are not worth a log line each."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _health_app(checks: Mapping[str, Check]) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        check = checks.get(path)
        if check is None:
            if path in ("/healthz", "/readyz"):  # nothing registered: up while it answers
                check = lambda: True  # noqa: E731
            else:
                return metrics(environ, start_response)  # type: ignore[no-any-return]
        try:
            ok = check()
        except Exception as exc:
            log.warning("%s check failed: %r", path, exc)
            ok = False
        start_response(
            "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")]
        )
        return [b"ok\n" if ok else b"not ok\n"]

    return app


class MetricsServer:
    """The /metrics (and /healthz, /readyz) HTTP endpoint of a process, in a daemon thread so
    it answers even while the event loop is busy. ``port`` 0 = none is started."""

    def __init__(self, host: str, port: int, checks: Mapping[str, Check] | None = None) -> None:
        self.host = host
        self._server: WSGIServer | None = None
        if port:
            self._server = make_server(
                host,
                port,
                _health_app(HEALTH_CHECKS if checks is None else checks),
                ThreadingWSGIServer,
                handler_class=_Quiet,
            )
            threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True).start()
            log.info("metrics on http://%s:%d/metrics", host, self.port)

    @property
    def port(self) -> int:
        """The port it listens on (0 when not started)."""
        return int(self._server.server_port) if self._server is not None else 0

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
