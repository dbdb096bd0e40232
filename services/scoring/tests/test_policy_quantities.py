"""The policy's own quantities in the model, with hand-computed expectations: the enterprise
green code only for national green factories, a named sector percentile for everyone rated, the
zero-carbon status from its criteria, and a 12-month window that only emissions and energy move."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenchain.scoring.model import Methodology, rate
from greenchain.scoring.model.rating import ZERO_CARBON_CRITERIA, grade, ranks, zero_carbon
from greenchain.testing.worked_example import example_inputs

M = Methodology.load()


def test_green_code_only_for_national_green_factories_and_a_percentile_for_all() -> None:
    # one sector, 8 rated suppliers (3 national green factories) and one without enough data
    frame = pl.DataFrame(
        {
            "supplier_id": ["n1", "n2", "n3", "p1", "m1", "x1", "x2", "x3", "i1"],
            "sector_code": ["C36"] * 9,
            "total_score": [90.0, 70.0, 60.0, 95.0, 80.0, 50.0, 40.0, 70.0, 0.0],
            "green_factory_level": [
                "national",
                "national",
                "national",
                "provincial",
                "municipal",
                None,
                None,
                None,
                "national",
            ],
            "insufficient": [False] * 8 + [True],
        }
    )
    rows = {r["supplier_id"]: r for r in grade(frame, ranks(frame, M), M).iter_rows(named=True)}
    # among the 3 national ones: A+ if rank <= ceil(0.05 x 3) = 1, A if rank <= ceil(0.4 x 3) = 2
    assert [rows[s]["grade"] for s in ("n1", "n2", "n3")] == ["a_plus", "a", "b"]
    # the provincial supplier has the best score of the sector and still no green code
    assert {rows[s]["grade"] for s in ("p1", "m1", "x1", "x2", "x3")} == {"not_eligible"}
    assert rows["i1"]["grade"] == "insufficient_data"
    # percentile: share of the 8 rated suppliers with a lower total, x 100, whole points down
    expected = {
        "p1": 87.0,  # 87.5
        "n1": 75.0,
        "m1": 62.0,  # 62.5
        "n2": 37.0,  # 37.5
        "x3": 37.0,
        "n3": 25.0,
        "x1": 12.0,  # 12.5
        "x2": 0.0,
    }
    assert {s: rows[s]["sector_percentile"] for s in expected} == pytest.approx(expected)
    assert rows["i1"]["sector_percentile"] is None


def zero_carbon_frame(**overrides: object) -> pl.DataFrame:
    """One rated supplier meeting every criterion; ``overrides`` break some."""
    row: dict[str, object] = {
        "insufficient": False,
        "green_factory_level": "provincial",
        "zero_carbon_designated": False,
        "accounting_system": True,
        "pcf_coverage": 0.3,
        "offset_coverage": 1.0,
        "disclosure_published": True,
    }
    return pl.DataFrame([row | overrides])


@pytest.mark.parametrize(
    ("overrides", "unmet", "status"),
    [
        ({}, set(), "criteria_met"),
        ({"green_factory_level": "municipal"}, {"green_factory_designation"}, "not_met"),
        ({"green_factory_level": None}, {"green_factory_designation"}, "not_met"),
        ({"offset_coverage": 0.999}, {"scope12_offset"}, "not_met"),
        (
            {"pcf_coverage": 0.0, "disclosure_published": False},
            {"product_footprint", "disclosure"},
            "not_met",
        ),
        ({"accounting_system": False}, {"carbon_accounting"}, "not_met"),
        # on a zero-carbon list: designated, whatever the criteria say
        (
            {"zero_carbon_designated": True, "offset_coverage": 0.2},
            {"scope12_offset"},
            "designated",
        ),
        # insufficient data: never criteria_met
        ({"insufficient": True}, set(), "not_met"),
    ],
)
def test_zero_carbon_status_from_its_criteria(
    overrides: dict[str, object], unmet: set[str], status: str
) -> None:
    (row,) = zero_carbon(zero_carbon_frame(**overrides), M).iter_rows(named=True)
    assert {c for c in ZERO_CARBON_CRITERIA if not row[f"zc_{c}"]} == unmet
    assert row["zero_carbon_status"] == status
    assert row["zero_carbon_candidate"] is (status != "not_met")


def test_a_later_footprint_or_offsets_declaration_does_not_move_the_window() -> None:
    declarations, registry = example_inputs()  # emissions and energy for 2025-01..03
    base = rate(declarations, registry, M).row(0, named=True)
    later = pl.DataFrame(
        [
            {
                "supplier_id": "EX1",
                "site_id": "s1",
                "period": 2025 * 12 + 11,
                "kind": kind,
                "declaration_id": f"late-{kind}",
                "verified": True,
                **values,
            }
            for kind, values in (
                (
                    "product_footprint",
                    {"product_id": "P9", "output_value_share": 0.1, "primary_data_share": 0.5},
                ),
                ("offsets", {"offset_ccer_tco2e": 1.0}),
                ("circularity", {"water_withdrawn_m3": 1.0}),
            )
        ],
        schema=declarations.schema,
    )
    after = rate(pl.concat([declarations, later]), registry, M).row(0, named=True)
    # the window still ends in 2025-03 and still holds the three months of data
    assert after["window_end"] == base["window_end"] == 2025 * 12 + 2
    assert after["months_present"] == 3
    assert after["insufficient"] is False
    assert after["total_score"] == pytest.approx(base["total_score"])


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C36", "C38"]),
            st.integers(0, 40).map(lambda x: x * 2.5),  # ties are likely
            st.sampled_from(["national", "provincial", None]),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    )
)
@settings(max_examples=200, deadline=None)
def test_ranks_searched_in_the_snapshot_equal_a_full_re_rank(
    suppliers: list[tuple[str, float, str | None, bool]],
) -> None:
    """The percentile band and the green code from the snapshot's bounds and thresholds equal
    the definitions applied to the whole sector (rank with ties, ceil of the shares)."""
    frame = pl.DataFrame(
        {
            "supplier_id": [f"s{i}" for i in range(len(suppliers))],
            "sector_code": [s[0] for s in suppliers],
            "total_score": [s[1] for s in suppliers],
            "green_factory_level": [s[2] for s in suppliers],
            "insufficient": [s[3] for s in suppliers],
        }
    )
    graded = grade(frame, ranks(frame, M), M)
    for row in graded.iter_rows(named=True):
        if row["insufficient"]:
            assert (row["grade"], row["sector_percentile"]) == ("insufficient_data", None)
            continue
        peers = [s for s in suppliers if s[0] == row["sector_code"] and not s[3]]
        lower = sum(1 for s in peers if s[1] < row["total_score"])
        assert row["sector_percentile"] == math.floor(100 * lower / len(peers))
        if row["green_factory_level"] != "national":
            assert row["grade"] == "not_eligible"
            continue
        nationals = [s for s in peers if s[2] == "national"]
        rank = 1 + sum(1 for s in nationals if s[1] > row["total_score"])
        expected = (
            "a_plus"
            if rank <= math.ceil(len(nationals) * M.a_plus_top_share)
            else "a"
            if rank <= math.ceil(len(nationals) * M.a_top_share)
            else "b"
        )
        assert row["grade"] == expected
