"""The chain report as an Excel workbook: sheets ``progress`` (the designated share against the
goal, by level, the readiness forecast, the monthly trend with a chart), ``suppliers`` (every
current rating, every indicator), ``leverage`` and ``methodology version`` (the versions behind
the ratings, their thresholds with basis and the indicators' weights)."""

from __future__ import annotations

import io
from collections import Counter

import xlsxwriter

from greenchain.common.grades import level_label
from greenchain.reports.labels import category_label, period
from greenchain.reports.rows import leverage_row, progress_rows, rating_row
from greenchain.v1 import ledger_pb2, rating_pb2

SHARE_METRICS = {
    "designated_share",
    "target_share",
    "gap_to_target",
    "forecast_share",
    "readiness_share",
    "purchase_weighted_designated_share",
}


def chain_workbook(
    progress: ledger_pb2.ChainProgress, ratings: list[rating_pb2.SupplierRating]
) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    pct = book.add_format({"num_format": "0.0%"})
    money = book.add_format({"num_format": "#,##0"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    # progress ------------------------------------------------------------------------------
    sheet = book.add_worksheet("progress")
    sheet.set_column(0, 0, 44)
    sheet.set_column(1, 3, 18)
    sheet.write(
        0, 0, f"chain {progress.chain_id}: progress to the {progress.target_year} goal", title
    )
    sheet.write(
        1,
        0,
        "designated share = output value of sites with an active green-factory designation / "
        "the chain's output value (docs/methodology.md, section 5)",
    )
    row = 3
    sheet.write_row(row, 0, ["metric", "value"], bold)
    for name, value in progress_rows(progress):
        if name.startswith(("trend_", "designated_")) and name != "designated_share":
            continue
        row += 1
        sheet.write(row, 0, name)
        if name in SHARE_METRICS and isinstance(value, float):
            sheet.write_number(row, 1, value, pct)
        elif name == "total_output_value_cny" and isinstance(value, float):
            sheet.write_number(row, 1, value, money)
        elif value is not None:
            sheet.write(row, 1, value)
    row += 2
    sheet.write(row, 0, "designated, by level", bold)
    row += 1
    sheet.write_row(row, 0, ["level", "share", "output value (CNY)", "suppliers"], bold)
    for s in progress.designated_by_level:
        row += 1
        sheet.write(row, 0, f"{level_label(s.level)} or above")
        sheet.write_number(row, 1, s.share, pct)
        sheet.write_number(row, 2, s.output_value_cny, money)
        sheet.write_number(row, 3, s.suppliers)
    row += 2
    sheet.write(row, 0, "trend by month", bold)
    row += 1
    header = row
    sheet.write_row(row, 0, ["month", "designated share", "readiness share", "goal"], bold)
    for m in progress.trend:
        row += 1
        sheet.write(row, 0, period(m.period))
        sheet.write_number(row, 1, m.designated_share, pct)
        sheet.write_number(row, 2, m.readiness_share, pct)
        sheet.write_number(row, 3, progress.target_share, pct)
    if progress.trend:
        chart = book.add_chart({"type": "line"})
        for col, name in ((1, "designated share"), (2, "readiness share"), (3, "goal")):
            chart.add_series(
                {
                    "name": name,
                    "categories": ["progress", header + 1, 0, row, 0],
                    "values": ["progress", header + 1, col, row, col],
                    "line": {"dash_type": "dash"} if col == 3 else {},
                }
            )
        chart.set_title({"name": "designated share by month"})
        chart.set_y_axis({"num_format": "0%", "min": 0})
        chart.set_size({"width": 620, "height": 300})
        sheet.insert_chart(3, 5, chart)

    # suppliers -----------------------------------------------------------------------------
    sheet = book.add_worksheet("suppliers")
    rows = [rating_row(r) for r in ratings]
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r if c not in columns]
    sheet.write_row(0, 0, columns, bold)
    for i, record in enumerate(rows, start=1):
        for j, column in enumerate(columns):
            value = record.get(column)
            if value is not None:
                sheet.write(i, j, value)
    if rows:
        sheet.autofilter(0, 0, len(rows), len(columns) - 1)
    sheet.freeze_panes(1, 2)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 32)

    # leverage ------------------------------------------------------------------------------
    sheet = book.add_worksheet("leverage")
    sheet.write(
        0,
        0,
        "who moves the designated share most if designated (ready suppliers first)",
        bold,
    )
    items = [leverage_row(item) for item in progress.leverage]
    names = list(items[0]) if items else list(leverage_row(ledger_pb2.LeverageItem()))
    sheet.write_row(2, 0, names, bold)
    for i, item in enumerate(items, start=3):
        for j, name in enumerate(names):
            value = item[name]
            if name.endswith("_gain") and isinstance(value, float):
                sheet.write_number(i, j, value, pct)
            elif value is not None:
                sheet.write(i, j, value)
    sheet.set_column(1, 1, 32)

    # methodology version -------------------------------------------------------------------
    sheet = book.add_worksheet("methodology version")
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 14)
    sheet.set_column(2, 2, 70, wrap)
    versions = Counter(r.methodology_version for r in ratings)
    sheet.write(0, 0, "methodology versions of the ratings in this report", title)
    sheet.write_row(2, 0, ["methodology_version", "suppliers"], bold)
    row = 2
    for version, count in sorted(versions.items()):
        row += 1
        sheet.write(row, 0, version)
        sheet.write_number(row, 1, count)
    for version in sorted(versions):
        sample = next(r for r in ratings if r.methodology_version == version)
        row += 2
        sheet.write(row, 0, f"thresholds of version {version}", bold)
        row += 1
        sheet.write_row(row, 0, ["threshold", "value", "basis"], bold)
        for t in sample.thresholds:
            row += 1
            sheet.write_row(row, 0, [t.name, t.value, t.basis])
        row += 2
        sheet.write(row, 0, f"indicators of version {version}", bold)
        row += 1
        sheet.write_row(row, 0, ["indicator", "max points", "category, unit, direction"], bold)
        for ind in sample.indicators:
            row += 1
            sheet.write(row, 0, ind.indicator)
            sheet.write_number(row, 1, ind.max_points)
            direction = "lower is better" if ind.lower_is_better else "higher is better"
            sheet.write(row, 2, f"{category_label(ind.category)}, {ind.unit}, {direction}")
    row += 2
    sheet.write(
        row,
        0,
        "Readiness tiers are a score-based forecast (greenchain defaults), never a designation; "
        "the method with its sources: docs/methodology.md",
    )
    book.close()
    return buffer.getvalue()
