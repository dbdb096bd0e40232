"""Grade and readiness-tier names: the one place that maps the rating model's names onto the
contract's enums and onto the labels people read.

The thresholds behind them are methodology, not names: they live in the scoring methodology
file, and a rating carries what readers need (e.g. ``next_tier_min_score``).
"""

from __future__ import annotations

from greenchain.v1 import rating_pb2

GRADE_BY_NAME: dict[str, rating_pb2.Grade] = {
    "insufficient_data": rating_pb2.GRADE_INSUFFICIENT_DATA,
    "b": rating_pb2.GRADE_B,
    "a": rating_pb2.GRADE_A,
    "a_plus": rating_pb2.GRADE_A_PLUS,
}
"""Model grade name -> ``Grade`` enum value."""

GRADE_LABEL: dict[int, str] = {
    rating_pb2.GRADE_A_PLUS: "A+",
    rating_pb2.GRADE_A: "A",
    rating_pb2.GRADE_B: "B",
    rating_pb2.GRADE_INSUFFICIENT_DATA: "n/a",
}
"""``Grade`` enum value -> what a report prints."""

TIERS_BEST_FIRST: tuple[str, ...] = ("national", "provincial", "municipal")
"""The readiness tiers a methodology defines thresholds for, best first."""

TIER_BY_NAME: dict[str, rating_pb2.ReadinessTier] = {
    "not_yet": rating_pb2.READINESS_TIER_NOT_YET,
    "municipal": rating_pb2.READINESS_TIER_MUNICIPAL,
    "provincial": rating_pb2.READINESS_TIER_PROVINCIAL,
    "national": rating_pb2.READINESS_TIER_NATIONAL,
}
"""Model tier name -> ``ReadinessTier`` enum value (ordered: higher is better)."""

TIER_LABEL: dict[int, str] = {
    rating_pb2.READINESS_TIER_NATIONAL: "national",
    rating_pb2.READINESS_TIER_PROVINCIAL: "provincial",
    rating_pb2.READINESS_TIER_MUNICIPAL: "municipal",
    rating_pb2.READINESS_TIER_NOT_YET: "not yet",
    rating_pb2.READINESS_TIER_UNSPECIFIED: "-",
}
"""``ReadinessTier`` enum value -> what a report prints."""

GREEN_TIERS: tuple[rating_pb2.ReadinessTier, ...] = (
    rating_pb2.READINESS_TIER_MUNICIPAL,
    rating_pb2.READINESS_TIER_PROVINCIAL,
    rating_pb2.READINESS_TIER_NATIONAL,
)
"""The tiers that count as green-factory ready, lowest first."""


def grade_label(grade: int) -> str:
    return GRADE_LABEL.get(grade, "?")


def tier_label(tier: int) -> str:
    return TIER_LABEL.get(tier, "?")
