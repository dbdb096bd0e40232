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
from greenchain.v1 import declaration_pb2 as d


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


def _footprint(pact_id: str, month: int, product: str = "P-100") -> d.Declaration:
    decl = envelope("product_footprint", month=month)
    decl.product_footprint.pact_footprint_id = pact_id
    decl.product_footprint.product_id = product
    decl.declaration_id = f"d-{pact_id}-{month}-{product}"
    return decl


def test_a_deprecated_pact_footprint_is_withdrawn_and_stays_withdrawn() -> None:
    state: SupplierState = {}
    active = _footprint("pf-1", 3)
    assert apply(state, active)
    assert declarations_frame({"sup-001": state}).height == 1
    notice = _footprint("pf-1", 3)
    notice.product_footprint.pact_deprecated = True
    notice.declaration_id += "-deprecated"
    assert apply(state, notice) is True
    assert declarations_frame({"sup-001": state}).height == 0
    assert apply(state, notice) is False  # a duplicate notice changes nothing
    assert apply(state, active) is False  # a replayed or re-sent copy does not come back
    assert declarations_frame({"sup-001": state}).height == 0


def test_a_successor_drops_its_predecessors_at_any_month_and_product_id() -> None:
    state: SupplierState = {}
    assert apply(state, _footprint("pf-1", 3, "P-100"))
    assert apply(state, _footprint("pf-2", 4, "P-OLD"))
    assert apply(state, _footprint("pf-3", 3, "P-200"))  # unrelated: stays
    successor = _footprint("pf-9", 2, "P-100")  # recalculated for an earlier period
    successor.product_footprint.preceding_pact_footprint_ids.extend(["pf-1", "pf-2"])
    assert apply(state, successor) is True
    frame = declarations_frame({"sup-001": state})
    assert sorted(frame["product_id"].to_list()) == ["P-100", "P-200"]
    assert sorted(frame["period"].to_list()) == [2024 * 12 + 1, 2024 * 12 + 2]


def test_no_primary_data_share_scores_as_none() -> None:
    decl = _footprint("pf-1", 3)
    decl.product_footprint.primary_data_share_absent = True
    decl.product_footprint.primary_data_share = 0.0
    assert model_row(decl)["primary_data_share"] == 0.0
    assert model_row(_footprint("pf-2", 3))["primary_data_share"] == 0.65
