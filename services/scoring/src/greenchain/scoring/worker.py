"""The scoring worker: a faust-streaming app around the ScoringEngine.

- Source: the declarations topic (key supplier id), in micro-batches. A record holds one
  declaration (the original form) or a DeclarationBatch of many (header ``greenchain.format``,
  see :mod:`greenchain.common.batches`); the steps expand it into its declarations, each with
  its own trace context and its own dead letter.
- State: faust table ``declarations`` (supplier id -> SupplierState), changelog-backed, so a
  restarted or rebalanced worker recovers it. Store: ``memory://`` by default (recovery replays
  the changelog; fine for thousands of suppliers), ``rocksdb://`` (rocksdict) for large
  populations: local state survives restarts and only the changelog tail is replayed.
- Output: the ratings topic (key supplier id), only when a rating changed, each with its
  indicators record (compacted topic greenchain.indicators.v1); undecodable or unacceptable
  records go to the DLQ with the reason in the headers.
- Population: every worker rates against the latest snapshot on greenchain.benchmarks.v1,
  which faust's leader builds from the indicators topic (:mod:`greenchain.scoring.snapshots`):
  ratings do not depend on which worker owns a supplier.
- Delivery: at-least-once. Table updates are idempotent (duplicates ignored, corrections
  supersede), ratings are awaited until Kafka acks them before the batch's offsets can commit,
  and the last emitted rating per supplier is read from the compacted indicators topic at start
  (cost follows the population, not the history), so a replayed batch re-emits nothing that is
  already there. faust's exactly_once is not used.
- Catching up (far behind the end of its input): batches are applied, and each changed
  supplier is rated once when the worker is near the end; the records' acks wait until then
  (:meth:`ScoringWorker.score`).

A batch goes through named steps: :meth:`ScoringSteps.decode` (undecodable -> dead letter),
:meth:`ScoringSteps.apply` (into per-supplier state), :meth:`ScoringSteps.rate`, then
:meth:`ScoringWorker.emit`. The steps take plain records and any mutable mapping as the table,
so they are tested without a broker; :mod:`greenchain.scoring.faust_bridge` is the only module
that knows faust's internals.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust
from faust.types import TP
from google.protobuf.message import DecodeError
from opentelemetry import trace
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential_jitter

from greenchain.common import topics
from greenchain.common.batches import Entry, UndecodableRecord, decode_record
from greenchain.common.config import Settings
from greenchain.common.kafka import CompactedTopicReader, sasl_login
from greenchain.common.metrics import (
    DEAD_LETTERS,
    HEALTH_CHECKS,
    RATINGS_EMITTED,
    SCORING_BATCH_SECONDS,
    SCORING_BATCH_SIZE,
    observe_delivery,
)
from greenchain.common.supervision import supervise
from greenchain.common.telemetry import extract_context, inject_headers
from greenchain.scoring.engine import Emission, ScoringEngine
from greenchain.scoring.faust_bridge import (
    Record,
    batches,
    release_acks,
    table_context,
    withhold_ack,
)
from greenchain.scoring.model import Methodology
from greenchain.scoring.resume import read_unnamed_ratings
from greenchain.scoring.snapshots import SNAPSHOT_KEY, BenchmarkStage, follow_snapshots
from greenchain.scoring.state import (
    Checked,
    Holding,
    Limits,
    SupplierState,
    Unacceptable,
    check,
)
from greenchain.scoring.watchdog import STALL_SECONDS, StallWatchdog
from greenchain.v1 import benchmark_pb2, supplier_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("greenchain.scoring")

EXIT_SOFTWARE = 70  # sysexits.h: the worker could not do its job; the supervisor restarts it

ALIVE_SECONDS = 60.0
"""Liveness: the worker's timers must have ticked within this long (else its loop is stuck)."""

SETTLE_CHUNK = 20_000
"""Owed suppliers rated and emitted at a time when a worker has caught up: bounds the memory of
one rating pass, and lets timers (liveness, commits) run between passes."""

