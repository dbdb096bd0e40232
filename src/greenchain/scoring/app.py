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
import os
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import faust
import faust.streams as faust_streams
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
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
STALL_SECONDS = 15.0
"""A partition with records waiting and no progress for this long counts as stalled."""


@contextmanager
def processing(event: Any) -> Iterator[None]:
    """Makes ``event`` faust's current event in this task while its table state is read and
    written: tables find the partition (and the rocksdb store its database) through it, and
    ``take_events`` does not set it. Only the task-local context variable is set; the stream's
    own ``current_event`` belongs to faust's buffering task and must not be touched."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def _headers(event: Any) -> list[tuple[str, bytes]]:
    raw: Any = event.headers or {}
    items = raw.items() if isinstance(raw, Mapping) else raw
    return [(k, v) for k, v in items if isinstance(v, bytes)]


class StallWatchdog:
    """Detects a source partition whose committed offset stops short of its end, and gets it
    moving again.

    faust-streaming can skip a range of records after a restart or rebalance (a prefetched
    later record is delivered first, cf. faust-streaming issues #221 and #629): the records of
    the gap are never processed, so the group's committed offset stays before them. The
    watchdog compares committed and end offsets; when a partition has records waiting and its
    committed offset has not moved for STALL_SECONDS, it seeks the partition back to the
    committed offset (reprocessing is idempotent). If that does not help, it exits the process
    for its supervisor to restart it, which is safe with at-least-once processing.
    """

    def __init__(self, app: faust.App, topic: str, settings: Settings) -> None:
        self.app = app
        self.topic = topic
        self.settings = settings
        self.seen: dict[int, tuple[int, float]] = {}  # partition -> (committed, since when)
        self.attempts: dict[int, int] = {}
        self.replay_pending = False  # set after a restart with recovered state
        self._offsets: AIOKafkaConsumer | None = None

    async def check(self) -> None:
        consumer: Any = self.app.consumer  # faust's: seek and resume are all we touch
        assigned = sorted(tp.partition for tp in consumer.assignment() if tp.topic == self.topic)
        if not assigned:
            return
        tps = [TopicPartition(self.topic, p) for p in assigned]
        try:
            ends, committed_now = await self._read_offsets(tps)
        except KafkaError as err:
            # the broker is unreachable (restart, network): faust keeps retrying on its own;
            # the watchdog looks again on its next tick instead of crashing the worker
            log.warning("watchdog: offsets unavailable (%s); will look again", err)
            return
        if self.replay_pending and all(committed_now[tp] >= ends[tp] for tp in tps):
            await self._replay(consumer)
            return
        now = asyncio.get_running_loop().time()
        for tp in tps:
            committed = committed_now[tp]
            last, since = self.seen.get(tp.partition, (-1, now))
            if committed != last or committed >= ends[tp]:
                self.seen[tp.partition] = (committed, now)
                self.attempts.pop(tp.partition, None)
                continue
            if now - since < STALL_SECONDS:
                continue
            attempt = self.attempts.get(tp.partition, 0) + 1
            self.attempts[tp.partition] = attempt
            log.warning(
                "partition %d: committed offset stuck at %d of %d for %.0f s; "
                "seeking back to it (attempt %d)",
                tp.partition,
                committed,
                ends[tp],
                now - since,
                attempt,
            )
            if attempt > 3:
                log.error("partition %d still stuck: exiting for a clean restart", tp.partition)
                os._exit(75)
            faust_tp = next(
                t
                for t in consumer.assignment()
                if t.topic == self.topic and t.partition == tp.partition
            )
            consumer.resume_partitions([faust_tp])
            await consumer.seek(faust_tp, committed)
            self.seen[tp.partition] = (committed, now)

    async def _read_offsets(
        self, tps: list[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        """End and committed offsets of ``tps`` (from a consumer that never joins the group)."""
        if self._offsets is None:
            offsets = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                group_id=self.settings.group("scoring"),
                enable_auto_commit=False,
            )
            try:
                await offsets.start()
            except BaseException:
                await offsets.stop()
                raise
            self._offsets = offsets
        ends = await self._offsets.end_offsets(tps)
        committed = {tp: await self._offsets.committed(tp) or 0 for tp in tps}
        return ends, committed

    async def _replay(self, consumer: Any) -> None:
        """After a restart, once caught up: read the assigned partitions once more from the
        beginning. faust can skip records while it recovers state after a restart; replaying
        is idempotent (applied declarations change nothing) and applies any it skipped."""
        self.replay_pending = False
        partitions = [tp for tp in consumer.assignment() if tp.topic == self.topic]
        log.info("restart check: replaying %d partition(s) from the beginning", len(partitions))
        for tp in partitions:
            await consumer.seek(tp, 0)

    async def stop(self) -> None:
        if self._offsets is not None:
            await self._offsets.stop()


async def preload(settings: Settings, engine: ScoringEngine) -> None:
    """Reads the registry and the last emitted rating of every supplier (to resume revisions
    and not to re-emit what is already on the ratings topic)."""
    registry = CompactedTopicReader(
        settings, settings.topic(topics.SUPPLIERS), lambda k, v: _on_supplier(engine, k, v)
    )
    emitted = CompactedTopicReader(
        settings, settings.topic(topics.RATINGS), lambda k, v: _on_rating(engine, k, v)
    )
    await registry.start()
    await emitted.start()
    await registry.caught_up.wait()
    await emitted.caught_up.wait()
    await registry.stop()
    await emitted.stop()
    log.info(
        "scoring ready: %d suppliers registered, %d ratings known",
        len(engine.registry),
        len(engine.emitted),
    )


def _on_supplier(engine: ScoringEngine, key: bytes, value: bytes | None) -> None:
    if value is not None:
        try:
            engine.set_supplier(supplier_pb2.Supplier.FromString(value))
        except DecodeError:
            log.warning("skipping undecodable registry record %r", key)


def _on_rating(engine: ScoringEngine, key: bytes, value: bytes | None) -> None:
    if value is not None:
        engine.remember(rating_pb2.SupplierRating.FromString(value))


def create_app(settings: Settings) -> faust.App:
    """The faust app for ``settings`` (nothing starts until a worker runs it)."""
    engine = ScoringEngine(Methodology.load(settings.methodology_file or None))
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
    watchdog = StallWatchdog(app, settings.topic(topics.DECLARATIONS), settings)
    lock = asyncio.Lock()
    loaded = False

    ready = asyncio.Event()

    @app.task
    async def start_readers() -> None:
        """The registry and the last emitted ratings before the first batch; then the
        registry's changes while running (new suppliers, land area, chains)."""
        await preload(settings, engine)
        ready.set()
        follower = CompactedTopicReader(
            settings, settings.topic(topics.SUPPLIERS), lambda k, v: _on_supplier(engine, k, v)
        )
        await follower.start()

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
            latest: dict[str, Any] = {}  # supplier -> its last applied event of the batch
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
                state = touched.get(sid)
                if state is None:
                    with processing(event):
                        state = dict(table.get(sid) or {})
                if apply(state, decl):
                    touched[sid] = state
                    latest[sid] = event
                    origins[sid] = headers
            # one table write (and changelog record) per supplier and batch, not per event
            for sid, state in touched.items():
                with processing(latest[sid]):
                    table[sid] = state
            async with lock:
                full = not loaded
                if not loaded:
                    recovered = all_states()  # after a (re)start: the whole recovered state
                    engine.update(recovered)
                    loaded = True
                    log.info("population loaded: %d suppliers from the table", len(recovered))
                    watchdog.replay_pending = bool(recovered)
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

    @app.timer(STALL_SECONDS / 3)
    async def check_progress() -> None:
        if ready.is_set() and loaded:
            await watchdog.check()

    app.greenchain_engine = engine  # type: ignore[attr-defined]  # for tests and debugging
    return app


def run_worker(settings: Settings) -> None:
    """Runs the worker until SIGINT/SIGTERM (faust handles the signals)."""
    from faust.worker import Worker

    topics.ensure_topics(settings)
    app = create_app(settings)
    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
