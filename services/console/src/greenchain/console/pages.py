"""What the pages show, computed from ledger answers: the supplier table (filter, sort, page),
the scorecard's history, and the declarations' coverage by month."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import ceil
from typing import Any

from greenchain.common.grades import grade_label, level_label, tier_label
from greenchain.reports.charts import line_chart_svg, score_history_chart, sparkline_svg
from greenchain.reports.labels import period
from greenchain.v1 import ledger_pb2, rating_pb2

PAGE_SIZE = 25
TIER_FILTERS = ("national", "provincial", "municipal", "not yet")
GRADE_FILTERS = ("A+", "A", "B", "-", "n/a")  # "-" = rated, no green code; "n/a" = no rating

SORTS: dict[str, Callable[[rating_pb2.SupplierRating], Any]] = {
    "supplier": lambda r: r.supplier_id,
    "name": lambda r: r.supplier_name.lower(),
    "sector": lambda r: (r.sector_code, r.supplier_id),
    "score": lambda r: r.total_score,
    "change": lambda r: r.score_change if r.HasField("score_change") else 0.0,
    "tier": lambda r: (r.readiness_tier, r.total_score),
    "designated": lambda r: (r.green_factory_level, r.total_score),
    "code": lambda r: (r.grade, r.total_score),
    "percentile": lambda r: r.sector_percentile if r.HasField("sector_percentile") else -1.0,
    "output": lambda r: r.output_value_cny,
    "months": lambda r: r.coverage.months_present,
}


@dataclass(frozen=True)
class TableQuery:
    sort: str = "score"
    direction: str = "desc"
    sector: str = ""
    tier: str = ""
    grade: str = ""
    search: str = ""
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TableQuery:
        sort = params.get("sort", "score")
        direction = params.get("dir", "desc")
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            sort if sort in SORTS else "score",
            direction if direction in ("asc", "desc") else "desc",
            params.get("sector", "")[:16],
            params.get("tier", "") if params.get("tier", "") in TIER_FILTERS else "",
            params.get("grade", "") if params.get("grade", "") in GRADE_FILTERS else "",
            params.get("q", "")[:80],
            page,
        )

    def params(self, **changes: object) -> dict[str, str]:
        """Query parameters of this view with ``changes`` (for links)."""
        values = {
            "sort": self.sort,
            "dir": self.direction,
            "sector": self.sector,
            "tier": self.tier,
            "grade": self.grade,
            "q": self.search,
            "page": str(self.page),
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class TablePage:
    rows: list[rating_pb2.SupplierRating]
    matching: int
    total: int
    page: int
    pages: int
    sectors: list[str]


def supplier_table(ratings: list[rating_pb2.SupplierRating], q: TableQuery) -> TablePage:
    sectors = sorted({r.sector_code for r in ratings})
    rows = [
        r
        for r in ratings
        if (not q.sector or r.sector_code == q.sector)
        and (not q.tier or tier_label(r.readiness_tier) == q.tier)
        and (not q.grade or grade_label(r.grade) == q.grade)
        and (
            not q.search
            or q.search.lower() in r.supplier_id.lower()
            or q.search.lower() in r.supplier_name.lower()
        )
    ]
    rows.sort(key=lambda r: r.supplier_id)  # ties in the sort key: by supplier id
    rows.sort(key=SORTS[q.sort], reverse=q.direction == "desc")
    pages = max(1, ceil(len(rows) / PAGE_SIZE))
    page = min(q.page, pages)
    start = (page - 1) * PAGE_SIZE
    return TablePage(rows[start : start + PAGE_SIZE], len(rows), len(ratings), page, pages, sectors)


@dataclass(frozen=True)
class CoverageMonth:
    month: str
    months_present: int
    window_months: int
    declarations_used: int
    verified_share: float
    total_score: float


def coverage_by_month(entries: list[ledger_pb2.LedgerEntry]) -> list[CoverageMonth]:
    """The data coverage behind the supplier's latest rating of each month its window ended
    in: how many of the 12 months had both emissions and energy declarations, how many
    declarations were used and how many were third-party verified."""
    latest: dict[str, rating_pb2.SupplierRating] = {}
    for e in entries:  # oldest first: the last one of a month wins
        latest[period(e.rating.window_end)] = e.rating
    return [
        CoverageMonth(
            month,
            r.coverage.months_present,
            r.coverage.window_months or 12,
            r.coverage.declarations_used,
            r.coverage.verified_share,
            r.total_score,
        )
        for month, r in sorted(latest.items())
    ]


def history_svgs(
    entries: list[ledger_pb2.LedgerEntry], rating: rating_pb2.SupplierRating
) -> tuple[str, dict[str, str]]:
    """The score history chart with the tier thresholds, and a sparkline per indicator."""
    labels = [f"#{e.sequence} {period(e.rating.window_end)}" for e in entries]
    thresholds = [
        (t.name.split(".")[1] + f" {t.value:g}", t.value)
        for t in rating.thresholds
        if t.name.startswith("tier.") and t.name.endswith(".min_score")
    ]
    chart = line_chart_svg(
        score_history_chart(labels, [e.rating.total_score for e in entries], thresholds)
    )
    sparks: dict[str, str] = {}
    for ind in rating.indicators:
        values: list[float | None] = []
        for e in entries:
            match = next((i for i in e.rating.indicators if i.indicator == ind.indicator), None)
            values.append(match.value if match is not None and match.HasField("value") else None)
        sparks[ind.indicator] = sparkline_svg(values)
    return chart, sparks


def designation_text(rating: rating_pb2.SupplierRating) -> str:
    level = level_label(rating.green_factory_level)
    return "not designated" if level == "-" else f"{level} green factory"
