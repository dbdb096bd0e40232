"""The chain report as a one-page PDF summary: the designated share against the goal (with the
progress chart), by level, the readiness forecast, and the leverage list.

It uses the PDF's built-in Helvetica, so it needs no font file (air-gapped images); that font
has Latin-1 characters only, so other characters (e.g. a Chinese company name) print as '?'.
The Excel report and the console show every character.
"""

from __future__ import annotations

from collections import Counter

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from greenchain.common.grades import level_label, tier_label
from greenchain.reports.charts import GREEN, LIGHT_GREEN, RED, LineChart, trend_chart
from greenchain.reports.labels import money_latin, share
from greenchain.v1 import ledger_pb2, rating_pb2


def _latin(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class _Summary(FPDF):
    def line_text(self, text: str, size: float = 10, style: str = "", height: float = 5.5) -> None:
        self.set_font("Helvetica", style, size)
        self.cell(0, height, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def chart(self, chart: LineChart, x0: float, y0: float, w: float, h: float) -> None:
        left, bottom, top = 12.0, 8.0, 6.0
        px, py, pw, ph = x0 + left, y0 + top, w - left - 2, h - top - bottom
        span = (chart.y_max - chart.y_min) or 1.0
        n = len(chart.x_labels)

        def x(i: int) -> float:
            return px + (pw * i / (n - 1) if n > 1 else pw / 2)

        def y(v: float) -> float:
            v = min(max(v, chart.y_min), chart.y_max)
            return py + ph * (1 - (v - chart.y_min) / span)

        self.set_font("Helvetica", "B", 9)
        self.text(x0, y0 + 3, _latin(chart.title))
        self.set_font("Helvetica", "", 7)
        self.set_line_width(0.1)
        self.set_draw_color(220, 224, 228)
        for tick in chart.ticks():
            self.line(px, y(tick), px + pw, y(tick))
            self.set_text_color(107, 114, 128)
            self.text(x0, y(tick) + 1, _latin(chart.y_format(tick)))
        step = max(1, n // 8)
        for i, label in enumerate(chart.x_labels):
            if i % step == 0 or i == n - 1:
                self.text(x(i) - 5, py + ph + 4, _latin(label))
        for ref in chart.references:
            self.set_draw_color(*_rgb(ref.color))
            self.set_text_color(*_rgb(ref.color))
            self.set_line_width(0.5)
            with self.local_context():
                self.set_dash_pattern(dash=2, gap=1)
                self.line(px, y(ref.value), px + pw, y(ref.value))
            self.text(px + pw - 30, y(ref.value) - 1, _latin(ref.label))
        legend = x0 + left
        for s in chart.series:
            points = [(x(i), y(v)) for i, v in enumerate(s.values) if v is not None]
            self.set_draw_color(*_rgb(s.color))
            self.set_line_width(0.6)
            with self.local_context():
                if s.dashed:
                    self.set_dash_pattern(dash=1.5, gap=1)
                if len(points) > 1:
                    self.polyline(points)
                self.line(legend, y0 + h, legend + 6, y0 + h)
            self.set_text_color(0, 0, 0)
            self.text(legend + 7, y0 + h + 1, _latin(s.name))
            legend += 12 + 1.6 * len(s.name)
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_line_width(0.2)


def chain_summary_pdf(
    progress: ledger_pb2.ChainProgress, ratings: list[rating_pb2.SupplierRating]
) -> bytes:
    pdf = _Summary(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)  # one page, always
    pdf.set_margins(15, 12, 15)
    pdf.add_page()
    pdf.set_title(f"greenchain chain report {progress.chain_id}")
    pdf.set_creator("greenchain")
    pdf.line_text(
        f"Chain {progress.chain_id}: progress to the {progress.target_year} green factory goal",
        15,
        "B",
        8,
    )
    if progress.HasField("leader"):
        gsc = progress.leader.green_supply_chain
        designation = (
            f" ({level_label(gsc.level)} green supply-chain management enterprise, {gsc.year})"
            if gsc.level
            else ""
        )
        pdf.line_text(f"Chain leader: {progress.leader.name}{designation}", 10)
    as_of = (
        progress.as_of.ToDatetime().strftime("%Y-%m-%d %H:%M UTC")
        if progress.HasField("as_of")
        else "-"
    )
    versions = ", ".join(sorted(Counter(r.methodology_version for r in ratings)))
    pdf.line_text(
        f"As of {as_of}; {progress.rated_suppliers} of {progress.suppliers} suppliers rated; "
        f"methodology {versions or '-'}",
        9,
    )
    pdf.ln(3)
    pdf.line_text(
        f"{share(progress.designated_share)} of the chain's output value comes from designated "
        f"green factories",
        13,
        "B",
        7,
    )
    pdf.line_text(
        f"Goal: more than {progress.target_share:.0%} by {progress.target_year}; gap "
        f"{share(progress.gap_to_target)}. Output value "
        f"{money_latin(progress.total_output_value_cny)} a year.",
        10,
    )
    # the goal bar
    x0, y0, w = pdf.l_margin, pdf.get_y() + 2, pdf.epw
    pdf.set_fill_color(238, 242, 240)
    pdf.rect(x0, y0, w, 7, style="F")
    pdf.set_fill_color(*_rgb(LIGHT_GREEN))
    pdf.rect(x0, y0, w * min(progress.forecast_share, 1.0), 7, style="F")
    pdf.set_fill_color(*_rgb(GREEN))
    pdf.rect(x0, y0, w * min(progress.designated_share, 1.0), 7, style="F")
    goal_x = x0 + w * progress.target_share
    pdf.set_draw_color(*_rgb(RED))
    pdf.set_line_width(0.8)
    pdf.line(goal_x, y0 - 1.5, goal_x, y0 + 8.5)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*_rgb(RED))
    pdf.text(goal_x - 8, y0 + 12, f"goal {progress.target_share:.0%}")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_y(y0 + 15)

    table = [("designated, by level", "share", "output value", "suppliers")]
    for s in progress.designated_by_level:
        table.append(
            (
                f"{level_label(s.level)} or above",
                share(s.share),
                money_latin(s.output_value_cny),
                str(s.suppliers),
            )
        )
    table.append(("forecast: designated + rated ready", share(progress.forecast_share), "", ""))
    table.append(("rated ready (score >= municipal)", share(progress.readiness_share), "", ""))
    if progress.HasField("purchase_weighted_designated_share"):
        table.append(
            (
                "designated, purchase-weighted",
                share(progress.purchase_weighted_designated_share),
                "",
                f"{progress.purchase_value_suppliers} with purchase values",
            )
        )
    widths = (72, 25, 40, 43)
    for i, cells in enumerate(table):
        pdf.set_font("Helvetica", "B" if i == 0 else "", 9)
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 5.2, _latin(text), border="B" if i == 0 else 0)
        pdf.ln(5.2)

    if progress.trend:
        top = pdf.get_y() + 4
        pdf.chart(trend_chart(progress), pdf.l_margin, top, pdf.epw, 78)
        pdf.set_y(top + 84)

    pdf.line_text("Leverage: who moves the designated share most (ready suppliers first)", 11, "B")
    heads = ("supplier", "name", "tier", "score", "to next", "+designated")
    widths2 = (22, 70, 22, 16, 18, 32)
    pdf.set_font("Helvetica", "B", 8.5)
    for width, text in zip(widths2, heads, strict=True):
        pdf.cell(width, 5, text, border="B")
    pdf.ln(5)
    pdf.set_font("Helvetica", "", 8.5)
    room = int((pdf.h - 26 - pdf.get_y()) // 4.6)
    for item in list(progress.leverage)[: max(0, min(12, room))]:
        line = (
            item.supplier_id,
            item.supplier_name[:40],
            tier_label(item.current_tier),
            f"{item.total_score:.1f}",
            f"{item.points_to_next_tier:.1f}",
            f"{item.designated_share_gain:+.2%}",
        )
        for width, text in zip(widths2, line, strict=True):
            pdf.cell(width, 4.6, _latin(text))
        pdf.ln(4.6)
    pdf.set_y(pdf.h - 20)
    pdf.set_font("Helvetica", "I", 7.5)
    pdf.multi_cell(
        0,
        3.6,
        "Designated share: output value of sites with an active green-factory designation "
        "(national, provincial or municipal list) over the chain's output value, the quantity of "
        "the 2024 guidance. Readiness tiers are a score-based forecast with greenchain default "
        "thresholds, never a designation. Method and sources: docs/methodology.md.",
    )
    return bytes(pdf.output())
