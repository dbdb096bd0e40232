"""The scoring engine: per-supplier states in, changed ratings out. No Kafka here, so the
worker's logic is testable on its own; the worker feeds it from faust.

Cost follows the work, not the population:
- a micro-batch recomputes the indicators of the suppliers it touched and scores only them
  against the current population snapshot (benchmarks; percentile bounds and green-code
  thresholds searched, not re-ranked);
- a new snapshot (built by the benchmark stage from every worker's indicators, see
  :mod:`greenchain.scoring.snapshots`) re-scores the owned population in one vectorised pass and
  rebuilds only the ratings whose total, grade, percentile band, tier or benchmarks changed.

Each emitted rating travels with its indicators and a summary of it
(:class:`~greenchain.v1.benchmark_pb2.SupplierIndicators`), which is what the benchmark stage
builds snapshots from and what a restarted worker resumes revisions from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import polars as pl
from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.common.grades import GRADE_BY_NAME, LEVEL_NAME, TIER_BY_NAME, active
from greenchain.common.ratings import rating_fingerprint
from greenchain.scoring.model import SUPPLIER_SCHEMA, Methodology, Snapshot, score
from greenchain.scoring.model import supplier_indicators as indicators_of
from greenchain.scoring.model.rating import resolve_benchmarks
from greenchain.scoring.ratings import RatingTemplate, benchmark_version, rating_core
from greenchain.scoring.state import SupplierState, declarations_frame
from greenchain.v1 import benchmark_pb2, rating_pb2, supplier_pb2

Signature = tuple[float, int, float | None, int, str]
"""(total, grade, percentile band, tier, benchmark version): what a new snapshot can change."""


@dataclass
class Emitted:
    """What was last emitted for a supplier."""

    revision: int
    fingerprint: str
    signature: Signature
    registry_digest: str


class Emission(NamedTuple):
    """A rating to send, and the indicators record that goes with it."""

    rating: rating_pb2.SupplierRating
    indicators: benchmark_pb2.SupplierIndicators


def supplier_row(supplier: supplier_pb2.Supplier) -> dict[str, Any]:
    """The registry entry as a row of the model's SUPPLIER_SCHEMA."""
    levels = [site.green_factory.level for site in supplier.sites if active(site.green_factory)]
    return {
        "supplier_id": supplier.supplier_id,
        "supplier_name": supplier.name,
        "sector_code": supplier.sector_code,
        "region": supplier.region,
        "land_area_m2": sum(site.land_area_m2 for site in supplier.sites),
        "chain_ids": list(supplier.chain_ids),
        "green_factory_level": LEVEL_NAME[max(levels)] if levels else None,
        "zero_carbon_designated": any(active(site.zero_carbon_factory) for site in supplier.sites),
        "site_regions": [{"site_id": s.site_id, "region": s.region} for s in supplier.sites],
    }


def registry_digest(supplier: supplier_pb2.Supplier | None) -> str:
    """The registry entry without its timestamp, hashed: what a rating can depend on."""
    if supplier is None:
        return ""
    core = supplier_pb2.Supplier()
    core.CopyFrom(supplier)
    core.ClearField("updated_at")
    return hashlib.sha256(core.SerializeToString(deterministic=True)).hexdigest()[:32]


def _signature(total: float, grade: str, percentile: float | None, tier: str, bv: str) -> Signature:
    return (round(total, 6), GRADE_BY_NAME[grade], percentile, TIER_BY_NAME[tier], bv)