PRODUCER_BATCH_BYTES = 512 * 1024
"""Most bytes the worker's producer puts in one batch per partition (faust's default: 16 KiB).
A supplier's table value is kilobytes of JSON, so at 16 KiB a changelog batch held one or two
of them and a settle after catching up sent one produce request per few suppliers. Below the
broker's default ``message.max.bytes`` (1 MiB), which a batch must fit. A greenchain default."""

CATCH_UP_EXIT_DIVISOR = 10
"""A worker catching up goes on until it is within ``scoring_catch_up_records`` / this of the
ends of its partitions (hysteresis: it does not stop and start again around one threshold)."""

REFRESH_SECONDS = 2.0
"""How often the leader builds a snapshot, and workers apply new snapshots and registry
changes (when any)."""

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class DeadLetter:
    """What scoring cannot rate: one declaration of a record (``entry``), or the whole record
    when it cannot be read at all (``entry`` None)."""

    record: Record
    reason: str
    entry: Entry | None = None

    @property
    def key(self) -> bytes | None:
        return (
            self.record.key if self.entry is None else self.entry.declaration.supplier_id.encode()
        )

    @property
    def value(self) -> bytes:
        """The declaration's bytes alone, or the record's value when it could not be read."""
        return self.record.value if self.entry is None else self.entry.payload()

    @property
    def headers(self) -> Headers:
        """The declaration's own headers (trace context, id), why, and where it came from."""
        record = self.record
        return [
            *(record.headers if self.entry is None else self.entry.headers),
            ("error", self.reason.encode()),
            ("source.topic", record.topic.encode()),
            ("source.partition", str(record.partition).encode()),
            ("source.offset", str(record.offset).encode()),
            *(() if self.entry is None else [("source.index", str(self.entry.index).encode())]),
        ]


@dataclass
class Batch:
    """What one micro-batch did to the state: suppliers it changed, and what it rejected."""

    touched: dict[str, SupplierState] = field(default_factory=dict)
    # suppliers whose declarations changed nothing (a replay after a restart, a duplicate):
    # rated again in case the crash came between the state's update and the rating's emission
    seen: set[str] = field(default_factory=set)
    latest: dict[str, Record] = field(default_factory=dict)  # supplier -> record of its last
    # supplier -> its last declaration in the batch, whose trace its rating continues
    origins: dict[str, Entry] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def origin(self, supplier_id: str) -> Headers | None:
        """The headers (trace context) of the declaration a supplier's rating continues."""
        entry = self.origins.get(supplier_id)
        return None if entry is None else entry.headers


def _no_assignment() -> frozenset[Any]:
    return frozenset()


