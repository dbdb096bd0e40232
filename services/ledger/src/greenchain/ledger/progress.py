"""A chain's progress toward the 2030 goal, as the guidance counts it, in polars.

The guidance (关于加快推动制造业绿色化发展的指导意见, 2024) sets: "到2030年，各级绿色工厂产值占
制造业总产值比重超过40%" — output value of green factories of every level (national,
provincial, municipal lists) above 40 % of manufacturing output value. For one chain:

designated share = output value of the chain's suppliers' sites with an ACTIVE green-factory
                   designation (any level) / output value of all the chain's suppliers
                   (site outputs are annualised from the ratings' windows; revoked designations
                   do not count); by level: at or above national, provincial, municipal.
forecast share   = the share if every supplier rated ready (readiness tier >= municipal) were
                   designated: designated output + the whole output of ready suppliers.
readiness share  = output of suppliers rated at or above municipal (the score-based view).
purchase-weighted designated share = the same, weighted by the chain's purchases from each
                   supplier that has a purchase value for the chain (a supplier counts with the
                   designated fraction of its output).
leverage         = suppliers with undesignated output, ready ones first, ranked by how much the
                   designated share would rise if their undesignated output were designated,
                   then by the points they still need for their next readiness tier.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from greenchain.common.grades import GREEN_TIERS, LEVEL_BY_NAME, LEVEL_NAME, active
from greenchain.v1 import declaration_pb2, ledger_pb2, rating_pb2, supplier_pb2

TARGET_SHARE, TARGET_YEAR = 0.40, 2030
READY = rating_pb2.READINESS_TIER_MUNICIPAL
NATIONAL_TIER = rating_pb2.READINESS_TIER_NATIONAL
LEVELS_BEST_FIRST = sorted(LEVEL_BY_NAME.values(), reverse=True)

SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "supplier_id": pl.Utf8,
    "supplier_name": pl.Utf8,
    "tier": pl.Int32,
    "grade": pl.Int32,
    "total": pl.Float64,
    "output": pl.Float64,
    "next_min": pl.Float64,
    "designated_national": pl.Float64,  # output of sites designated at or above each level
    "designated_provincial": pl.Float64,
    "designated_municipal": pl.Float64,
    "purchase": pl.Float64,  # the chain's annual purchases from the supplier (null: not given)
}


def _designated_at_least(rating: rating_pb2.SupplierRating, level: int) -> float:
    return sum(
        site.output_value_cny
        for site in rating.sites
        if active(site.green_factory) and site.green_factory.level >= level
    )


def current_frame(ratings: Sequence[rating_pb2.SupplierRating], chain_id: str = "") -> pl.DataFrame:
    """One row per rating: tier, grade, total, output, designated output by level, purchases."""
    rows = []
    for r in ratings:
        purchase = next(
            (p.annual_purchase_value_cny for p in r.purchases if p.chain_id == chain_id), None
        )
        rows.append(
            {
                "supplier_id": r.supplier_id,
                "supplier_name": r.supplier_name,
                "tier": int(r.readiness_tier),
                "grade": int(r.grade),
                "total": r.total_score,
                "output": r.output_value_cny,
                "next_min": (r.next_tier_min_score if r.HasField("next_tier_min_score") else None),
                "designated_national": _designated_at_least(
                    r, supplier_pb2.DESIGNATION_LEVEL_NATIONAL
                ),
                "designated_provincial": _designated_at_least(
                    r, supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL
                ),
                "designated_municipal": _designated_at_least(
                    r, supplier_pb2.DESIGNATION_LEVEL_MUNICIPAL
                ),
                "purchase": purchase,
            }
        )
    return pl.DataFrame(rows, schema=SCHEMA)


def _column(level: int) -> str:
    return f"designated_{LEVEL_NAME[level]}"


def _shares(frame: pl.DataFrame) -> tuple[float, float, float]:
    """(designated, readiness, forecast) share of output value for these suppliers."""
    total = float(frame["output"].sum()) if frame.height else 0.0
    if total <= 0:
        return 0.0, 0.0, 0.0
    ready = pl.col("tier") >= READY
    designated = float(frame["designated_municipal"].sum())
    readiness = float(frame.filter(ready)["output"].sum())
    forecast = float(
        frame.select(
            pl.when(ready).then(pl.col("output")).otherwise(pl.col("designated_municipal")).sum()
        ).item()
    )
    return designated / total, readiness / total, forecast / total


def chain_progress(
    chain_id: str,
    ratings: Sequence[rating_pb2.SupplierRating],
    history: Sequence[tuple[int, int, rating_pb2.SupplierRating]],
    leader: supplier_pb2.Chain | None = None,
    trend_months: int = 12,
    leverage_size: int = 20,
) -> ledger_pb2.ChainProgress:
    """The ChainProgress message of ``chain_id`` from its suppliers' current ratings and the
    chain's rating history ((sequence, window_end month, rating) per entry)."""
    now = current_frame(ratings, chain_id)
    total_output = float(now["output"].sum()) if now.height else 0.0
    designated, readiness, forecast = _shares(now)
    progress = ledger_pb2.ChainProgress(
        chain_id=chain_id,
        target_share=TARGET_SHARE,
        target_year=TARGET_YEAR,
        total_output_value_cny=total_output,
        suppliers=now.height,
        rated_suppliers=now.filter(pl.col("grade") != rating_pb2.GRADE_INSUFFICIENT_DATA).height,
        designated_share=designated,
        readiness_share=readiness,
        forecast_share=forecast,
        gap_to_target=max(0.0, TARGET_SHARE - designated),
    )
    if leader is not None:
        progress.leader.CopyFrom(leader)
    share = (lambda value: value / total_output) if total_output > 0 else (lambda value: 0.0)
    for level in LEVELS_BEST_FIRST:
        column = _column(level)
        progress.designated_by_level.append(
            ledger_pb2.LevelShare(
                level=level,
                output_value_cny=float(now[column].sum()),
                share=share(float(now[column].sum())),
                suppliers=now.filter(pl.col(column) > 0).height,
            )
        )
    buyers = now.filter(pl.col("purchase").is_not_null() & (pl.col("purchase") > 0))
    progress.purchase_value_suppliers = buyers.height
    if buyers.height:
        weighted = buyers.select(
            (
                pl.col("purchase")
                * pl.when(pl.col("output") > 0)
                .then((pl.col("designated_municipal") / pl.col("output")).clip(0.0, 1.0))
                .otherwise(0.0)
            ).sum()
            / pl.col("purchase").sum()
        ).item()
        progress.purchase_weighted_designated_share = float(weighted)
    for tier in GREEN_TIERS:
        at_least = float(now.filter(pl.col("tier") >= tier)["output"].sum())
        progress.tier_shares.append(
            ledger_pb2.TierShare(tier=tier, output_value_cny=at_least, share=share(at_least))
        )
    for grade, count in now.group_by("grade").len().sort("grade").iter_rows():
        progress.grade_counts.append(ledger_pb2.GradeCount(grade=grade, suppliers=count))
    for tier, count in now.group_by("tier").len().sort("tier").iter_rows():
        progress.tier_counts.append(ledger_pb2.TierCount(tier=tier, suppliers=count))
    _trend(progress, chain_id, history, trend_months)
    _leverage(progress, now, total_output, leverage_size)
    progress.as_of.GetCurrentTime()
    return progress


