"""The scoring engine: per-supplier states in, changed ratings out. No Kafka here, so the
worker's logic is testable on its own; ``app`` feeds it from faust.

It keeps the population (indicator values of every supplier it owns) so that a micro-batch
recomputes indicators only for the suppliers it touched, then scores the whole population in one
vectorised pass (grades are ranks within the sector, so one supplier's change can move another's
grade). Benchmarks derived from the population are refreshed periodically, not per batch, so that
ratings do not churn with every declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from greenchain.common.grades import GRADE_BY_NAME, LEVEL_NAME, TIER_BY_NAME, active
from greenchain.common.ratings import rating_fingerprint
from greenchain.scoring.model import (
    SUPPLIER_SCHEMA,
    Methodology,
    benchmarks,
    score,
    supplier_indicators,
)
from greenchain.scoring.ratings import rating_from_row
from greenchain.scoring.state import SupplierState, declarations_frame
from greenchain.v1 import rating_pb2, supplier_pb2


@dataclass
class Emitted:
    """What was last emitted for a supplier."""

    revision: int
    fingerprint: str
    total: float
    grade: int
    tier: int


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
    }


def _substance(supplier: supplier_pb2.Supplier) -> bytes:
    """The registry entry without its timestamp: what a rating can depend on."""
    core = supplier_pb2.Supplier()
    core.CopyFrom(supplier)
    core.ClearField("updated_at")
    return core.SerializeToString(deterministic=True)


class ScoringEngine:
    def __init__(self, methodology: Methodology) -> None:
        self.m = methodology
        self.registry: dict[str, dict[str, Any]] = {}  # supplier id -> model row
        self.suppliers: dict[str, supplier_pb2.Supplier] = {}  # the registry entries themselves
        self.population: pl.DataFrame | None = None  # supplier_indicators of every supplier
        self._benchmarks: pl.DataFrame | None = None
        self.benchmarks_stale = True
        self.emitted: dict[str, Emitted] = {}
        self.dirty: set[str] = set()  # registry changed: indicators to recompute
        self._pending: dict[str, Emitted] = {}  # rated, not yet confirmed as on the topic

    # inputs ---------------------------------------------------------------------------------

    def set_supplier(self, supplier: supplier_pb2.Supplier) -> None:
        """Takes a registry entry; a change that can change the rating (anything but the
        timestamp: designations, chains, purchases too) marks the supplier for re-rating."""
        sid = supplier.supplier_id
        known = self.suppliers.get(sid)
        if known is None or _substance(known) != _substance(supplier):
            self.suppliers[sid] = supplier
            self.registry[sid] = supplier_row(supplier)
            self.dirty.add(sid)

    def remember(self, rating: rating_pb2.SupplierRating) -> None:
        """Records a rating already on the ratings topic (start-up: resume revisions)."""
        known = self.emitted.get(rating.supplier_id)
        if known is None or rating.revision >= known.revision:
            self.emitted[rating.supplier_id] = Emitted(
                rating.revision,
                rating_fingerprint(rating),
                rating.total_score,
                rating.grade,
                rating.readiness_tier,
            )

    def update(self, states: dict[str, SupplierState]) -> None:
        """Recomputes the indicators of these suppliers from their states."""
        if not states:
            return
        suppliers = pl.DataFrame(
            [self.registry[s] for s in states if s in self.registry], schema=SUPPLIER_SCHEMA
        )
        fresh = supplier_indicators(declarations_frame(states), suppliers, self.m)
        if self.population is None:
            self.population = fresh
        else:
            kept = self.population.filter(~pl.col("supplier_id").is_in(list(states)))
            self.population = pl.concat([kept, fresh], how="vertical_relaxed").sort("supplier_id")
        self.dirty -= set(states)
        self.benchmarks_stale = True

    # outputs --------------------------------------------------------------------------------

    def ratings(
        self,
        touched: set[str],
        as_of: datetime,
        refresh_benchmarks: bool = False,
        full: bool = False,
        confirm: bool = True,
    ) -> list[rating_pb2.SupplierRating]:
        """Ratings that differ from what was last emitted, ready to send.

        Candidates: the touched suppliers, those whose total/grade/tier moved, or everyone
        (``full``); a candidate is emitted when its fingerprint differs from the last one.
        ``confirm=False``: they count as emitted only after :meth:`confirm` (call it once Kafka
        has acknowledged them; :meth:`discard` when it has not), so a failed send re-rates them.
        """
        self._pending.clear()
        if self.population is None or self.population.is_empty():
            return []
        if self._benchmarks is None or refresh_benchmarks:
            self._benchmarks = benchmarks(self.population, self.m)
            self.benchmarks_stale = False
        scored = score(self.population, self._benchmarks, self.m)
        out: list[rating_pb2.SupplierRating] = []
        for row in scored.iter_rows(named=True):
            sid = row["supplier_id"]
            last = self.emitted.get(sid)
            if not (full or sid in touched or last is None) and (
                round(row["total_score"], 6) == round(last.total, 6)
                and GRADE_BY_NAME[row["grade"]] == last.grade
                and TIER_BY_NAME[row["readiness_tier"]] == last.tier
            ):
                continue
            rating = rating_from_row(row, self.m, as_of, self.suppliers.get(sid))
            fingerprint = rating_fingerprint(rating)
            if last is not None and fingerprint == last.fingerprint:
                continue
            rating.revision = (last.revision if last else 0) + 1
            if last is not None:
                rating.score_change = round(rating.total_score - last.total, 6)
                rating.previous_tier = last.tier  # type: ignore[assignment]
            emitted = Emitted(
                rating.revision,
                fingerprint,
                rating.total_score,
                rating.grade,
                rating.readiness_tier,
            )
            if confirm:
                self.emitted[sid] = emitted
            else:
                self._pending[sid] = emitted
            out.append(rating)
        return out

    def confirm(self, ratings: list[rating_pb2.SupplierRating]) -> None:
        """These ratings (from ``ratings(confirm=False)``) are on the ratings topic."""
        for rating in ratings:
            self.emitted[rating.supplier_id] = self._pending.pop(rating.supplier_id)

    def discard(self) -> None:
        """The last ``ratings(confirm=False)`` were not sent: they stay to be emitted."""
        self._pending.clear()