class ScoringSteps:
    """The worker's logic without faust: decode, apply to state, rate.

    ``table`` is the per-supplier state (faust's table in the worker, a dict in tests);
    ``context(record)`` makes a record current while the table is read or written;
    ``assignment()`` names the partitions owned now (a change reloads the owned population).
    """

    def __init__(
        self,
        engine: ScoringEngine,
        table: MutableMapping[str, Any],
        context: Callable[[Record], AbstractContextManager[None]] = table_context,
        assignment: Callable[[], frozenset[Any]] = _no_assignment,
        limits: Limits | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.context = context
        self.assignment = assignment
        self.limits = limits or Limits()  # per-supplier state bounds (state.py)
        self.loaded_for: frozenset[Any] | None = None  # the assignment the population is of
        self.recovered = 0  # suppliers in the table at the last (re)load
        # catching up (see ScoringWorker: each supplier rated once when caught up): suppliers
        # applied but not rated yet -> the trace context of the declaration their rating
        # continues; their states, not written to the table yet -> (partition, Holding: the
        # next batch applies onto it without reading the state again); and
        # per partition a record of it, whose event makes a table write go to its changelog
        self.unrated: dict[str, Headers | None] = {}
        self.unwritten: dict[str, tuple[int, Holding]] = {}
        self.contexts: dict[int, Record] = {}

    @staticmethod
    def decode(record: Record) -> tuple[list[tuple[Entry, Checked | None]], list[DeadLetter]]:
        """The declarations of ``record`` that can be rated, in order, each as
        :func:`~greenchain.scoring.state.check` read it (None for a verification), and a dead
        letter for each one that cannot (or one for the record, when it cannot be read at
        all)."""
        try:
            entries = decode_record(record.value, record.headers)
        except UndecodableRecord as exc:
            return [], [DeadLetter(record, str(exc))]
        good: list[tuple[Entry, Checked | None]] = []
        bad: list[DeadLetter] = []
        for entry in entries:
            try:
                checked = check(entry.declaration)  # raises Unacceptable
            except Unacceptable as exc:
                bad.append(DeadLetter(record, f"{type(exc).__name__}: {exc}", entry))
            else:
                good.append((entry, checked))
        return good, bad

    def apply(self, records: list[Record], defer: bool = False) -> Batch:
        """Decodes and applies a batch. Its changed states are written to the table: one write
        (and changelog record) per supplier and batch, not per record or declaration. With
        ``defer`` (catching up), they are not: they wait, with their suppliers' ratings, for
        :meth:`rate_owed`, so a supplier changed by many batches is written once."""
        batch = Batch()
        held: dict[str, Holding] = {}  # each supplier's state read once per batch
        touched, latest, origins = batch.touched, batch.latest, batch.origins  # per declaration
        unwritten = self.unwritten
        for record in records:
            entries, dead = self.decode(record)
            batch.dead_letters.extend(dead)
            for entry, checked in entries:
                decl = entry.declaration
                sid = decl.supplier_id
                holding = held.get(sid)
                if holding is None:
                    owed = unwritten.get(sid)
                    if owed is None:
                        with self.context(record):
                            state = dict(self.table.get(sid) or {})
                        holding = Holding(state, self.limits)
                    else:  # ours alone until written: changed in place, never read again
                        holding = owed[1]
                    held[sid] = holding
                try:
                    changed = holding.apply(decl, checked)
                except Unacceptable as exc:  # over a per-supplier cap: state unchanged
                    batch.dead_letters.append(
                        DeadLetter(record, f"{type(exc).__name__}: {exc}", entry)
                    )
                    continue
                if changed:
                    touched[sid] = holding.state
                    latest[sid] = record
                    origins[sid] = entry
                else:
                    batch.seen.add(sid)
                    origins.setdefault(sid, entry)
        if defer:
            self._defer(batch, held)
        else:
            for sid, state in touched.items():
                unwritten.pop(sid, None)  # superseded (a batch after catching up)
                with self.context(latest[sid]):
                    self.table[sid] = state
        return batch

    def _defer(self, batch: Batch, held: dict[str, Holding]) -> None:
        """Catching up: the batch's states wait to be written, and its suppliers to be rated,
        by :meth:`rate_owed`, once however many batches change them until then."""
        unrated, unwritten, contexts = self.unrated, self.unwritten, self.contexts
        for sid, entry in batch.origins.items():  # touched and seen, in order (stable runs)
            unrated[sid] = entry.headers
        for sid in batch.touched:
            record = batch.latest[sid]
            unwritten[sid] = (record.partition, held[sid])
            contexts[record.partition] = record

    def ensure_loaded(self, rated_next: AbstractSet[str] = frozenset()) -> None:
        """Loads the owned population's indicators from the table after a (re)start or a
        rebalance (cost: the owned state, once), so new snapshots can re-rate it.
        ``rated_next``: suppliers the caller updates right after (not computed twice: after a
        start, the first batch of a backfill holds most of the population)."""
        assignment = self.assignment()
        if self.loaded_for == assignment:
            return
        self.engine.reset_population()
        recovered = {str(k): v for k, v in self.table.items() if v}
        load = {sid: dict(v) for sid, v in recovered.items() if sid not in rated_next}
        if load:
            self.engine.update(load)
        self.loaded_for, self.recovered = assignment, len(recovered)
        log.info("population loaded: %d suppliers from the table", len(recovered))

    def rate(self, batch: Batch, as_of: datetime) -> list[Emission]:
        """The changed ratings after ``batch`` (its suppliers only, against the current
        snapshot), pending until :meth:`confirm`. Calling it again for the same batch (a retry
        after a failed send) gives the same ratings."""
        states = dict(batch.touched)
        for sid in batch.seen - set(states):
            state = self.table.get(sid)
            if state:
                states[sid] = dict(state)
        # owed ratings are computed right after: not loaded into the population twice
        self.ensure_loaded(states.keys() | self.unrated.keys())
        if not states:
            return []
        return self.engine.ratings(self.engine.update(states), as_of)

    def rate_owed(self, suppliers: list[str], as_of: datetime) -> list[Emission]:
        """The changed ratings of ``suppliers`` (some of :attr:`unrated`), their states written
        to the table first; like :meth:`rate`, the same ratings when called again."""
        self.ensure_loaded(self.unrated.keys())
        for sid in suppliers:  # their states to the table first (changelog), then ratings
            owed = self.unwritten.pop(sid, None)
            if owed is not None:
                partition, holding = owed
                with self.context(self.contexts[partition]):
                    self.table[sid] = holding.state
        states = {sid: dict(state) for sid in suppliers if (state := self.table.get(sid))}
        if not states:
            return []
        return self.engine.ratings(self.engine.update(states), as_of)

    def forget_owed(self) -> None:
        """Drops what is owed (after a rebalance or restart: its records are read again)."""
        self.unrated.clear()
        self.unwritten.clear()
        self.contexts.clear()

    def refresh(self, as_of: datetime) -> list[Emission]:
        """Registry changes, then a new snapshot: re-rate, return what changed."""
        self.ensure_loaded()
        engine = self.engine
        out: list[Emission] = []
        if engine.dirty:
            states = {sid: dict(self.table[sid]) for sid in engine.dirty if self.table.get(sid)}
            engine.dirty.clear()  # not owned here: the owner rates them
            if states:
                out += engine.ratings(engine.update(states), as_of)
        if engine.snapshot_changed:
            rated = {e.rating.supplier_id for e in out}
            owned = {str(k) for k in self.table} - rated
            moved = engine.rerate(as_of, owned)
            log.info(
                "snapshot %s: %d owned suppliers re-scored, %d ratings changed",
                engine.snapshot_id[:12],
                len(owned),
                len(moved),
            )
            out += moved
        return out

    def confirm(self, emissions: list[Emission]) -> None:
        """Kafka acknowledged ``emissions``: they count as emitted."""
        self.engine.confirm(emissions)

    def discard(self) -> None:
        """The last ratings were not sent: the next attempt rates them again."""
        self.engine.discard()


def _on_supplier(engine: ScoringEngine, key: bytes, value: bytes | None) -> None:
    if value is not None:
        try:
            engine.set_supplier(supplier_pb2.Supplier.FromString(value))
        except DecodeError:
            log.warning("skipping undecodable registry record %r", key)


def _on_indicators(engine: ScoringEngine, key: bytes, value: bytes | None) -> None:
    if value is not None:
        try:
            engine.remember(benchmark_pb2.SupplierIndicators.FromString(value))
        except DecodeError:
            log.warning("skipping undecodable indicators record %r", key)


async def preload(settings: Settings, engine: ScoringEngine) -> list[CompactedTopicReader]:
    """Reads what rating needs before the first batch, then keeps following it: the last
    emitted rating of every supplier (from the compacted indicators topic: resume revisions,
    never re-emit what is there), the registry (after those, so only entries that changed since
    a supplier's last rating mark it dirty) and the latest population snapshot. Cost follows
    the population, never the history of the ratings topic. Returns the running readers."""
    m = engine.m
    readers = [
        CompactedTopicReader(
            settings, settings.topic(topics.INDICATORS), lambda k, v: _on_indicators(engine, k, v)
        ),
        CompactedTopicReader(
            settings, settings.topic(topics.SUPPLIERS), lambda k, v: _on_supplier(engine, k, v)
        ),
        CompactedTopicReader(
            settings, settings.topic(topics.BENCHMARKS), follow_snapshots(m, engine.set_snapshot)
        ),
    ]
    emitted, registry, snapshots = readers
    # the registry after what was emitted (it compares with it); the snapshot meanwhile: each
    # reader of a topic still empty waits for one fetch timeout before it is caught up
    await asyncio.gather(emitted.start(), snapshots.start())
    await asyncio.gather(emitted.wait_caught_up(), snapshots.wait_caught_up())
    await read_unnamed_ratings(settings, engine)  # emitted, but not named by the indicators
    await registry.start()
    await registry.wait_caught_up()
    log.info(
        "scoring ready: %d suppliers registered, %d ratings known, snapshot %s",
        len(engine.registry),
        len(engine.emitted),
        engine.snapshot_id[:12] or "none yet",
    )
    return readers


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
            producer_max_batch_size=PRODUCER_BATCH_BYTES,
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
        self.dlq = self.app.topic(
            settings.topic(topics.DECLARATIONS_DLQ), key_serializer="raw", value_serializer="raw"
        )
        self.benchmarks_topic = self.app.topic(
            settings.topic(topics.BENCHMARKS), key_serializer="raw", value_serializer="raw"
        )
        table = self.app.Table(
            topics.SCORING_TABLE,  # its changelog: topics.scoring_changelog
            default=None,
            partitions=settings.topic_partitions,
            extra_topic_configs=topics.changelog_config(settings),
        )
        limits = Limits.from_settings(settings, self.engine.m.window_months)
        self.steps = ScoringSteps(self.engine, table, assignment=self._assignment, limits=limits)
        self.watchdog = StallWatchdog(self.app, settings.topic(topics.DECLARATIONS), settings)
        self.lock = asyncio.Lock()  # one batch or refresh rates at a time
        self.ready = asyncio.Event()  # emitted ratings, registry and snapshot read
        self.stage: BenchmarkStage | None = None  # while this worker is the leader
        self.heartbeat: float | None = None  # monotonic time of the last timer tick
        # catching up (see score): faust messages whose acks wait until the ratings owed for
        # them are emitted, since when ratings are owed, and when the last batch came
        self.owed_acks: list[Any] = []
        self.owed_since: float | None = None
        self.last_batch_at = 0.0
        self.settling = False  # rating what is owed (see _settle)
        HEALTH_CHECKS["/healthz"] = self.alive
        HEALTH_CHECKS["/readyz"] = self.is_ready

        self.app.task(self.start_readers)
        self.app.agent(self.declarations, name="score")(self.score)
        self.app.timer(REFRESH_SECONDS)(self.refresh)
        self.app.timer(REFRESH_SECONDS, on_leader=True)(self.publish_snapshot)
        self.app.timer(STALL_SECONDS / 3)(self.check_progress)

    def _assignment(self) -> frozenset[Any]:
        topic = self.settings.topic(topics.DECLARATIONS)
        return frozenset(tp for tp in self.app.consumer.assignment() if tp.topic == topic)

    # faust entry points ------------------------------------------------------------------

    async def start_readers(self) -> None:
        """What rating needs before the first batch, then its changes while running. Ratings
        depend on every one of these readers: if one dies, the worker exits for a restart."""
        for reader in await preload(self.settings, self.engine):
            supervise(reader.task, _exit_for_restart)
        self.ready.set()

    def alive(self) -> bool:
        """Liveness (HTTP /healthz, from another thread): the event loop still runs timers."""
        return self.heartbeat is None or time.monotonic() - self.heartbeat < ALIVE_SECONDS

    def is_ready(self) -> bool:
        """Readiness (HTTP /readyz): emitted ratings, registry and snapshot read, and alive."""
        return self.ready.is_set() and self.heartbeat is not None and self.alive()

    async def score(self, stream: Any) -> AsyncIterator[None]:  # stream: faust.Stream
        """Each micro-batch: applied to the table, rated, emitted, then acknowledged.

        Catching up (more than ``scoring_catch_up_records`` records behind the ends of its
        partitions: a backfill, a restart after downtime), a batch is applied but its
        suppliers are only noted as owed a rating, and faust is kept from committing its
        records (:func:`~greenchain.scoring.faust_bridge.withhold_ack`). Their states are not
        written to the table either (a changelog record per supplier and batch): they wait in
        memory, and the next batches apply onto them. Once caught up, or
        ``scoring_catch_up_seconds`` after the first owed rating, every owed supplier's state
        is written and the supplier rated, once, and the records are acknowledged. A supplier
        with 24 months in a backfill is written and rated once instead of once per batch its
        months came in; a crash before that re-reads the records from the committed offset
        (at-least-once, as ever). The settled ratings are those of rating every batch (a test
        compares them)."""
        await self.ready.wait()
        size, within = self.settings.scoring_batch_size, self.settings.scoring_batch_seconds
        # the assignment and rebalance this run last started on: a broker restart rebalances
        # the group onto the same partitions, and faust can skip records then too
        started: tuple[frozenset[Any], int] | None = None
        async for records in batches(stream, size, within):
            run = (self._assignment(), self.app.rebalancing_count)
            fresh_start = run != started
            if fresh_start:  # a (re)start or a rebalance: note where reading starts
                self._forget_owed()
                await self.watchdog.mark_start()
                started = run
            # faust can deliver a record past ones it dropped: those are read again first
            records = await self.watchdog.in_order(records)
            started_at = time.perf_counter()
            self.last_batch_at = time.monotonic()
            SCORING_BATCH_SIZE.observe(len(records))
            with self.watchdog.working():
                async with self.lock:  # (apply inside: a settle in progress writes states)
                    catching_up = self._catching_up()
                    if catching_up or self.owing:
                        # the batch that ends catching up is owed too: all rated once, now
                        batch = self.steps.apply(records, defer=True)
                        self._owe(records)
                        await self.deliver(_no_ratings, batch)  # its dead letters
                        if not catching_up:
                            await self._settle()
                    else:
                        batch = self.steps.apply(records)
                        await self.deliver(partial(self.steps.rate, batch), batch)
            self.last_batch_at = time.monotonic()
            SCORING_BATCH_SECONDS.observe(time.perf_counter() - started_at)
            if fresh_start and (self.steps.recovered or self.app.rebalancing_count > 1):
                # faust can skip records while it recovers a table after a restart or a
                # rebalance: read this run's share again once caught up (idempotent)
                self.watchdog.replay_pending = True
            yield None  # only now may faust ack the batch's records

    async def refresh(self) -> None:
        """Registry changes and new snapshots: re-rate, emit what changed. Not while the worker
        rebalances or recovers its table (the population is reloaded from it afterwards), nor
        while it catches up (the ratings it owes come first; once no batch came for a refresh
        interval, they are emitted here)."""
        recovery: Any = self.app.tables.recovery  # type: ignore[attr-defined]
        if not self.ready.is_set() or self.app.rebalancing or recovery.in_recovery:
            return
        if self.owing:
            async with self.lock:  # after the batch in progress, if any (it sets last_batch_at)
                if time.monotonic() - self.last_batch_at < REFRESH_SECONDS:
                    return
                with self.watchdog.working():
                    await self._settle()
        work = self.engine.dirty or self.engine.snapshot_changed
        if not work and self.steps.loaded_for == self._assignment():
            return
        async with self.lock:
            with self.watchdog.working():
                await self.deliver(self.steps.refresh, Batch())

    @property
    def owing(self) -> bool:
        """Ratings (and the acks of their records) wait: see :meth:`score`."""
        return bool(self.owed_acks or self.steps.unrated)

    def _catching_up(self) -> bool:
        """Whether the worker's partitions are more than ``scoring_catch_up_records`` records
        behind their ends (what faust's consumer last heard from the broker, against the next
        offset the worker reads; once catching up, more than a tenth of that), and ratings have
        been owed for less than ``scoring_catch_up_seconds``. All partitions count: faust hands
        over a partition's last records while others are still far behind."""
        threshold = self.settings.scoring_catch_up_records
        if threshold <= 0:
            return False
        since = self.owed_since
        if since is not None:
            # once catching up, until within a tenth of that: what is left when it stops is
            # rated batch by batch, and a batch of a backfill's last months touches every
            # supplier
            threshold //= CATCH_UP_EXIT_DIVISOR
        if since is not None and time.monotonic() - since >= self.settings.scoring_catch_up_seconds:
            return False
        consumer: Any = self.app.consumer
        topic = self.settings.topic(topics.DECLARATIONS)
        behind = 0
        for partition, next_offset in self.watchdog.expected.items():
            end = consumer.highwater(TP(topic, partition))
            if end:  # None or 0 before the first fetch response
                behind += max(0, end - next_offset)
        return behind > threshold

    def _owe(self, records: list[Record]) -> None:
        """Catching up: the records of a batch applied with ``defer`` stay unacknowledged until
        the ratings (and table writes) they are owed are made."""
        self.owed_acks.extend(withhold_ack(record) for record in records)
        # what is held so far leaves the cyclic collector's generations until the owed
        # ratings are made (or dropped): the states hold no cycles, and each collection of
        # an older generation would walk millions of their objects for nothing
        gc.freeze()
        self.watchdog.held.update(record.partition for record in records)
        if self.owed_since is None:
            self.owed_since = time.monotonic()
            log.info("catching up: ratings wait until the worker is near the end of its input")

    async def _settle(self) -> None:
        """Rates every supplier owed a rating (in chunks of :data:`SETTLE_CHUNK`, each emitted
        and acknowledged by Kafka before the next), then lets faust commit the records they
        came from."""
        started, owed = time.monotonic(), len(self.steps.unrated)
        unrated = self.steps.unrated
        self.settling = True
        try:
            while unrated:
                chunk = list(itertools.islice(unrated, SETTLE_CHUNK))
                origins = {sid: unrated[sid] for sid in chunk}
                rate = partial(self.steps.rate_owed, chunk)
                await self.deliver(rate, Batch(), origin=origins.get)
                for sid in chunk:
                    del unrated[sid]
        finally:
            self.settling = False
        release_acks(self.app.consumer, self.owed_acks)
        self._forget_owed()
        log.info("caught up: %d suppliers rated in %.1f s", owed, time.monotonic() - started)

    def _forget_owed(self) -> None:
        """Nothing owed any more: emitted, or (after a rebalance or restart) left to the
        records' next reading, from the committed offset that stopped before them."""
        self.steps.forget_owed()
        gc.unfreeze()  # collected as before (see _owe)
        self.owed_acks = []
        self.watchdog.held.clear()
        self.owed_since = None

    async def publish_snapshot(self) -> None:
        """The benchmark stage (faust's leader only): a new population snapshot when the
        indicators changed it. Built in a thread: its cost follows the population. Not while
        this worker settles what it owes after catching up: its own ratings move the population
        then, and every worker would re-rate against each snapshot on the way."""
        if not self.ready.is_set() or self.settling:
            return
        if self.stage is None:
            stage = BenchmarkStage(self.engine.m)
            reader = CompactedTopicReader(
                self.settings, self.settings.topic(topics.INDICATORS), stage.on_record
            )
            await reader.start()
            await reader.caught_up.wait()
            self.stage = stage
        message = await asyncio.to_thread(self.stage.build, time.monotonic())
        if message is not None:
            delivery = await self.benchmarks_topic.send(
                key=SNAPSHOT_KEY, value=message.SerializeToString()
            )
            await delivery
            log.info(
                "published snapshot %s of %d suppliers", message.snapshot_id[:12], message.suppliers
            )

    async def check_progress(self) -> None:
        self.heartbeat = time.monotonic()
        # also before the first batch: a worker killed before its first offset commit came
        # back with table state but no committed offsets, and faust fetched nothing at all
        if self.ready.is_set():
            await self.watchdog.check()

    # outputs -----------------------------------------------------------------------------

    async def deliver(
        self,
        rate: Callable[[datetime], list[Emission]],
        batch: Batch,
        origin: Callable[[str], Headers | None] | None = None,
    ) -> None:
        """Dead letters and ratings of a batch, acknowledged by Kafka before the batch may be.
        ``origin``: the trace context each supplier's rating continues (default: the batch's).

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
                    await self.dead_letter(batch.dead_letters)
                    emissions = rate(datetime.now(UTC))
                    try:
                        await self.emit(emissions, origin or batch.origin)
                        # the batch's table changes (changelog) too: once its offsets commit,
                        # a restart must find them in the table, never past a lost update
                        await self.app.producer.flush()
                    except BaseException:
                        self.steps.discard()
                        raise
                    self.steps.confirm(emissions)
                    RATINGS_EMITTED.inc(len(emissions))
        except Exception:
            log.exception(
                "could not rate and emit a batch within %.0f s: stopping the worker with the "
                "batch unacknowledged (it is read again after the restart)",
                self.settings.scoring_emit_retry_seconds,
            )
            logging.shutdown()
            os._exit(EXIT_SOFTWARE)

    async def dead_letter(self, letters: list[DeadLetter]) -> None:
        """Sends undecodable records and unacceptable declarations to the DLQ, each with why
        and where from (topic, partition, offset and index in the record), and waits until
        Kafka has acked every one."""
        deliveries = [
            await self.dlq.send(key=letter.key, value=letter.value, headers=letter.headers)
            for letter in letters
        ]
        for delivery in deliveries:
            observe_delivery(delivery, "greenchain-scoring")
        for delivery in deliveries:
            await delivery
        DEAD_LETTERS.inc(len(letters))

    async def emit(
        self, emissions: list[Emission], origin: Callable[[str], Headers | None]
    ) -> None:
        """Sends the ratings, each in a span continuing its declaration's trace (``origin``
        gives its headers), and once Kafka has acked every one, their indicators records (which
        say they were emitted); returns when those are acked too (before the batch's offsets
        may be committed).

        Sent with faust's producer itself (``app.producer.send``: aiokafka's send, the same
        producer, acks and flush as faust's topics), not through a faust ``Topic``, whose
        per-message machinery (a FutureMessage, codecs, callbacks, sensors) cost as much as
        rating the supplier: a settle after catching up sends tens of thousands at once."""
        send = partial(self.app.producer.send, partition=None, timestamp=None)
        ratings_topic = self.settings.topic(topics.RATINGS)
        indicators_topic = self.settings.topic(topics.INDICATORS)
        deliveries = []
        for rating, _ in emissions:
            parent = extract_context(origin(rating.supplier_id))
            with tracer.start_as_current_span(
                "rate supplier",
                context=parent,
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "greenchain.supplier_id": rating.supplier_id,
                    "greenchain.revision": rating.revision,
                },
            ):
                delivery = await send(
                    ratings_topic,
                    key=rating.supplier_id.encode(),
                    value=rating.SerializeToString(),
                    headers=inject_headers(),
                )
                observe_delivery(delivery, "greenchain-scoring")
                deliveries.append(delivery)
        # every failure retrieved, the first one raised
        placed = await asyncio.gather(*deliveries)
        for (_, indicators), metadata in zip(emissions, placed, strict=True):
            # where the rating is: a restart reads the ratings after the last named position
            indicators.emitted.rating_partition = metadata.partition
            indicators.emitted.rating_next_offset = metadata.offset + 1
        await asyncio.gather(
            *[
                await send(
                    indicators_topic,
                    key=rating.supplier_id.encode(),
                    value=indicators.SerializeToString(),
                    headers=None,
                )
                for rating, indicators in emissions
            ]
        )


def _no_ratings(as_of: datetime) -> list[Emission]:
    """What a catching-up batch emits right away: nothing (its suppliers are owed)."""
    return []


def _exit_for_restart(reason: str) -> None:
    log.critical("%s: stopping the worker for a restart", reason)
    logging.shutdown()
    os._exit(EXIT_SOFTWARE)


GC_THRESHOLDS = (50_000, 20, 100)
"""The worker's cyclic-GC thresholds (Python's are 700, 10, 10). The worker holds every owned
supplier's state as Python objects and creates several per declaration (most freed at once by
reference counting), so the default thresholds run a collection every few hundred
declarations, each walking the young states: a quarter of a backfill's CPU time, measured with
the worker's steps on 200,000 declarations (under a tenth with these). Cycles (faust's, asyncio's)
are still collected, less often."""


def run_worker(settings: Settings) -> None:
    """Runs a worker until SIGINT/SIGTERM (faust handles the signals)."""
    from faust.worker import Worker

    gc.set_threshold(*GC_THRESHOLDS)
    topics.ensure_topics(settings, topics.scoring_specs(settings))  # faust's topics too
    # override_logging=False: keep the JSON/console logging service_settings set up
    Worker(
        ScoringWorker(settings).app, loglevel="INFO", quiet=True, override_logging=False
    ).execute_from_commandline()
