"""Alerts a chain leader wants to see: a supplier whose readiness tier dropped, and one whose
data went stale (its latest declared month is N months or more behind the newest month any
supplier of the chain declared: the chain's "now", so replayed or historical data reads the
same as live data)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from greenchain.common.grades import tier_label
from greenchain.reports.labels import month_index, period
from greenchain.v1 import declaration_pb2, rating_pb2


@dataclass(frozen=True)
class Alert:
    kind: str  # "tier_drop" | "stale"
    supplier_id: str
    supplier_name: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "supplier_id": self.supplier_id,
            "supplier_name": self.supplier_name,
            "message": self.message,
        }


def newest_month(ratings: Iterable[rating_pb2.SupplierRating]) -> declaration_pb2.Period | None:
    """The latest window end among ``ratings`` (the chain's newest declared month)."""
    best: declaration_pb2.Period | None = None
    for r in ratings:
        if r.window_end.year and (best is None or month_index(r.window_end) > month_index(best)):
            best = r.window_end
    return best


def alerts_for(
    rating: rating_pb2.SupplierRating,
    reference: declaration_pb2.Period | None,
    stale_months: int,
) -> list[Alert]:
    """The alerts one rating raises against the chain's newest month ``reference``."""
    found = []
    if rating.previous_tier and rating.readiness_tier < rating.previous_tier:
        found.append(
            Alert(
                "tier_drop",
                rating.supplier_id,
                rating.supplier_name,
                f"readiness tier dropped from {tier_label(rating.previous_tier)} to "
                f"{tier_label(rating.readiness_tier)} (score {rating.total_score:.1f}"
                + (f", {rating.score_change:+.1f}" if rating.HasField("score_change") else "")
                + ")",
            )
        )
    if reference is not None and rating.window_end.year:
        behind = month_index(reference) - month_index(rating.window_end)
        if behind >= stale_months:
            found.append(
                Alert(
                    "stale",
                    rating.supplier_id,
                    rating.supplier_name,
                    f"no emissions or energy declaration after {period(rating.window_end)}: "
                    f"{behind} months behind the chain's newest month {period(reference)}",
                )
            )
    return found


def chain_alerts(ratings: list[rating_pb2.SupplierRating], stale_months: int) -> list[Alert]:
    """Every alert of the chain's current ratings: tier drops first, then stale data."""
    reference = newest_month(ratings)
    found = [a for r in ratings for a in alerts_for(r, reference, stale_months)]
    return sorted(found, key=lambda a: (a.kind != "tier_drop", a.supplier_id))