def _trend(
    progress: ledger_pb2.ChainProgress,
    chain_id: str,
    history: Sequence[tuple[int, int, rating_pb2.SupplierRating]],
    months: int,
) -> None:
    """At the end of each month: every supplier's latest rating whose window ended by then."""
    if not history:
        return
    entries = current_frame([rating for _, _, rating in history], chain_id).with_columns(
        sequence=pl.Series([s for s, _, _ in history], dtype=pl.Int64),
        window_end=pl.Series([w for _, w, _ in history], dtype=pl.Int64),
    )
    last_month: int = entries["window_end"].max()  # type: ignore[assignment]
    for month in range(last_month - months + 1, last_month + 1):
        as_of = (
            entries.filter(pl.col("window_end") <= month)
            .sort("sequence")
            .group_by("supplier_id")
            .last()
        )
        if float(as_of["output"].sum()) <= 0:
            continue
        designated, readiness, _ = _shares(as_of)
        year, month0 = divmod(month, 12)
        progress.trend.append(
            ledger_pb2.MonthlyProgress(
                period=declaration_pb2.Period(year=year, month=month0 + 1),
                designated_share=designated,
                readiness_share=readiness,
            )
        )


def _leverage(
    progress: ledger_pb2.ChainProgress, now: pl.DataFrame, total_output: float, size: int
) -> None:
    """Who moves the designated share most: undesignated output, ready suppliers first."""
    candidates = now.filter(pl.col("output") - pl.col("designated_municipal") > 1e-9)
    if not candidates.height or total_output <= 0:
        return
    next_tier = pl.min_horizontal(
        pl.max_horizontal(pl.col("tier") + 1, pl.lit(READY)), NATIONAL_TIER
    )
    ranked = (
        candidates.with_columns(
            next_tier=next_tier,
            ready=pl.col("tier") >= READY,
            designated_gain=(pl.col("output") - pl.col("designated_municipal")) / total_output,
            # the rating says what its next tier needs; at the top tier nothing more
            points_to_next=(pl.col("next_min").fill_null(pl.col("total")) - pl.col("total")).clip(
                lower_bound=0.0
            ),
            green_gain=pl.when(pl.col("tier") < READY)
            .then(pl.col("output") / total_output)
            .otherwise(0.0),
            tier_gain=pl.when(pl.col("tier") < NATIONAL_TIER)
            .then(pl.col("output") / total_output)
            .otherwise(0.0),
        )
        .sort(
            ["ready", "designated_gain", "points_to_next", "supplier_id"],
            descending=[True, True, False, False],
        )
        .head(size)
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
                designated_share_gain=row["designated_gain"],
            )
        )
