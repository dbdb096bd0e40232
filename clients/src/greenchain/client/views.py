"""Rich renderings of ledger answers, for the CLI and ``make run``."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from greenchain.common.grades import grade_label, tier_label
from greenchain.v1 import ledger_pb2, rating_pb2


def money(cny: float) -> str:
    return f"{cny / 1e8:,.2f} 亿" if cny >= 1e8 else f"{cny / 1e4:,.0f} 万"


def ratings_table(ratings: list[rating_pb2.SupplierRating], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("supplier", "name", "sector", "score", "grade", "tier", "Δ", "output/yr (CNY)"):
        table.add_column(column, justify="right" if column in ("score", "Δ") else "left")
    for r in ratings:
        change = f"{r.score_change:+.1f}" if r.HasField("score_change") else ""
        table.add_row(
            r.supplier_id,
            r.supplier_name,
            r.sector_code,
            f"{r.total_score:.1f}",
            grade_label(r.grade),
            tier_label(r.readiness_tier) + (" ★0C" if r.zero_carbon_candidate else ""),
            change,
            money(r.output_value_cny),
        )
    return table


def progress_panel(p: ledger_pb2.ChainProgress) -> RenderableType:
    share = p.green_share
    bar = ProgressBar(total=100, completed=min(share / p.target_share, 1.0) * 100, width=50)
    headline = Text.assemble(
        (f"{share:.1%}", "bold green" if share >= p.target_share else "bold yellow"),
        f" of output value from green-factory-ready suppliers; goal {p.target_share:.0%} by "
        f"{p.target_year} ({p.rated_suppliers} of {p.suppliers} suppliers rated, "
        f"{money(p.total_output_value_cny)} CNY output a year)",
    )
    tiers = Table.grid(padding=(0, 2))
    for s in p.tier_shares:
        tiers.add_row(
            f"at or above {tier_label(s.tier)}", f"{s.share:.1%}", money(s.output_value_cny)
        )
    trend = " ".join(f"{m.period.year}-{m.period.month:02d}:{m.green_share:.0%}" for m in p.trend)
    leverage = Table(
        title="leverage: who moves the share most by reaching the next tier", title_justify="left"
    )
    for column in (
        "supplier",
        "name",
        "now",
        "next",
        "score",
        "points to go",
        "+green share",
        "+tier share",
    ):
        leverage.add_column(column)
    for item in p.leverage[:10]:
        leverage.add_row(
            item.supplier_id,
            item.supplier_name,
            tier_label(item.current_tier),
            tier_label(item.next_tier),
            f"{item.total_score:.1f}",
            f"{item.points_to_next_tier:.1f}",
            f"{item.green_share_gain:+.2%}",
            f"{item.tier_share_gain:+.2%}",
        )
    return Panel(
        Group(headline, bar, tiers, Text(f"trend (green share by month): {trend}"), leverage),
        title=f"chain {p.chain_id}: progress to the 2030 goal",
    )


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
            str(len(r.declaration_ids)),
            e.entry_hash.hex()[:16],
        )
    return table