class ScoringEngine:
    def __init__(self, methodology: Methodology) -> None:
        self.m = methodology
        self.template = RatingTemplate(methodology)
        self.registry: dict[str, dict[str, Any]] = {}  # supplier id -> model row
        self.suppliers: dict[str, supplier_pb2.Supplier] = {}  # the registry entries themselves
        self.digests: dict[str, str] = {}  # supplier id -> registry_digest
        self.snapshot = Snapshot()
        self.snapshot_id = ""
        self.snapshot_changed = False  # a new snapshot the owned population is not rated on
        self.emitted: dict[str, Emitted] = {}
        self.dirty: set[str] = set()  # registry changed since the last rating
        self._population: pl.DataFrame | None = None  # indicators of the owned suppliers
        self._fresh: list[pl.DataFrame] = []  # newer indicators, folded in by population()
        self._pending: dict[str, Emitted] = {}  # rated, not yet confirmed as on the topic
        # ratings partition -> the offset after the last rating an indicators record names
        self.ratings_named_up_to: dict[int, int] = {}

    # inputs ---------------------------------------------------------------------------------

    def set_supplier(self, supplier: supplier_pb2.Supplier) -> None:
        """Takes a registry entry; one that differs from what the supplier's last rating used
        (anything but the timestamp: designations, chains, purchases too) marks it dirty."""
        sid = supplier.supplier_id
        digest = registry_digest(supplier)
        if self.digests.get(sid) == digest:
            return
        self.suppliers[sid] = supplier
        self.registry[sid] = supplier_row(supplier)
        self.digests[sid] = digest
        last = self.emitted.get(sid)
        if last is None or last.registry_digest != digest:
            self.dirty.add(sid)

    def remember(self, record: benchmark_pb2.SupplierIndicators) -> None:
        """Records a rating already on the ratings topic (from the indicators topic: at start,
        and the other workers' ratings while running, so a rebalance resumes revisions)."""
        e = record.emitted
        if e.rating_next_offset:
            named = self.ratings_named_up_to.get(e.rating_partition, 0)
            self.ratings_named_up_to[e.rating_partition] = max(named, e.rating_next_offset)
        known = self.emitted.get(record.supplier_id)
        if known is None or e.revision >= known.revision:
            percentile = e.sector_percentile if e.HasField("sector_percentile") else None
            signature = (round(e.total_score, 6), e.grade, percentile, e.readiness_tier, "")
            signature = (*signature[:4], e.benchmark_version)
            self.emitted[record.supplier_id] = Emitted(
                e.revision, e.fingerprint, signature, e.registry_digest
            )

    def remember_rating(self, rating: rating_pb2.SupplierRating) -> bool:
        """Records a rating found on the ratings topic that no indicators record names (the
        worker that emitted it stopped before writing that record): the next revision follows
        it. Returns whether it was newer than what the indicators topic said."""
        known = self.emitted.get(rating.supplier_id)
        if known is not None and rating.revision <= known.revision:
            return False
        percentile = rating.sector_percentile if rating.HasField("sector_percentile") else None
        signature = (
            round(rating.total_score, 6),
            rating.grade,
            percentile,
            rating.readiness_tier,
            rating.benchmark_version,
        )
        # registry digest unknown: the supplier is re-rated, and re-emitted only if it differs
        self.emitted[rating.supplier_id] = Emitted(
            rating.revision, rating_fingerprint(rating), signature, ""
        )
        self.dirty.add(rating.supplier_id)
        return True

    def set_snapshot(self, snapshot_id: str, snap: Snapshot) -> None:
        """The population snapshot to rate against from now on."""
        if snapshot_id != self.snapshot_id:
            self.snapshot, self.snapshot_id, self.snapshot_changed = snap, snapshot_id, True

    def update(self, states: dict[str, SupplierState]) -> pl.DataFrame:
        """The indicators of these suppliers from their states (kept for later snapshots)."""
        rows = [self.registry[s] for s in states if s in self.registry]
        # column-wise: polars builds columns from lists faster than rows from dicts; nested
        # columns (lists) inferred, then cast: given a nested dtype, polars builds a Series in
        # Python for every supplier's list
        suppliers = pl.DataFrame(
            [
                pl.Series(name, [row.get(name) for row in rows], None if t.is_nested() else t)
                for name, t in SUPPLIER_SCHEMA.items()
            ]
        ).cast(pl.Schema(SUPPLIER_SCHEMA))
        fresh = indicators_of(declarations_frame(states, self.m.window_months), suppliers, self.m)
        self._fresh.append(fresh)
        self.dirty -= set(states)
        return fresh

    def reset_population(self) -> None:
        """Forgets the owned population (after a rebalance: the table is the truth)."""
        self._population, self._fresh = None, []

    def population(self) -> pl.DataFrame | None:
        """The latest indicators of every supplier rated here (batches folded in)."""
        if self._fresh:
            fresh = pl.concat(self._fresh, how="vertical_relaxed")
            fresh = fresh.unique("supplier_id", keep="last", maintain_order=True)
            kept = self._population
            if kept is not None:
                kept = kept.join(fresh.select("supplier_id"), on="supplier_id", how="anti")
            self._population = fresh if kept is None else pl.concat([kept, fresh])
            self._fresh = []
        return self._population

    # outputs --------------------------------------------------------------------------------

    def ratings(self, indicators: pl.DataFrame, as_of: datetime) -> list[Emission]:
        """The ratings of ``indicators``' suppliers against the current snapshot that differ
        from what was last emitted. They are pending: call :meth:`confirm` once Kafka has them,
        :meth:`discard` when it has not (the next call rates them again)."""
        self._pending.clear()
        if indicators.is_empty():
            return []
        return self._emissions(score(indicators, self.snapshot, self.m), as_of)

    def rerate(self, as_of: datetime, owned: set[str]) -> list[Emission]:
        """After a new snapshot: every owned supplier scored in one pass; ratings rebuilt only
        where the snapshot changed a total, grade, percentile band, tier or benchmark."""
        self._pending.clear()
        self.snapshot_changed = False
        population = self.population()
        if population is None:
            return []
        population = population.filter(pl.col("supplier_id").is_in(list(owned)))
        scored = score(population, self.snapshot, self.m)
        versions = self._benchmark_versions(scored)
        candidates = []
        for sid, total, grade, percentile, tier, sector in scored.select(
            "supplier_id",
            "total_score",
            "grade",
            "sector_percentile",
            "readiness_tier",
            "sector_code",
        ).iter_rows():
            last = self.emitted.get(sid)
            signature = _signature(total, grade, percentile, tier, versions.get(sector, ""))
            if last is None or last.signature != signature:
                candidates.append(sid)
        if not candidates:
            return []
        rows = scored.filter(pl.col("supplier_id").is_in(candidates))
        return self._emissions(rows, as_of)

    def _benchmark_versions(self, scored: pl.DataFrame) -> dict[str | None, str]:
        sectors = scored.get_column("sector_code").drop_nulls().unique().to_list()
        bench = resolve_benchmarks(sectors, self.snapshot.stats, self.m)
        return {
            row["sector_code"]: benchmark_version(row, self.m)
            for row in bench.iter_rows(named=True)
        }

    def _emissions(self, scored: pl.DataFrame, as_of: datetime) -> list[Emission]:
        out: list[Emission] = []
        versions = self._benchmark_versions(scored)
        stamp = Timestamp()
        stamp.FromDatetime(as_of)
        for row in scored.iter_rows(named=True):
            sid = row["supplier_id"]
            last = self.emitted.get(sid)
            supplier = self.suppliers.get(sid)
            rating = rating_core(row, self.template, supplier, versions.get(row["sector_code"]))
            # the rating has no volatile field yet: its bytes are what the fingerprint is of
            # (greenchain.common.ratings.rating_fingerprint, without a copy)
            fingerprint = hashlib.sha256(rating.SerializeToString(deterministic=True)).hexdigest()
            rating.as_of.CopyFrom(stamp)
            signature = _signature(
                rating.total_score,
                row["grade"],
                row["sector_percentile"],
                row["readiness_tier"],
                rating.benchmark_version,
            )
            digest = self.digests.get(sid, "")
            if last is not None and fingerprint == last.fingerprint:
                last.signature, last.registry_digest = signature, digest  # nothing to send
                continue
            rating.revision = (last.revision if last else 0) + 1
            if last is not None:
                rating.score_change = round(rating.total_score - last.signature[0], 6)
                rating.previous_tier = last.signature[3]  # type: ignore[assignment]
            emitted = Emitted(rating.revision, fingerprint, signature, digest)
            self._pending[sid] = emitted
            out.append(Emission(rating, self._indicators_record(row, rating, emitted)))
        return out

    def _indicators_record(
        self, row: dict[str, Any], rating: rating_pb2.SupplierRating, emitted: Emitted
    ) -> benchmark_pb2.SupplierIndicators:
        record = benchmark_pb2.SupplierIndicators(
            supplier_id=row["supplier_id"],
            sector_code=row["sector_code"] or "",
            insufficient=bool(row["insufficient"]),
            green_factory_level=row["green_factory_level"] or "",
            values={i.name: row[i.name] for i in self.m.indicators if row[i.name] is not None},
            emitted=benchmark_pb2.EmittedRating(
                revision=emitted.revision,
                fingerprint=emitted.fingerprint,
                total_score=rating.total_score,
                grade=rating.grade,
                readiness_tier=rating.readiness_tier,
                benchmark_version=rating.benchmark_version,
                registry_digest=emitted.registry_digest,
            ),
        )
        if rating.HasField("sector_percentile"):
            record.emitted.sector_percentile = rating.sector_percentile
        return record

    def confirm(self, emissions: list[Emission]) -> None:
        """These emissions (from :meth:`ratings` or :meth:`rerate`) are on the ratings topic."""
        for emission in emissions:
            sid = emission.rating.supplier_id
            self.emitted[sid] = self._pending.pop(sid)

    def discard(self) -> None:
        """The last ratings were not sent: they stay to be emitted."""
        self._pending.clear()
