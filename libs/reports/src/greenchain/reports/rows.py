"""Ratings and progress as flat rows (Excel sheets, CSV and JSON output)."""

from __future__ import annotations

from greenchain.common.grades import grade_label, level_label, tier_label
from greenchain.reports.labels import period, zero_carbon_label
from greenchain.v1 import ledger_pb2, rating_pb2

Row = dict[str, str | float | int | bool | None]


def rating_row(r: rating_pb2.SupplierRating, indicators: bool = True) -> Row:
    """One supplier's current rating, every indicator's value and points as columns."""
    row: Row = {
        "supplier_id": r.supplier_id,
        "supplier_name": r.supplier_name,
        "sector_code": r.sector_code,
        "chain_ids": " ".join(r.chain_ids),
        "total_score": round(r.total_score, 4),
        "score_change": round(r.score_change, 4) if r.HasField("score_change") else None,
        "readiness_tier": tier_label(r.readiness_tier),
        "previous_tier": tier_label(r.previous_tier) if r.previous_tier else None,
        "green_factory_level": level_label(r.green_factory_level),
        "green_code": grade_label(r.grade),
        "sector_percentile": (
            round(r.sector_percentile, 2) if r.HasField("sector_percentile") else None
        ),
        "zero_carbon_status": zero_carbon_label(r.zero_carbon_status),
        "output_value_cny": round(r.output_value_cny, 2),
        "window_start": period(r.window_start),
        "window_end": period(r.window_end),
        "months_present": r.coverage.months_present,
        "verified_share": round(r.coverage.verified_share, 4),
        "declarations_used": r.coverage.declarations_used,
        "credit_code": r.credit_code,
        "methodology_version": r.methodology_version,
        "revision": r.revision,
    }
    if indicators:
        for ind in r.indicators:
            row[ind.indicator] = ind.value if ind.HasField("value") else None
            row[f"{ind.indicator}_points"] = round(ind.points, 4)
    return row


def progress_rows(p: ledger_pb2.ChainProgress) -> list[tuple[str, str | float | int | None]]:
    """(metric, value) pairs of a chain's progress, headline first."""
    rows: list[tuple[str, str | float | int | None]] = [
        ("chain_id", p.chain_id),
        ("chain_leader", p.leader.name if p.HasField("leader") else None),
        (
            "leader_green_supply_chain_level",
            level_label(p.leader.green_supply_chain.level) if p.HasField("leader") else None,
        ),
        ("as_of", p.as_of.ToDatetime().isoformat() if p.HasField("as_of") else None),
        ("designated_share", p.designated_share),
        ("target_share", p.target_share),
        ("target_year", p.target_year),
        ("gap_to_target", p.gap_to_target),
        ("forecast_share", p.forecast_share),
        ("readiness_share", p.readiness_share),
        (
            "purchase_weighted_designated_share",
            p.purchase_weighted_designated_share
            if p.HasField("purchase_weighted_designated_share")
            else None,
        ),
        ("purchase_value_suppliers", p.purchase_value_suppliers),
        ("suppliers", p.suppliers),
        ("rated_suppliers", p.rated_suppliers),
        ("total_output_value_cny", p.total_output_value_cny),
    ]
    for s in p.designated_by_level:
        rows.append((f"designated_{level_label(s.level)}_or_above_share", s.share))
        rows.append((f"designated_{level_label(s.level)}_or_above_suppliers", s.suppliers))
    for m in p.trend:
        rows.append((f"trend_{period(m.period)}_designated_share", m.designated_share))
        rows.append((f"trend_{period(m.period)}_readiness_share", m.readiness_share))
    return rows


def leverage_row(item: ledger_pb2.LeverageItem) -> Row:
    return {
        "supplier_id": item.supplier_id,
        "supplier_name": item.supplier_name,
        "current_tier": tier_label(item.current_tier),
        "next_tier": tier_label(item.next_tier),
        "total_score": round(item.total_score, 4),
        "points_to_next_tier": round(item.points_to_next_tier, 4),
        "output_value_cny": round(item.output_value_cny, 2),
        "designated_share_gain": item.designated_share_gain,
        "green_share_gain": item.green_share_gain,
        "tier_share_gain": item.tier_share_gain,
    }
