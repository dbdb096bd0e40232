"""The campaign's verdict, from what the load generator was told and what the system stores:

* every ACKNOWLEDGED declaration is on the declarations topic exactly once (by declaration id);
* the settled ratings equal those of an uninterrupted run (timestamps aside);
* per supplier the ledger misses and repeats nothing: sequences 1..n, revisions contiguous
  (each one more than the one before), no rating twice in a row, the latest is the settled one;
* every service is healthy again.

:func:`check` is pure (the unit tests feed it broken inputs); :func:`read_declarations` and
:func:`read_ledger` collect its inputs from a real broker and a real ledger file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from google.protobuf.message import DecodeError

from greenchain.common import topics
from greenchain.common.batches import UndecodableRecord, decode_record
from greenchain.common.config import Settings
from greenchain.common.ratings import rating_fingerprint
from greenchain.v1 import declaration_pb2, rating_pb2

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the ledger's ``entries`` table, as far as the checker needs it."""

    sequence: int
    revision: int
    fingerprint: str


@dataclass
class Verdict:
    """The checker's counts; :attr:`problems` is empty when the campaign passed."""

    seed: int
    acknowledged: int = 0
    found_once: int = 0
    lost: int = 0
    duplicated: int = 0
    stored_unacknowledged: int = 0
    undecodable: int = 0
    suppliers_rated: int = 0
    ratings_differing: int = 0
    ledger_entries: int = 0
    ledger_missing: int = 0
    ledger_duplicated: int = 0
    ledger_stale: int = 0
    unhealthy: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        """The counts as printed after a run (also the lead's and the docs' wording)."""
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
        lines = [
            f"campaign seed {self.seed} (replay: GREENCHAIN_CAMPAIGN_SEED={self.seed})",
            f"faults injected: {sum(self.faults.values())} ({faults})",
            f"declarations: acknowledged {self.acknowledged}, found once {self.found_once}, "
            f"lost {self.lost}, duplicated {self.duplicated}, stored but never acknowledged "
            f"{self.stored_unacknowledged}, undecodable records {self.undecodable}",
            f"ratings: {self.suppliers_rated} suppliers settled, {self.ratings_differing} differ "
            "from the uninterrupted run",
            f"ledger: {self.ledger_entries} entries, missing {self.ledger_missing}, duplicated "
            f"{self.ledger_duplicated}, latest not the settled rating {self.ledger_stale}",
            f"unhealthy at the end: {', '.join(self.unhealthy) or 'none'}",
        ]
        lines += [f"PROBLEM: {p}" for p in self.problems]
        return "\n".join(lines)


def declarations_of(value: bytes, headers: Headers) -> list[declaration_pb2.Declaration]:
    """The declarations one record of the declarations topic carries: one (the original form) or
    a batch (header ``greenchain.format: declaration-batch.v1``)."""
    return [entry.declaration for entry in decode_record(value, headers)]


def rating_differences(
    actual: Mapping[str, rating_pb2.SupplierRating],
    expected: Mapping[str, rating_pb2.SupplierRating],
    tolerance: float = 1e-4,
) -> list[str]:
    """One line per supplier whose rating differs from the reference in substance: provenance
    (digest and count of the declarations used), grade, readiness tier, total and indicator
    points (floats within ``tolerance``: a streaming and an offline run may add in another
    order); never timestamps or revisions. A supplier rated on one side only differs too."""
    out = [f"{sid}: no settled rating" for sid in sorted(set(expected) - set(actual))]
    out += [
        f"{sid}: rated, but not in the reference" for sid in sorted(set(actual) - set(expected))
    ]
    for sid in sorted(set(actual) & set(expected)):
        got, want = actual[sid], expected[sid]
        why = []
        if (got.declarations_digest, got.coverage.declarations_used) != (
            want.declarations_digest,
            want.coverage.declarations_used,
        ):
            why.append(
                f"declarations differ ({got.coverage.declarations_used} used, "
                f"{want.coverage.declarations_used} expected)"
            )
        if (got.grade, got.readiness_tier) != (want.grade, want.readiness_tier):
            why.append(
                f"grade/tier {(got.grade, got.readiness_tier)} != "
                f"{(want.grade, want.readiness_tier)}"
            )
        if abs(got.total_score - want.total_score) >= tolerance:
            why.append(f"total {got.total_score:.4f} != {want.total_score:.4f}")
        points = {i.indicator: i.points for i in want.indicators}
        if {i.indicator for i in got.indicators} != set(points) or any(
            abs(i.points - points[i.indicator]) >= tolerance for i in got.indicators
        ):
            why.append("indicator points differ")
        if why:
            out.append(f"{sid}: " + "; ".join(why))
    return out


