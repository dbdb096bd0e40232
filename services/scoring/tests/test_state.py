"""Per-supplier declaration state: supersede by key, ignore duplicates and stale replays."""

from __future__ import annotations

import pytest

from greenchain.scoring.state import (
    SupplierState,
    Unacceptable,
    apply,
    declarations_frame,
    model_row,
)
from greenchain.testing.builders import envelope, ts


def test_a_duplicate_changes_nothing_and_a_correction_supersedes() -> None:
    state: SupplierState = {}
    first = envelope("energy")
    assert apply(state, first) is True
    assert apply(state, first) is False  # the same declaration id again
    correction = envelope("energy")
    correction.declaration_id += "-fix"
    correction.submitted_at.CopyFrom(ts(2024, 3, 20))
    correction.energy.electricity_kwh = 700_000.0
    assert apply(state, correction) is True
    assert len(state) == 1  # same site, month and kind: one entry
    (entry,) = state.values()
    assert entry["id"] == correction.declaration_id
    assert entry["row"]["electricity_kwh"] == 700_000.0
    # the older version replayed later does not win back
    assert apply(state, first) is False
    assert next(iter(state.values()))["id"] == correction.declaration_id


def test_products_of_one_site_and_month_are_kept_apart() -> None:
    state: SupplierState = {}
    a, b = envelope("product_footprint"), envelope("product_footprint")
    b.declaration_id += "-b"
    b.product_footprint.product_id = "P-200"
    assert apply(state, a) and apply(state, b)
    assert declarations_frame({"sup-001": state}).height == 2


def test_renewable_parts_are_summed_into_one_row_value() -> None:
    row = model_row(envelope("energy"))
    assert row["renewable_kwh"] == 60_000.0 + 30_000.0 + 10_000.0
    assert row["period"] == 2024 * 12 + 2  # March 2024, months since year 0
    assert row["verified"] is True


def test_a_declaration_without_body_is_unacceptable() -> None:
    decl = envelope("energy")
    decl.ClearField("energy")
    with pytest.raises(Unacceptable):
        model_row(decl)
