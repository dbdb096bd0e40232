"""Grade, readiness-tier and designation-level names: the one place that maps the rating
model's names onto the contract's enums and onto the labels people read.

The thresholds behind them are methodology, not names: they live in the scoring methodology
file, and a rating carries what readers need (e.g. ``next_tier_min_score``).
"""

from __future__ import annotations

from greenchain.v1 import rating_pb2, supplier_pb2

GRADE_BY_NAME: dict[str, rating_pb2.Grade] = {
    "insufficient_data": rating_pb2.GRADE_INSUFFICIENT_DATA,
    "b": rating_pb2.GRADE_B,
    "a": rating_pb2.GRADE_A,
    "a_plus": rating_pb2.GRADE_A_PLUS,
    "not_eligible": rating_pb2.GRADE_NOT_ELIGIBLE,
}
"""Model grade name -> ``Grade`` enum value."""

GRADE_LABEL: dict[int, str] = {
    rating_pb2.GRADE_A_PLUS: "A+",
    rating_pb2.GRADE_A: "A",
    rating_pb2.GRADE_B: "B",
    rating_pb2.GRADE_INSUFFICIENT_DATA: "n/a",
    rating_pb2.GRADE_NOT_ELIGIBLE: "-",
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


LEVEL_BY_NAME: dict[str, supplier_pb2.DesignationLevel] = {
    "municipal": supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL,
    "provincial": supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL,
    "national": supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
}
"""Designation level name -> ``DesignationLevel`` (ordered: higher is better)."""

LEVEL_NAME: dict[int, str] = {v: k for k, v in LEVEL_BY_NAME.items()}
"""``DesignationLevel`` -> its name (``level_label`` for reports)."""

ZERO_CARBON_BY_NAME: dict[str, rating_pb2.ZeroCarbonStatus] = {
    "not_met": rating_pb2.ZERO_CARBON_STATUS_NOT_MET,
    "criteria_met": rating_pb2.ZERO_CARBON_STATUS_CRITERIA_MET,
    "designated": rating_pb2.ZERO_CARBON_STATUS_DESIGNATED,
}
"""Model zero-carbon status name -> ``ZeroCarbonStatus``."""


def level_label(level: int) -> str:
    return LEVEL_NAME.get(level, "-")


def active(designation: supplier_pb2.Designation) -> bool:
    """A designation that counts: on a list (a level) and not revoked."""
    return (
        designation.level != supplier_pb2.DESIGNATION_LEVEL_UNSPECIFIED
        and designation.status == supplier_pb2.DESIGNATION_STATUS_ACTIVE
    )