def check(
    seed: int,
    acknowledged: Iterable[str],
    stored_ids: Iterable[str],
    undecodable: int,
    settled: Mapping[str, rating_pb2.SupplierRating],
    reference: Mapping[str, rating_pb2.SupplierRating],
    ledger: Mapping[str, Sequence[LedgerEntry]],
    health: Mapping[str, bool],
    faults: Counter[str],
    poison_declarations: int = 0,
) -> Verdict:
    """The verdict. ``stored_ids``: every declaration id on the topic, repeats included;
    ``undecodable``: records on the topic that decode to nothing (``poison_declarations`` of them
    were put there by the campaign)."""
    acked = set(acknowledged)
    copies = Counter(stored_ids)
    verdict = Verdict(seed=seed, acknowledged=len(acked), undecodable=undecodable, faults=faults)
    verdict.found_once = sum(1 for i in acked if copies[i] == 1)
    verdict.lost = sum(1 for i in acked if copies[i] == 0)
    verdict.duplicated = sum(1 for i in acked if copies[i] > 1)
    verdict.stored_unacknowledged = sum(1 for i in copies if i not in acked)
    problems = verdict.problems
    if verdict.lost:
        lost = sorted(i for i in acked if copies[i] == 0)
        problems.append(f"{verdict.lost} acknowledged declarations not in Kafka, e.g. {lost[:3]}")
    if verdict.duplicated:
        twice = sorted(i for i in acked if copies[i] > 1)
        problems.append(f"{verdict.duplicated} declarations in Kafka more than once: {twice[:3]}")
    if undecodable != poison_declarations:
        problems.append(
            f"{undecodable} undecodable declaration records, {poison_declarations} injected"
        )

    verdict.suppliers_rated = len(settled)
    differences = rating_differences(settled, reference)
    verdict.ratings_differing = len(differences)
    problems += [f"rating {d}" for d in differences[:10]]

    for sid in sorted(set(ledger) | set(settled)):
        entries = list(ledger.get(sid, ()))
        verdict.ledger_entries += len(entries)
        _check_chain(sid, entries, settled.get(sid), verdict)
    verdict.unhealthy = sorted(name for name, serving in health.items() if not serving)
    if verdict.unhealthy:
        problems.append(f"not healthy at the end: {', '.join(verdict.unhealthy)}")
    return verdict


def _check_chain(
    sid: str,
    entries: list[LedgerEntry],
    settled: rating_pb2.SupplierRating | None,
    verdict: Verdict,
) -> None:
    """One supplier's ledger entries against contiguity and the settled rating."""
    problems = verdict.problems
    for before, after in zip([None, *entries], entries, strict=False):
        sequence_step = after.sequence - (before.sequence if before else 0)
        revision_step = after.revision - (before.revision if before else 0)
        if sequence_step != 1 or revision_step > 1:
            verdict.ledger_missing += max(sequence_step, revision_step) - 1
            problems.append(
                f"ledger {sid}: sequence {after.sequence} revision {after.revision} follows "
                f"{(before.sequence, before.revision) if before else 'nothing'}"
            )
        if revision_step < 1 or (before and before.fingerprint == after.fingerprint):
            verdict.ledger_duplicated += 1
            problems.append(
                f"ledger {sid}: sequence {after.sequence} repeats revision {after.revision}"
            )
    if settled is not None and (
        not entries or entries[-1].fingerprint != rating_fingerprint(settled)
    ):
        verdict.ledger_stale += 1
        problems.append(f"ledger {sid}: latest entry is not the settled rating")


async def read_topic(settings: Settings, topic: str, on_record: Callable[[Any], None]) -> None:
    """Calls ``on_record`` with every record of ``topic`` up to its end offsets of the moment
    it starts, partition by partition in offset order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        # as topics.topic_specs creates it (a fresh consumer's metadata may not know it yet)
        specs = [*topics.topic_specs(settings), *topics.scoring_specs(settings)]
        count = next((t.partitions for t in specs if t.name == topic), settings.topic_partitions)
        partitions = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    on_record(record)
    finally:
        await consumer.stop()


async def read_declarations(settings: Settings) -> tuple[list[str], int]:
    """Every declaration id on the declarations topic (repeats kept) and how many records did not
    decode."""
    ids: list[str] = []
    undecodable = 0

    def on_record(record: Any) -> None:
        nonlocal undecodable
        try:
            ids.extend(
                d.declaration_id for d in declarations_of(record.value or b"", list(record.headers))
            )
        except UndecodableRecord:
            undecodable += 1

    await read_topic(settings, settings.topic(topics.DECLARATIONS), on_record)
    return ids, undecodable


async def read_latest_ratings(settings: Settings) -> dict[str, rating_pb2.SupplierRating]:
    """The last rating per supplier on the ratings topic (what scoring emitted, whether or not
    the ledger has it); records that do not decode are left out."""
    latest: dict[str, rating_pb2.SupplierRating] = {}

    def on_record(record: Any) -> None:
        with contextlib.suppress(DecodeError):
            rating = rating_pb2.SupplierRating.FromString(record.value or b"")
            latest[rating.supplier_id] = rating

    await read_topic(settings, settings.topic(topics.RATINGS), on_record)
    return latest


def read_ledger(db: Path) -> dict[str, list[LedgerEntry]]:
    """Every ledger entry per supplier, in sequence order, straight from the SQLite file."""
    out: dict[str, list[LedgerEntry]] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT supplier_id, sequence, revision, fingerprint FROM entries "
            "ORDER BY supplier_id, sequence"
        )
        for sid, sequence, revision, fingerprint in rows:
            out.setdefault(sid, []).append(LedgerEntry(sequence, revision, fingerprint))
    return out
