"""The scoring worker: a faust-streaming app around the ScoringEngine.

- Source: the declarations topic (key supplier id), in micro-batches.
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

A batch goes through named steps: :meth:`ScoringSteps.decode` (undecodable -> dead letter),
:meth:`ScoringSteps.apply` (into per-supplier state), :meth:`ScoringSteps.rate`, then
:meth:`ScoringWorker.emit`. The steps take plain records and any mutable mapping as the table,
so they are tested without a broker; :mod:`greenchain.scoring.faust_bridge` is the only module
that knows faust's internals.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust
from google.protobuf.message import DecodeError
from opentelemetry import trace
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential_jitter

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import CompactedTopicReader, sasl_login
from greenchain.common.telemetry import extract_context, inject_headers
from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.faust_bridge import Record, batches, table_context
from greenchain.scoring.model import Methodology
from greenchain.scoring.state import SupplierState, Unacceptable, apply, model_row
from greenchain.scoring.watchdog import STALL_SECONDS, StallWatchdog
from greenchain.v1 import declaration_pb2, rating_pb2, supplier_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("greenchain.scoring")

EXIT_SOFTWARE = 70  # sysexits.h: the worker could not do its job; the supervisor restarts it

REFRESH_SECONDS = 2.0
"""How often the timer refreshes population benchmarks and registry changes (when any)."""

Headers = list[tuple[str, bytes]]


@dataclass
class Batch:
    """What one micro-batch did to the state: suppliers it changed, and records it rejected."""

    touched: dict[str, SupplierState] = field(default_factory=dict)
    latest: dict[str, Record] = field(default_factory=dict)  # supplier -> last applied record
    origins: dict[str, Headers] = field(default_factory=dict)  # supplier -> its trace headers
    dead_letters: list[tuple[Record, str]] = field(default_factory=list)  # (record, reason)


class ScoringSteps:
    """The worker's logic without faust: decode, apply to state, rate.

    ``table`` is the per-supplier state (faust's table in the worker, a dict in tests);
    ``context(record)`` makes a record current while the table is read or written.
    """

    def __init__(
        self,
        engine: ScoringEngine,
        table: MutableMapping[str, Any],
        context: Callable[[Record], AbstractContextManager[None]] = table_context,
    ) -> None:
        self.engine = engine
        self.table = table
        self.context = context
        self.loaded = False  # the recovered population is in the engine
        self.recovered = 0  # suppliers recovered from the table at (re)start
        self.full_pending = True  # everyone is rated once after a (re)start, until confirmed

    @staticmethod
    def decode(record: Record) -> declaration_pb2.Declaration | str:
        """The declaration of ``record``, or why it cannot be rated (for the DLQ)."""
        try:
            decl = declaration_pb2.Declaration.FromString(record.value)
            model_row(decl)  # raises Unacceptable
        except (DecodeError, Unacceptable) as exc:
            return f"{type(exc).__name__}: {exc}"
        return decl

    def apply(self, records: list[Record]) -> Batch:
        """Decodes and applies a batch to the table: one table write (and changelog record) per
        supplier and batch, not per record."""
        batch = Batch()
        for record in records:
            decl = self.decode(record)
            if isinstance(decl, str):
                batch.dead_letters.append((record, decl))
                continue
            sid = decl.supplier_id
            state = batch.touched.get(sid)
            if state is None:
                with self.context(record):
                    state = dict(self.table.get(sid) or {})
            if apply(state, decl):
                batch.touched[sid] = state
                batch.latest[sid] = record
                batch.origins[sid] = record.headers
        for sid, state in batch.touched.items():
            with self.context(batch.latest[sid]):
                self.table[sid] = state
        return batch

    def rate(self, batch: Batch, as_of: datetime) -> list[rating_pb2.SupplierRating]:
        """The changed ratings after ``batch``, pending until :meth:`confirm`. The first batch
        after a (re)start loads the whole recovered population first and rates everyone. Calling
        it again for the same batch (a retry after a failed send) gives the same ratings."""
        if not self.loaded:
            recovered = {str(k): dict(v) for k, v in self.table.items() if v}
            self.engine.update(recovered)
            self.loaded, self.recovered = True, len(recovered)
            log.info("population loaded: %d suppliers from the table", len(recovered))
        self.engine.update(batch.touched)
        return self.engine.ratings(set(batch.touched), as_of, full=self.full_pending, confirm=False)

    def refresh(self, as_of: datetime) -> list[rating_pb2.SupplierRating]:
        """Registry changes and population benchmarks: re-rate, return what changed."""
        engine = self.engine
        if engine.dirty:
            engine.update(
                {sid: dict(self.table[sid]) for sid in engine.dirty if self.table.get(sid)}
            )
            engine.dirty.clear()
        return engine.ratings(set(), as_of, refresh_benchmarks=True, full=True, confirm=False)

    def confirm(self, ratings: list[rating_pb2.SupplierRating]) -> None:
        """Kafka acknowledged ``ratings``: they count as emitted."""
        self.engine.confirm(ratings)
        self.full_pending = False

    def discard(self) -> None:
        """The last ratings were not sent: the next attempt rates them again."""
        self.engine.discard()


def _on_supplier(engine: ScoringEngine, key: bytes, value: bytes | None) -> None:
    if value is not None:
        try:
            engine.set_supplier(supplier_pb2.Supplier.FromString(value))
        except DecodeError:
            log.warning("skipping undecodable registry record %r", key)


def _on_rating(engine: ScoringEngine, key: bytes, value: bytes | None) -> None:
    if value is not None:
        engine.remember(rating_pb2.SupplierRating.FromString(value))


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


class ScoringWorker:
    """The faust app of one scoring worker: topics, table, agent and timers wired to the steps.
    Nothing starts until :meth:`run` (or a faust Worker) runs :attr:`app`."""

    def __init__(self, settings: Settings, methodology: Methodology | None = None) -> None:
        self.settings = settings
        self.engine = ScoringEngine(
            methodology or Methodology.load(settings.methodology_file or None)
        )
        self.app = faust.App(
            settings.group("scoring"),
            broker=f"kafka://{settings.kafka_bootstrap_servers}",
            broker_credentials=(
                None
                if settings.kafka_security_protocol == "PLAINTEXT"
                else faust.SASLCredentials(**sasl_login(settings))
            ),
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
        self.declarations = self.app.topic(
            settings.topic(topics.DECLARATIONS),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            internal=False,
        )
        self.ratings_topic = self.app.topic(
            settings.topic(topics.RATINGS), key_serializer="raw", value_serializer="raw"
        )
        self.dlq = self.app.topic(
            settings.topic(topics.DECLARATIONS_DLQ), key_serializer="raw", value_serializer="raw"
        )
        table = self.app.Table(
            "declarations",
            default=None,
            partitions=settings.topic_partitions,
            extra_topic_configs=topics.changelog_config(settings),
        )
        self.steps = ScoringSteps(self.engine, table)
        self.watchdog = StallWatchdog(self.app, settings.topic(topics.DECLARATIONS), settings)
        self.lock = asyncio.Lock()  # one batch or refresh rates at a time
        self.ready = asyncio.Event()  # registry and emitted ratings read

        self.app.task(self.start_readers)
        self.app.agent(self.declarations, name="score")(self.score)
        self.app.timer(REFRESH_SECONDS)(self.refresh)
        self.app.timer(STALL_SECONDS / 3)(self.check_progress)

    # faust entry points ------------------------------------------------------------------

    async def start_readers(self) -> None:
        """The registry and the last emitted ratings before the first batch; then the
        registry's changes while running (new suppliers, land area, chains)."""
        await preload(self.settings, self.engine)
        self.ready.set()
        follower = CompactedTopicReader(
            self.settings,
            self.settings.topic(topics.SUPPLIERS),
            lambda k, v: _on_supplier(self.engine, k, v),
        )
        await follower.start()

    async def score(self, stream: Any) -> AsyncIterator[None]:  # stream: faust.Stream
        await self.ready.wait()
        size, within = self.settings.scoring_batch_size, self.settings.scoring_batch_seconds
        async for records in batches(stream, size, within):
            batch = self.steps.apply(records)
            async with self.lock:
                first = not self.steps.loaded
                await self.deliver(partial(self.steps.rate, batch), batch)
                if first:
                    self.watchdog.replay_pending = self.steps.recovered > 0
            yield None  # only now may faust ack the batch's records

    async def refresh(self) -> None:
        """Population benchmarks and registry changes: re-rate, emit what changed."""
        if not self.steps.loaded or not (self.engine.benchmarks_stale or self.engine.dirty):
            return
        async with self.lock:
            await self.deliver(self.steps.refresh, Batch())

    async def check_progress(self) -> None:
        if self.ready.is_set() and self.steps.loaded:
            await self.watchdog.check()

    # outputs -----------------------------------------------------------------------------

    async def deliver(
        self, rate: Callable[[datetime], list[rating_pb2.SupplierRating]], batch: Batch
    ) -> None:
        """Dead letters and ratings of a batch, acknowledged by Kafka before the batch may be.

        A failed send (or a failing model) is retried with jittered backoff for
        ``scoring_emit_retry_seconds``; the ratings count as emitted only once acknowledged.
        If it still fails the worker stops at once (exit 70) without acknowledging the batch,
        so its records are read again after the restart: a batch is never skipped.
        """
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_delay(self.settings.scoring_emit_retry_seconds),
                wait=wait_exponential_jitter(multiplier=0.5, max=5.0),
                before_sleep=lambda state: log.warning(
                    "emit failed, retrying (attempt %d): %s",
                    state.attempt_number,
                    state.outcome.exception() if state.outcome else "?",
                ),
                reraise=True,
            ):
                with attempt:
                    for record, reason in batch.dead_letters:
                        await self.dead_letter(record, reason)
                    ratings = rate(datetime.now(UTC))
                    try:
                        await self.emit(ratings, batch.origins)
                    except BaseException:
                        self.steps.discard()
                        raise
                    self.steps.confirm(ratings)
        except Exception:
            log.exception(
                "could not rate and emit a batch within %.0f s: stopping the worker with the "
                "batch unacknowledged (it is read again after the restart)",
                self.settings.scoring_emit_retry_seconds,
            )
            logging.shutdown()
            os._exit(EXIT_SOFTWARE)

    async def dead_letter(self, record: Record, reason: str) -> None:
        """Sends an undecodable or unacceptable record to the DLQ, with why and where from."""
        delivery = await self.dlq.send(
            key=record.key,
            value=record.value,
            headers=[
                *record.headers,
                ("error", reason.encode()),
                ("source.topic", record.topic.encode()),
                ("source.partition", str(record.partition).encode()),
                ("source.offset", str(record.offset).encode()),
            ],
        )
        await delivery

    async def emit(
        self, ratings: list[rating_pb2.SupplierRating], origins: dict[str, Headers]
    ) -> None:
        """Sends the ratings, each in a span continuing its declaration's trace, and waits until
        Kafka has acked every one (before the batch's offsets may be committed)."""
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
                    await self.ratings_topic.send(
                        key=rating.supplier_id.encode(),
                        value=rating.SerializeToString(),
                        headers=inject_headers(),
                    )
                )
        for delivery in deliveries:
            await delivery


def run_worker(settings: Settings) -> None:
    """Runs a worker until SIGINT/SIGTERM (faust handles the signals)."""
    from faust.worker import Worker

    topics.ensure_topics(settings)
    Worker(ScoringWorker(settings).app, loglevel="INFO", quiet=True).execute_from_commandline()
