"""The chain report files, read back the way a recipient opens them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import polars as pl

from greenchain.reports.charts import goal_bar_svg, line_chart_svg, trend_chart
from greenchain.reports.pdf import chain_summary_pdf
from greenchain.reports.workbook import chain_workbook
from greenchain.testing.builders import rating
from greenchain.v1 import declaration_pb2, ledger_pb2, rating_pb2, supplier_pb2

NAT = supplier_pb2.DESIGNATION_LEVEL_NATIONAL


def progress() -> ledger_pb2.ChainProgress:
    p = ledger_pb2.ChainProgress(
        chain_id="chain-x",
        target_share=0.4,
        target_year=2030,
        designated_share=0.25,
        forecast_share=0.33,
        readiness_share=0.3,
        gap_to_target=0.15,
        suppliers=2,
        rated_suppliers=2,
        total_output_value_cny=4e9,
        leader=supplier_pb2.Chain(chain_id="chain-x", name="上海 Motors"),
    )
    p.designated_by_level.add(level=NAT, share=0.25, output_value_cny=1e9, suppliers=1)
    for month, share in ((10, 0.2), (11, 0.22), (12, 0.25)):
        p.trend.add(period=declaration_pb2.Period(year=2025, month=month), designated_share=share)
    p.leverage.add(supplier_id="b", supplier_name="Supplier b", designated_share_gain=0.75)
    return p


RATINGS = [
    rating("a", 81.0, rating_pb2.READINESS_TIER_NATIONAL, 1e9, ("chain-x",), designated=NAT),
    rating("b", 40.0, rating_pb2.READINESS_TIER_NOT_YET, 3e9, ("chain-x",)),
]


def test_workbook_has_the_four_sheets_with_the_numbers(tmp_path: Path) -> None:
    path = tmp_path / "chain-x.xlsx"
    path.write_bytes(chain_workbook(progress(), RATINGS))
    sheets = pl.read_excel(path, sheet_id=0)
    assert list(sheets) == ["progress", "suppliers", "leverage", "methodology version"]
    suppliers = sheets["suppliers"]
    assert suppliers["supplier_id"].to_list() == ["a", "b"]
    assert suppliers["total_score"].to_list() == [81.0, 40.0]
    progress_sheet = pl.read_excel(path, sheet_name="progress", read_options={"header_row": 3})
    metrics = dict(zip(progress_sheet["metric"], progress_sheet["value"], strict=True))
    assert float(metrics["designated_share"]) == 0.25


def test_pdf_is_one_page_with_the_headline(tmp_path: Path) -> None:
    data = chain_summary_pdf(progress(), RATINGS)
    assert data.startswith(b"%PDF")
    path = tmp_path / "chain-x.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "25.0% of the chain's output value comes from designated" in text
    assert "goal 40%" in text and "Leverage" in text
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+1$", info.stdout, re.M)


def test_svg_charts_carry_the_goal_line() -> None:
    svg = line_chart_svg(trend_chart(progress()))
    assert 'id="goal-line"' in svg and "goal 40% by 2030" in svg and "2025-12" in svg
    bar = goal_bar_svg(0.25, 0.33, 0.4, 2030)
    assert 'id="designated-bar"' in bar and 'id="goal-marker"' in bar
