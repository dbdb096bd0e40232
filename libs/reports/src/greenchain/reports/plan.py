"""The improvement plan: which indicators, by how much, take a supplier to its next readiness
tier. Computed from what the rating carries (each indicator's value, benchmark B, leading value
L and maximum points; the tier thresholds with their basis; ``next_tier_min_score``), so it
follows whatever methodology the rating was computed with, never numbers of its own.

An indicator earns ``max_points x clamp((value - B) / (L - B), 0, 1)`` (docs/methodology.md,
section 4), so raising its points to ``p`` needs the value ``B + (p / max_points) x (L - B)``.
The plan closes the score gap with as few indicators as it can: the indicators with the most
points still available first; a tier's other conditions (the share of third-party verified
declarations) are listed beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from greenchain.common.grades import tier_label
from greenchain.v1 import rating_pb2

_TIER_NAME: dict[int, str] = {
    rating_pb2.READINESS_TIER_MUNICIPAL: "municipal",
    rating_pb2.READINESS_TIER_PROVINCIAL: "provincial",
    rating_pb2.READINESS_TIER_NATIONAL: "national",
}
EPSILON = 1e-6
MARGIN = 0.05
"""Points the plan aims above the threshold: a rating carries values rounded to 6 decimals, which
for a small-valued indicator (hazardous waste, t/10k CNY) is worth a few hundredths of a point."""


@dataclass(frozen=True)
class Step:
    """Raise one indicator from ``value`` to ``target`` for ``gain`` more points."""

    indicator: str
    category: int
    unit: str
    lower_is_better: bool
    value: float | None  # None: no data yet (0 points): declare it
    target: float
    benchmark: float
    leading: float
    points: float
    target_points: float
    max_points: float

    @property
    def gain(self) -> float:
        return self.target_points - self.points

    @property
    def change(self) -> float | None:
        """target - value (negative for a lower-is-better indicator); None without data."""
        return None if self.value is None else self.target - self.value

    @property
    def relative_change(self) -> float | None:
        if self.value is None or self.value == 0:
            return None
        return (self.target - self.value) / abs(self.value)


@dataclass(frozen=True)
class Condition:
    """A tier condition besides the score, e.g. the verified share."""

    name: str
    required: float
    current: float
    basis: str

    @property
    def met(self) -> bool:
        return self.current >= self.required - EPSILON


@dataclass(frozen=True)
class Plan:
    supplier_id: str
    methodology_version: str
    current_tier: int
    next_tier: int | None  # None: at the top tier
    total_score: float
    target_score: float | None
    steps: list[Step] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    available_points: float = 0.0  # all points still to earn, over every indicator
    insufficient_reasons: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return 0.0 if self.target_score is None else max(0.0, self.target_score - self.total_score)

    @property
    def reachable(self) -> bool:
        """Whether the indicators can close the score gap at all (they always can in a sane
        methodology: the tiers need less than 100 points)."""
        return sum(s.gain for s in self.steps) >= self.gap - EPSILON

    def summary(self) -> str:
        if self.insufficient_reasons:
            return "no rating yet: " + "; ".join(self.insufficient_reasons)
        if self.next_tier is None:
            return (
                f"{tier_label(self.current_tier)} readiness tier: the top one; "
                f"{self.available_points:.1f} points still available"
            )
        target = tier_label(self.next_tier)
        parts = []
        if self.gap > 0:
            names = ", ".join(s.indicator for s in self.steps)
            parts.append(f"{self.gap:.1f} more points ({names})")
        parts += [
            f"{c.name} {c.required:.0%} (now {c.current:.0%})" for c in self.conditions if not c.met
        ]
        if not parts:
            return f"meets the {target} tier's conditions; the next rating will show it"
        return f"to reach the {target} tier: " + " and ".join(parts)


def value_for_points(indicator: rating_pb2.IndicatorScore, points: float) -> float:
    """The indicator value that earns ``points`` (inverse of the linear scoring)."""
    fraction = min(max(points / indicator.max_points, 0.0), 1.0) if indicator.max_points else 1.0
    b, lead = indicator.benchmark_value, indicator.leading_value
    return b + fraction * (lead - b)


def _threshold(rating: rating_pb2.SupplierRating, name: str) -> rating_pb2.Threshold | None:
    return next((t for t in rating.thresholds if t.name == name), None)


def improvement_plan(rating: rating_pb2.SupplierRating) -> Plan:
    """One way to the next readiness tier from ``rating`` (see the module docstring)."""
    indicators = list(rating.indicators)
    available = sum(max(0.0, i.max_points - i.points) for i in indicators)
    if rating.grade == rating_pb2.GRADE_INSUFFICIENT_DATA:
        return Plan(
            rating.supplier_id,
            rating.methodology_version,
            rating.readiness_tier,
            None,
            rating.total_score,
            None,
            available_points=available,
            insufficient_reasons=list(rating.insufficient_reasons) or ["insufficient data"],
        )
    current = rating.readiness_tier or rating_pb2.READINESS_TIER_NOT_YET
    if not rating.HasField("next_tier_min_score") or current >= rating_pb2.READINESS_TIER_NATIONAL:
        return Plan(
            rating.supplier_id,
            rating.methodology_version,
            current,
            None,
            rating.total_score,
            None,
            available_points=available,
        )
    next_tier = current + 1
    target = rating.next_tier_min_score
    conditions = []
    verified = _threshold(rating, f"tier.{_TIER_NAME[next_tier]}.min_verified_share")
    if verified is not None and verified.value > 0:
        conditions.append(
            Condition(
                "third-party verified share of declarations",
                verified.value,
                rating.coverage.verified_share,
                verified.basis,
            )
        )
    remaining = target - rating.total_score
    remaining = remaining + MARGIN if remaining > 0 else 0.0
    steps: list[Step] = []
    # most points still available first (fewest indicators to change), then by name
    for ind in sorted(indicators, key=lambda i: (-(i.max_points - i.points), i.indicator)):
        if remaining <= EPSILON:
            break
        headroom = ind.max_points - ind.points
        if headroom <= EPSILON:
            continue
        gain = min(headroom, remaining)
        target_points = ind.points + gain
        steps.append(
            Step(
                indicator=ind.indicator,
                category=ind.category,
                unit=ind.unit,
                lower_is_better=ind.lower_is_better,
                value=ind.value if ind.HasField("value") else None,
                target=value_for_points(ind, target_points),
                benchmark=ind.benchmark_value,
                leading=ind.leading_value,
                points=ind.points,
                target_points=target_points,
                max_points=ind.max_points,
            )
        )
        remaining -= gain
    return Plan(
        rating.supplier_id,
        rating.methodology_version,
        current,
        next_tier,
        rating.total_score,
        target,
        steps,
        conditions,
        available,
    )
