"""Scored frame rows -> SupplierRating messages (explainable: every indicator with its parts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.common.grades import GRADE_BY_NAME, TIER_BY_NAME, TIERS_BEST_FIRST
from greenchain.scoring.model import Methodology
from greenchain.scoring.model.methodology import CATEGORIES
from greenchain.v1 import declaration_pb2, rating_pb2

SOURCES = {
    "sector_table": rating_pb2.BENCHMARK_SOURCE_SECTOR_TABLE,
    "population": rating_pb2.BENCHMARK_SOURCE_POPULATION,
    None: rating_pb2.BENCHMARK_SOURCE_UNSPECIFIED,
}
CATEGORY_ENUM = {c: f"CATEGORY_{c.upper()}" for c in CATEGORIES}  # enum value names


def _period(index: int) -> declaration_pb2.Period:
    year, month0 = divmod(int(index), 12)
    return declaration_pb2.Period(year=year, month=month0 + 1)


def _r(value: float) -> float:
    """Round what is shown so that float noise never counts as a change."""
    return round(float(value), 6)


def next_tier_min_score(tier: str, m: Methodology) -> float | None:
    """The total score the tier above ``tier`` needs; None at the top tier."""
    order = ["not_yet", *reversed(TIERS_BEST_FIRST)]  # worst first
    position = order.index(tier)
    if position + 1 >= len(order):
        return None
    above = order[position + 1]
    return next(t.min_score for t in m.tiers if t.name == above)


def rating_from_row(
    row: dict[str, Any], m: Methodology, as_of: datetime | None = None
) -> rating_pb2.SupplierRating:
    """The rating of one row of ``model.score`` (revision and change are set by the caller)."""
    stamp = Timestamp()
    stamp.FromDatetime(as_of or datetime.now(UTC))
    rating = rating_pb2.SupplierRating(
        supplier_id=row["supplier_id"],
        supplier_name=row["supplier_name"] or "",
        sector_code=row["sector_code"] or "",
        chain_ids=row["chain_ids"] or [],
        as_of=stamp,
        window_start=_period(row["window_start"]),
        window_end=_period(row["window_end"]),
        total_score=_r(row["total_score"]),
        grade=GRADE_BY_NAME[row["grade"]],
        readiness_tier=TIER_BY_NAME[row["readiness_tier"]],
        zero_carbon_candidate=bool(row["zero_carbon_candidate"]),
        coverage=rating_pb2.DataCoverage(
            window_months=m.window_months,
            months_present=int(row["months_present"]),
            verified_share=_r(row["verified_share"] or 0.0),
            declarations_used=int(row["declarations_used"]),
        ),
        methodology_version=m.version,
        declaration_ids=row["declaration_ids"],
        insufficient_reasons=row["insufficient_reasons"],
        output_value_cny=round(float(row["output_value_cny"] or 0.0), 2),
    )
    next_min = next_tier_min_score(row["readiness_tier"], m)
    if next_min is not None:
        rating.next_tier_min_score = next_min
    for ind in m.indicators:
        score = rating_pb2.IndicatorScore(
            indicator=ind.name,
            category=CATEGORY_ENUM[ind.category],
            unit=ind.unit,
            lower_is_better=ind.lower_is_better,
            points=_r(row[f"{ind.name}__points"]),
            max_points=_r(ind.max_points),
            benchmark_value=_r(row[f"{ind.name}__benchmark"] or 0.0),
            leading_value=_r(row[f"{ind.name}__leading"] or 0.0),
            benchmark_source=SOURCES[row[f"{ind.name}__source"]],
        )
        if row[ind.name] is not None:
            score.value = _r(row[ind.name])
        rating.indicators.append(score)
    for category in CATEGORIES:
        rating.categories.append(
            rating_pb2.CategoryScore(
                category=CATEGORY_ENUM[category],
                weight=m.category_weights[category],
                points=_r(row[f"{category}__points"]),
            )
        )
    return rating
