"""Rich renderings of ledger answers, for the CLI and ``make run``."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from greenchain.common.grades import active, grade_label, level_label, tier_label
from greenchain.v1 import ledger_pb2, rating_pb2


def money(cny: float) -> str:
    return f"{cny / 1e8:,.2f} 亿" if cny >= 1e8 else f"{cny / 1e4:,.0f} 万"


def ratings_table(ratings: list[rating_pb2.SupplierRating], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    columns = (
        "supplier",
        "name",
        "sector",
        "score",
        "designated",
        "green code",
        "sector pct",
        "readiness",
        "Δ",
        "output/yr (CNY)",
    )
    for column in columns:
        table.add_column(
            column, justify="right" if column in ("score", "Δ", "sector pct") else "left"
        )
    for r in ratings:
        change = f"{r.score_change:+.1f}" if r.HasField("score_change") else ""
        percentile = f"{r.sector_percentile:.0f}" if r.HasField("sector_percentile") else ""
        table.add_row(
            r.supplier_id,
            r.supplier_name,
            r.sector_code,
            f"{r.total_score:.1f}",
            level_label(r.green_factory_level)
            + (" ★0C" if r.zero_carbon_status == rating_pb2.ZERO_CARBON_STATUS_DESIGNATED else ""),
            grade_label(r.grade),
            percentile,
            tier_label(r.readiness_tier),
            change,
            money(r.output_value_cny),
        )
    return table


def progress_panel(p: ledger_pb2.ChainProgress) -> RenderableType:
    """The chain's designated share against the 40 % goal, the readiness forecast beside it,
    the share by designation level, the monthly trend and the leverage list."""
    share = p.designated_share
    bar = ProgressBar(total=100, completed=min(share / p.target_share, 1.0) * 100, width=50)
    headline = Text.assemble(
        (f"{share:.1%}", "bold green" if share >= p.target_share else "bold yellow"),
        f" of output value from designated green factories; goal {p.target_share:.0%} by "
        f"{p.target_year}, gap {p.gap_to_target:.1%} "
        f"({p.rated_suppliers} of {p.suppliers} suppliers rated, "
        f"{money(p.total_output_value_cny)} CNY output a year)",
    )
    leader = ""
    if p.HasField("leader"):
        gsc = p.leader.green_supply_chain
        leader = f"chain leader {p.leader.name}" + (
            f": {level_label(gsc.level)} green supply-chain management enterprise ({gsc.year})"
            if active(gsc)
            else ""
        )
    shares = Table.grid(padding=(0, 2))
    for s in p.designated_by_level:
        shares.add_row(
            f"designated {level_label(s.level)} or above",
            f"{s.share:.1%}",
            money(s.output_value_cny),
            f"{s.suppliers} suppliers",
        )
    shares.add_row(
        "forecast: designated + rated ready",
        f"{p.forecast_share:.1%}",
        "",
        "(if every ready supplier were designated)",
    )
    shares.add_row("readiness (score) at or above municipal", f"{p.readiness_share:.1%}", "", "")
    if p.HasField("purchase_weighted_designated_share"):
        shares.add_row(
            "designated, purchase-weighted",
            f"{p.purchase_weighted_designated_share:.1%}",
            "",
            f"({p.purchase_value_suppliers} suppliers with purchase values)",
        )
    trend = " ".join(
        f"{m.period.year}-{m.period.month:02d}:{m.designated_share:.0%}" for m in p.trend
    )
    leverage = Table(
        title="leverage: who moves the designated share most (ready suppliers first)",
        title_justify="left",
    )
    for column in ("supplier", "name", "tier now", "score", "points to next tier", "+designated"):
        leverage.add_column(column)
    for item in p.leverage[:10]:
        leverage.add_row(
            item.supplier_id,
            item.supplier_name,
            tier_label(item.current_tier),
            f"{item.total_score:.1f}",
            f"{item.points_to_next_tier:.1f}",
            f"{item.designated_share_gain:+.2%}",
        )
    parts: list[RenderableType] = [headline]
    if leader:
        parts.append(Text(leader))
    parts += [bar, Text(""), shares, Text(f"trend (designated share by month): {trend}"), leverage]
    return Panel(Group(*parts), title=f"chain {p.chain_id}: progress to the 2030 goal")


def history_table(entries: list[ledger_pb2.LedgerEntry], supplier_id: str) -> Table:
    table = Table(title=f"rating history of {supplier_id}", title_justify="left")
    for column in (
        "#",
        "recorded",
        "window",
        "score",
        "grade",
        "tier",
        "declarations",
        "entry hash",
    ):
        table.add_column(column)
    for e in entries:
        r = e.rating
        table.add_row(
            str(e.sequence),
            e.recorded_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"),
            f"{r.window_start.year}-{r.window_start.month:02d}..{r.window_end.year}-{r.window_end.month:02d}",
            f"{r.total_score:.1f}",
            grade_label(r.grade),
            tier_label(r.readiness_tier),
            str(r.coverage.declarations_used),
            e.entry_hash.hex()[:16],
        )
    return table


def scorecard(entry: ledger_pb2.LedgerEntry) -> RenderableType:
    """One supplier's current rating: the headline, every indicator, and the improvement plan."""
    from greenchain.reports.labels import category_label, number, period, zero_carbon_label
    from greenchain.reports.plan import improvement_plan

    r = entry.rating
    percentile = f"{r.sector_percentile:.0f}" if r.HasField("sector_percentile") else "-"
    change = f" ({r.score_change:+.1f})" if r.HasField("score_change") else ""
    headline = Text.assemble(
        (f"{r.supplier_id} {r.supplier_name}", "bold"),
        f"  sector {r.sector_code}, window {period(r.window_start)}..{period(r.window_end)}\n",
        (f"score {r.total_score:.1f}{change}", "bold green"),
        f", readiness tier {tier_label(r.readiness_tier)}, designated "
        f"{level_label(r.green_factory_level)}, green code {grade_label(r.grade)}, sector "
        f"percentile {percentile}, zero-carbon {zero_carbon_label(r.zero_carbon_status)}\n",
        f"{r.coverage.months_present} of {r.coverage.window_months} months present, "
        f"{r.coverage.verified_share:.0%} verified, methodology {r.methodology_version}, "
        f"ledger entry {entry.sequence}",
    )
    indicators = Table(title="indicators", title_justify="left")
    for column in ("category", "indicator", "value", "unit", "benchmark", "leading", "points"):
        indicators.add_column(
            column, justify="left" if column in ("category", "indicator", "unit") else "right"
        )
    for ind in r.indicators:
        indicators.add_row(
            category_label(ind.category),
            ind.indicator,
            number(ind.value) if ind.HasField("value") else "no data",
            ind.unit,
            number(ind.benchmark_value),
            number(ind.leading_value),
            f"{ind.points:.2f} / {ind.max_points:g}",
        )
    plan = improvement_plan(r)
    steps = Table(title=f"improvement plan: {plan.summary()}", title_justify="left")
    for column in ("indicator", "now", "target", "change", "points"):
        steps.add_column(column, justify="left" if column == "indicator" else "right")
    for s in plan.steps:
        relative = f" ({s.relative_change:+.0%})" if s.relative_change is not None else ""
        steps.add_row(
            s.indicator,
            number(s.value) if s.value is not None else "no data",
            f"{number(s.target)} {s.unit}",
            (number(s.change) + relative) if s.change is not None else "declare it",
            f"{s.points:.2f} -> {s.target_points:.2f}",
        )
    for c in plan.conditions:
        steps.add_row(c.name, f"{c.current:.0%}", f"{c.required:.0%}", "", "met" if c.met else "")
    return Panel(Group(headline, indicators, steps), title=f"rating of {r.supplier_id}")
