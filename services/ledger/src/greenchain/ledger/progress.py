"""A chain's progress toward the 2030 goal (green factories > 40 % of output), in polars.

green share = output value of the chain's suppliers at or above the MUNICIPAL readiness tier
              / output value of all the chain's rated suppliers
leverage    = suppliers ranked by how much the green share would rise if each reached its next
              tier (only a supplier below MUNICIPAL raises the headline share), then by how much
              the share at its next tier would rise, then by the points it still needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from greenchain.common.grades import GREEN_TIERS
from greenchain.v1 import declaration_pb2, ledger_pb2, rating_pb2

TARGET_SHARE, TARGET_YEAR = 0.40, 2030
GREEN = rating_pb2.READINESS_TIER_MUNICIPAL


def current_frame(ratings: Sequence[rating_pb2.SupplierRating]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "supplier_id": [r.supplier_id for r in ratings],
            "supplier_name": [r.supplier_name for r in ratings],
            "tier": [int(r.readiness_tier) for r in ratings],
            "grade": [int(r.grade) for r in ratings],
            "total": [r.total_score for r in ratings],
            "output": [r.output_value_cny for r in ratings],
            "next_min": [
                r.next_tier_min_score if r.HasField("next_tier_min_score") else None
                for r in ratings
            ],
        },
        schema={
            "supplier_id": pl.Utf8,
            "supplier_name": pl.Utf8,
            "tier": pl.Int32,
            "grade": pl.Int32,
            "total": pl.Float64,
            "output": pl.Float64,
            "next_min": pl.Float64,
        },
    )


def chain_progress(
    chain_id: str,
    ratings: Sequence[rating_pb2.SupplierRating],
    history: Sequence[tuple[str, int, int, int, float, float]],
    trend_months: int = 12,
    leverage_size: int = 20,
) -> ledger_pb2.ChainProgress:
    """The ChainProgress message of ``chain_id``."""
    now = current_frame(ratings)
    total_output = float(now["output"].sum()) if now.height else 0.0
    progress = ledger_pb2.ChainProgress(
        chain_id=chain_id,
        target_share=TARGET_SHARE,
        target_year=TARGET_YEAR,
        total_output_value_cny=total_output,
        suppliers=now.height,
        rated_suppliers=now.filter(pl.col("grade") != rating_pb2.GRADE_INSUFFICIENT_DATA).height,
    )
    share = (lambda value: value / total_output) if total_output > 0 else (lambda value: 0.0)
    for tier in GREEN_TIERS:
        at_least = float(now.filter(pl.col("tier") >= tier)["output"].sum())
        progress.tier_shares.append(
            ledger_pb2.TierShare(tier=tier, output_value_cny=at_least, share=share(at_least))
        )
    progress.green_share = progress.tier_shares[0].share
    for grade, count in now.group_by("grade").len().sort("grade").iter_rows():
        progress.grade_counts.append(ledger_pb2.GradeCount(grade=grade, suppliers=count))
    for tier, count in now.group_by("tier").len().sort("tier").iter_rows():
        progress.tier_counts.append(ledger_pb2.TierCount(tier=tier, suppliers=count))

    # Trend: at the end of each month, every supplier's latest rating whose window ended by then.
    entries = pl.DataFrame(
        history,
        schema=["supplier_id", "sequence", "window_end", "tier", "output", "total"],
        orient="row",
    )
    if entries.height:
        last_month: int = entries["window_end"].max()  # type: ignore[assignment]
        for month in range(last_month - trend_months + 1, last_month + 1):
            as_of = (
                entries.filter(pl.col("window_end") <= month)
                .sort("sequence")
                .group_by("supplier_id")
                .last()
            )
            denominator = float(as_of["output"].sum())
            if denominator <= 0:
                continue
            green = float(as_of.filter(pl.col("tier") >= GREEN)["output"].sum())
            year, month0 = divmod(month, 12)
            progress.trend.append(
                ledger_pb2.MonthlyProgress(
                    period=declaration_pb2.Period(year=year, month=month0 + 1),
                    green_share=green / denominator,
                )
            )

    # Leverage: who moves the share most by reaching the next tier.
    below = now.filter(pl.col("tier") < rating_pb2.READINESS_TIER_NATIONAL).with_columns(
        next_tier=pl.max_horizontal(pl.col("tier") + 1, pl.lit(GREEN))
    )
    if below.height and total_output > 0:
        # the rating says what its next tier needs; below municipal the next tier is municipal
        next_min = pl.col("next_min").fill_null(0.0)
        ranked = (
            below.with_columns(
                points_to_next=(next_min - pl.col("total")).clip(lower_bound=0.0),
                green_gain=pl.when(pl.col("tier") < GREEN)
                .then(pl.col("output") / total_output)
                .otherwise(0.0),
                tier_gain=pl.col("output") / total_output,
            )
            .sort(
                ["green_gain", "tier_gain", "points_to_next", "supplier_id"],
                descending=[True, True, False, False],
            )
            .head(leverage_size)
        )
        for row in ranked.iter_rows(named=True):
            progress.leverage.append(
                ledger_pb2.LeverageItem(
                    supplier_id=row["supplier_id"],
                    supplier_name=row["supplier_name"],
                    current_tier=row["tier"],
                    next_tier=row["next_tier"],
                    total_score=row["total"],
                    points_to_next_tier=row["points_to_next"],
                    output_value_cny=row["output"],
                    green_share_gain=row["green_gain"],
                    tier_share_gain=row["tier_gain"],
                )
            )
    progress.as_of.GetCurrentTime()
    return progress
