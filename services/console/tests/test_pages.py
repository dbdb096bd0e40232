"""The console's page logic without a server: the supplier table and the coverage by month."""

from __future__ import annotations

from greenchain.console.pages import PAGE_SIZE, TableQuery, coverage_by_month, supplier_table
from greenchain.testing.builders import rating
from greenchain.v1 import ledger_pb2, rating_pb2

NOT_YET, MUN = rating_pb2.READINESS_TIER_NOT_YET, rating_pb2.READINESS_TIER_MUNICIPAL
RATINGS = [
    rating(f"s{i:02d}", float(i), MUN if i >= 50 else NOT_YET, 1e8 * (60 - i), sector=s)
    for i, s in zip(range(60), ["C36", "C38"] * 30, strict=True)
]


def test_query_parsing_ignores_what_it_does_not_know() -> None:
    q = TableQuery.parse({"sort": "drop table", "dir": "up", "page": "x", "tier": "gold"})
    assert (q.sort, q.direction, q.page, q.tier) == ("score", "desc", 1, "")
    assert TableQuery.parse({"sort": "output", "dir": "asc"}).params(page=2) == {
        "sort": "output",
        "dir": "asc",
        "page": "2",
    }


def test_sort_filter_and_page() -> None:
    first = supplier_table(RATINGS, TableQuery())
    assert first.total == first.matching == 60 and first.pages == 3
    assert [r.supplier_id for r in first.rows[:2]] == ["s59", "s58"]
    assert len(first.rows) == PAGE_SIZE
    last = supplier_table(RATINGS, TableQuery(sort="output", direction="desc", page=9))
    assert last.page == 3 and last.rows[-1].supplier_id == "s59"  # clamped to the last page
    ready = supplier_table(RATINGS, TableQuery(tier="municipal", sector="C38"))
    assert ready.matching == 5 and {r.sector_code for r in ready.rows} == {"C38"}
    assert supplier_table(RATINGS, TableQuery(search="S07")).matching == 1
    assert ready.sectors == ["C36", "C38"]


def test_coverage_keeps_the_latest_rating_of_each_month() -> None:
    entries = []
    for seq, (month, present) in enumerate([(10, 4), (11, 5), (11, 6), (12, 7)], start=1):
        r = rating("s", 50.0, MUN, 1.0, window_end=(2025, month))
        r.coverage.months_present = present
        r.coverage.window_months = 12
        entries.append(ledger_pb2.LedgerEntry(sequence=seq, rating=r))
    coverage = coverage_by_month(entries)
    assert [(c.month, c.months_present) for c in coverage] == [
        ("2025-10", 4),
        ("2025-11", 6),
        ("2025-12", 7),
    ]
