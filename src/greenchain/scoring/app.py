"""The scoring worker: a faust-streaming app around the ScoringEngine.

- Source: the declarations topic (key supplier id). Micro-batches via ``take_events``.
- State: faust table ``declarations`` (supplier id -> SupplierState), changelog-backed, so a
  restarted or rebalanced worker recovers it. Store: ``memory://`` by default (recovery replays
  the changelog; fine for thousands of suppliers), ``rocksdb://`` (rocksdict) for large
  populations: local state survives restarts and only the changelog tail is replayed.
- Output: the ratings topic (key supplier id), only when a rating changed; undecodable or
  unacceptable records go to the DLQ with the reason in the headers.
- Delivery: at-least-once. Table updates are idempotent (duplicates ignored, corrections
  supersede), ratings are awaited until Kafka acks them before the batch's offsets can commit,
  and the last emitted rating per supplier is re-read from the ratings topic at start, so a
  replayed batch re-emits nothing that is already there. faust's exactly_once is not used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import faust
from google.protobuf.message import DecodeError
from opentelemetry import trace

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import CompactedTopicReader
from greenchain.common.telemetry import extract_context, inject_headers
from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.model import Methodology
from greenchain.scoring.state import SupplierState, Unacceptable, apply, model_row
from greenchain.v1 import declaration_pb2, rating_pb2, supplier_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("greenchain.scoring")

REFRESH_SECONDS = 2.0
"""How often the timer refreshes population benchmarks and registry changes (when any)."""


def _headers(event: Any) -> list[tuple[str, bytes]]:
    raw: Any = event.headers or {}
    items = raw.items() if isinstance(raw, Mapping) else raw
    return [(k, v) for k, v in items if isinstance(v, bytes)]


def create_app(settings: Settings) -> faust.App:
    """The faust app for ``settings`` (nothing starts until a worker runs it)."""
    methodology = Methodology.load(settings.methodology_file or None)
    engine = ScoringEngine(methodology)
    app = faust.App(
        settings.group("scoring"),
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store=settings.scoring_store,
        datadir=settings.scoring_data_dir,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        broker_commit_interval=1.0,
        web_enabled=False,
        table_standby_replicas=0,
    )
    declarations = app.topic(
        settings.topic(topics.DECLARATIONS),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=False,
    )
    ratings_topic = app.topic(
        settings.topic(topics.RATINGS), key_serializer="raw", value_serializer="raw"
    )
    dlq = app.topic(
        settings.topic(topics.DECLARATIONS_DLQ), key_serializer="raw", value_serializer="raw"
    )
    table = app.Table("declarations", default=None, partitions=settings.topic_partitions)
    ready = asyncio.Event()
    lock = asyncio.Lock()
    loaded = False

    def on_supplier(key: bytes, value: bytes | None) -> None:
        if value is not None:
            try:
                engine.set_supplier(supplier_pb2.Supplier.FromString(value))
            except DecodeError:
                log.warning("skipping undecodable registry record %r", key)

    def on_rating(key: bytes, value: bytes | None) -> None:
        if value is not None:
            engine.remember(rating_pb2.SupplierRating.FromString(value))

    @app.task
    async def start_readers() -> None:
        """Registry and last emitted ratings, both read to the end before the first batch."""
        registry = CompactedTopicReader(settings, settings.topic(topics.SUPPLIERS), on_supplier)
        emitted = CompactedTopicReader(settings, settings.topic(topics.RATINGS), on_rating)
        await registry.start()
        await emitted.start()
        await registry.caught_up.wait()
        await emitted.caught_up.wait()
        await emitted.stop()  # from here on, the engine itself knows what it emitted
        ready.set()
        log.info(
            "scoring ready: %d suppliers registered, %d ratings known",
            len(engine.registry),
            len(engine.emitted),
        )

    async def emit(
        ratings: list[rating_pb2.SupplierRating], origins: dict[str, list[tuple[str, bytes]]]
    ) -> None:
        deliveries = []
        for rating in ratings:
            parent = extract_context(origins.get(rating.supplier_id))
            with tracer.start_as_current_span(
                "rate supplier",
                context=parent,
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "greenchain.supplier_id": rating.supplier_id,
                    "greenchain.revision": rating.revision,
                },
            ):
                deliveries.append(
                    await ratings_topic.send(
                        key=rating.supplier_id.encode(),
                        value=rating.SerializeToString(),
                        headers=inject_headers(),
                    )
                )
        for delivery in deliveries:
            await delivery  # acked by Kafka before this batch's offsets may be committed

    def all_states() -> dict[str, SupplierState]:
        return {str(k): dict(v) for k, v in table.items() if v}

    @app.agent(declarations)
    async def score(stream: Any) -> AsyncIterator[None]:  # faust.Stream: take_events is untyped
        nonlocal loaded
        await ready.wait()
        async for events in stream.take_events(
            settings.scoring_batch_size, within=settings.scoring_batch_seconds
        ):
            touched: dict[str, SupplierState] = {}
            origins: dict[str, list[tuple[str, bytes]]] = {}
            for event in events:
                headers = _headers(event)
                try:
                    decl = declaration_pb2.Declaration.FromString(event.value)
                    model_row(decl)  # raises Unacceptable
                except (DecodeError, Unacceptable) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    await (
                        await dlq.send(
                            key=event.key,
                            value=event.value,
                            headers=[
                                *headers,
                                ("error", reason.encode()),
                                ("source.topic", event.message.topic.encode()),
                                ("source.partition", str(event.message.partition).encode()),
                                ("source.offset", str(event.message.offset).encode()),
                            ],
                        )
                    )
                    continue
                sid = decl.supplier_id
                state = touched.get(sid) or dict(table.get(sid) or {})
                if apply(state, decl):
                    # take_events does not set faust's current event, which tables need to know
                    # the partition to write the changelog to.
                    stream._set_current_event(event)
                    table[sid] = state
                    touched[sid] = state
                    origins[sid] = headers
            async with lock:
                full = not loaded
                if not loaded:
                    engine.update(all_states())  # after a (re)start: the whole recovered state
                    loaded = True
                engine.update(touched)
                await emit(engine.ratings(set(touched), datetime.now(UTC), full=full), origins)
            yield None

    @app.timer(REFRESH_SECONDS)
    async def refresh() -> None:
        """Population benchmarks and registry changes: re-rate, emit what changed."""
        if not loaded or not (engine.benchmarks_stale or engine.dirty):
            return
        async with lock:
            if engine.dirty:
                engine.update(
                    {sid: dict(table.get(sid) or {}) for sid in engine.dirty if table.get(sid)}
                )
                engine.dirty.clear()
            await emit(
                engine.ratings(set(), datetime.now(UTC), refresh_benchmarks=True, full=True), {}
            )

    app.greenchain_engine = engine  # type: ignore[attr-defined]  # for tests and debugging
    return app


def run_worker(settings: Settings) -> None:
    """Runs the worker until SIGINT/SIGTERM (faust handles the signals)."""
    from faust.worker import Worker

    topics.ensure_topics(settings)
    app = create_app(settings)
    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
