"""Per-supplier declaration state: supersede by key, ignore duplicates and stale replays."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import polars as pl
import pytest

from greenchain.scoring.model import DECLARATION_SCHEMA
from greenchain.scoring.state import (
    _STORED,
    VERIFIED,
    Checked,
    Holding,
    Limits,
    OverCap,
    SupplierState,
    Unacceptable,
    apply,
    check,
    declarations_frame,
    model_row,
    rated_ids,
    state_key,
    stored_row,
)
from greenchain.testing.builders import envelope, ts, verification
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
    assert declarations_frame({"sup-001": state})["electricity_kwh"].to_list() == [700_000.0]
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
    assert row["verified"] is False  # the supplier's own THIRD_PARTY_VERIFIED is a claim


@pytest.mark.parametrize(
    "kind",
    ["emissions", "energy", "circularity", "product_footprint", "offsets", "carbon_management"],
)
def test_the_stored_row_is_the_model_row_in_stored_order(kind: str) -> None:
    decl = envelope(kind)
    variants = [decl]
    if kind == "circularity":  # pollutant fields have presence: an absent one stays null
        sparse = d.Declaration()
        sparse.CopyFrom(decl)
        sparse.circularity.Clear()
        sparse.circularity.SetInParent()
        variants.append(sparse)
    if kind == "product_footprint":
        absent = d.Declaration()
        absent.CopyFrom(decl)
        absent.product_footprint.primary_data_share_absent = True
        variants.append(absent)
    for variant in variants:
        row = model_row(variant)
        assert stored_row(variant) == [row.get(name) for name in _STORED[kind]]
    assert None in stored_row(variants[-1]) or kind != "circularity"


@pytest.mark.parametrize(
    "kind",
    ["emissions", "energy", "circularity", "product_footprint", "offsets", "carbon_management"],
)
def test_check_reads_what_applying_needs_as_the_single_field_readers_do(kind: str) -> None:
    decl = envelope(kind, year=987, month=11)  # a year below 1000: the key pads it
    decl.submitted_at.nanos = 250_000_000
    checked = check(decl)
    assert checked == Checked(
        decl.supplier_id,
        kind,
        state_key(decl),
        decl.declaration_id,
        decl.submitted_at.seconds + 0.25,
        987 * 12 + 10,
        stored_row(decl),
    )
    assert checked.key.split("|")[1] == "0987-11"
    assert check(decl) == checked  # the second time from the month cache


def test_a_declaration_without_body_is_unacceptable() -> None:
    decl = envelope("energy")
    decl.ClearField("energy")
    with pytest.raises(Unacceptable):
        model_row(decl)
    with pytest.raises(Unacceptable):
        stored_row(decl)
    with pytest.raises(Unacceptable):
        check(decl)


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


# Verification: only a verifier's record counts -------------------------------------------------


def _verified(state: SupplierState) -> dict[str, bool]:
    frame = declarations_frame({"sup-001": state})
    return dict(zip(frame["declaration_id"].to_list(), frame["verified"].to_list(), strict=True))


def test_a_self_flag_stays_self_declared_and_a_verifiers_record_counts() -> None:
    state: SupplierState = {}
    claimed = envelope("energy")  # says THIRD_PARTY_VERIFIED itself
    assert claimed.assurance.level == d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
    assert apply(state, claimed)
    assert _verified(state) == {claimed.declaration_id: False}
    record = verification(claimed, by="verifier:cqc")
    assert apply(state, record) is True
    assert _verified(state) == {claimed.declaration_id: True}
    assert apply(state, record) is False  # the same record again


def test_a_record_before_its_declaration_counts_and_a_correction_is_not_verified() -> None:
    state: SupplierState = {}
    first = envelope("energy")
    assert apply(state, verification(first))  # recorded before the declaration was read
    assert apply(state, first)
    assert _verified(state) == {first.declaration_id: True}
    correction = envelope("energy")
    correction.declaration_id += "-fix"
    correction.submitted_at.CopyFrom(ts(2024, 3, 20))
    assert apply(state, correction)
    assert _verified(state) == {correction.declaration_id: False}
    assert not any(k.startswith("#verified|") for k in state)  # the old record went with it


# Bounds: months pruned, caps refused with the limit named, tombstones capped -------------------


def test_months_that_cannot_be_rated_any_more_are_pruned_and_too_old_ones_ignored() -> None:
    state: SupplierState = {}
    limits = Limits(keep_months=3)
    for month in (1, 2, 3):
        assert apply(state, envelope("energy", month=month), limits)
    assert apply(state, verification(envelope("energy", month=1)), limits)
    assert apply(state, envelope("circularity", month=1), limits)
    assert len(state) == 5
    assert apply(state, envelope("energy", month=5), limits)  # window end moves to May
    frame = declarations_frame({"sup-001": state})
    assert sorted(frame["period"].to_list()) == [2024 * 12 + 2, 2024 * 12 + 4]  # March, May
    assert not any(k.startswith("#verified|") for k in state)  # January's record went too
    assert apply(state, envelope("emissions", month=2), limits) is False  # outside: ignored
    assert apply(state, envelope("emissions", month=3), limits) is True


def test_only_emissions_or_energy_move_the_window_so_nothing_rateable_is_pruned() -> None:
    state: SupplierState = {}
    limits = Limits(keep_months=2)
    assert apply(state, envelope("energy", month=1), limits)
    assert apply(state, envelope("circularity", month=6), limits)  # does not end the window
    assert len(declarations_frame({"sup-001": state})) == 2


def test_a_supplier_past_the_declarations_cap_is_refused_with_the_limit_named() -> None:
    state: SupplierState = {}
    limits = Limits(max_declarations=3)
    for month in (1, 2, 3):
        assert apply(state, envelope("energy", month=month), limits)
    before = dict(state)
    with pytest.raises(OverCap, match="GREENCHAIN_SUPPLIER_MAX_DECLARATIONS=3"):
        apply(state, envelope("emissions", month=3), limits)
    assert state == before
    # a correction of a kept declaration is no new entry: still accepted
    correction = envelope("energy", month=3)
    correction.declaration_id += "-fix"
    correction.submitted_at.CopyFrom(ts(2024, 3, 20))
    assert apply(state, correction, limits)


def test_a_supplier_past_the_products_cap_is_refused_with_the_limit_named() -> None:
    state: SupplierState = {}
    limits = Limits(max_products=2)
    assert apply(state, _footprint("pf-1", 3, "P-1"), limits)
    assert apply(state, _footprint("pf-2", 3, "P-2"), limits)
    assert apply(state, _footprint("pf-3", 2, "P-2"), limits)  # a known product: fine
    with pytest.raises(OverCap, match="GREENCHAIN_SUPPLIER_MAX_PRODUCTS=2"):
        apply(state, _footprint("pf-4", 3, "P-3"), limits)
    # a successor that is refused leaves its predecessor in place (P-2 stays: pf-3)
    successor = _footprint("pf-5", 3, "P-3")
    successor.product_footprint.preceding_pact_footprint_ids.append("pf-2")
    before = dict(state)
    with pytest.raises(OverCap):
        apply(state, successor, limits)
    assert state == before
    # one that replaces a whole product frees its place
    successor.product_footprint.preceding_pact_footprint_ids[:] = ["pf-1"]
    assert apply(state, successor, limits)


def test_the_oldest_tombstones_are_forgotten_past_their_cap() -> None:
    state: SupplierState = {}
    limits = Limits(max_tombstones=2)
    for i in range(4):
        notice = _footprint(f"pf-{i}", 3)
        notice.product_footprint.pact_deprecated = True
        notice.submitted_at.CopyFrom(ts(2024, 3, 10 + i))
        assert apply(state, notice, limits)
    assert sorted(k for k in state if k.startswith("#withdrawn|")) == [
        "#withdrawn|pf-2",
        "#withdrawn|pf-3",
    ]


LONG_FLOAT = 2.2250738585072014e-308  # as long as an accepted (non-negative) double gets in JSON


def _largest(kind: str, i: int) -> d.Declaration:
    """A declaration whose every stored string is as long as ingest allows."""
    site = f"{i:04d}".ljust(128, "s")
    decl = envelope(kind, site=site, month=1 + i % 12, year=2023 + i // 12 % 2)
    decl.declaration_id = f"{i:04d}".ljust(128, "d")
    decl.submitted_at.nanos = 123_456_789
    body = getattr(decl, kind)
    for field in body.DESCRIPTOR.fields:
        if field.type == field.TYPE_DOUBLE:
            setattr(body, field.name, LONG_FLOAT)
    if kind == "energy":
        body.grid_region = "g" * 64
    if kind == "product_footprint":
        body.product_id = f"{i % Limits().max_products:04d}".ljust(128, "p")
        body.pact_footprint_id = f"{i:04d}".ljust(128, "f")
    return decl


def test_the_worst_case_state_at_the_default_caps_stays_far_below_kafkas_message_limit() -> None:
    limits = Limits()
    # the kind whose entry is largest fills the declarations cap
    sizes = {}
    for kind in ("emissions", "energy", "circularity", "product_footprint"):
        one: SupplierState = {}
        apply(one, _largest(kind, 0), limits)
        sizes[kind] = len(json.dumps(one))
    kind = max(sizes, key=sizes.__getitem__)
    state: SupplierState = {}
    for i in range(limits.max_declarations):
        decl = _largest(kind, i)
        assert apply(state, decl, limits)
        assert apply(state, verification(decl), limits)
    with pytest.raises(OverCap):
        apply(state, _largest(kind, limits.max_declarations), limits)
    for i in range(limits.max_tombstones + 10):
        notice = _largest("product_footprint", 10_000 + i)
        notice.product_footprint.pact_deprecated = True
        apply(state, notice, limits)
    assert sum(1 for k in state if k.startswith("#withdrawn|")) == limits.max_tombstones
    size = len(json.dumps(state).encode())
    print(f"worst-case state at the default caps: {size} bytes")
    assert size < 512 * 1024, f"{size} bytes in the worst case at the default caps"


# One read per supplier and batch: Holding keeps what apply() reads of a state -----------------


def _history(seed: int) -> list[d.Declaration]:
    """Declarations of one supplier in an adversarial order: corrections, replays, PACT
    footprints superseded and withdrawn (one with the product id ``energy``), verifications."""
    rng = random.Random(seed)
    out: list[d.Declaration] = []
    for _ in range(40):
        year, month = rng.choice([2023, 2024, 2025]), rng.randint(1, 12)
        kind = rng.choice(["energy", "emissions", "circularity", "product_footprint", "offsets"])
        decl = envelope(kind, year=year, month=month, site=rng.choice(["s1", "s2"]))
        decl.declaration_id += f"-{rng.randint(0, 2)}"
        decl.submitted_at.CopyFrom(ts(year, month, rng.randint(1, 28)))
        if kind == "product_footprint":
            body = decl.product_footprint
            body.product_id = rng.choice(["P-1", "P-2", "energy"])
            body.pact_footprint_id = f"pf-{rng.randint(0, 4)}"
            body.pact_deprecated = rng.random() < 0.2
            if rng.random() < 0.3:
                body.preceding_pact_footprint_ids.append(f"pf-{rng.randint(0, 4)}")
        out.append(decl)
        if rng.random() < 0.3:
            out.append(verification(rng.choice([o for o in out if o.HasField("period")])))
    return out


def _outcome(apply_to: Callable[[d.Declaration], bool], decl: d.Declaration) -> bool | str:
    try:
        return apply_to(decl)
    except OverCap as exc:
        return str(exc)


@pytest.mark.parametrize("seed", range(40))
def test_a_holding_applies_like_apply_and_keeps_its_counts_true(seed: int) -> None:
    limits = Limits(keep_months=4, max_declarations=6, max_products=2, max_tombstones=2)
    one_by_one: SupplierState = {}
    held = Holding({}, limits)
    for decl in _history(seed):
        assert _outcome(lambda d: apply(one_by_one, d, limits), decl) == _outcome(held.apply, decl)
        assert held.state == one_by_one
        fresh = Holding(dict(held.state), limits)  # what a new read of the state finds
        assert (held.anchor, held.rows, held.products, held.verified, held.tombstones) == (
            fresh.anchor,
            fresh.rows,
            fresh.products,
            fresh.verified,
            fresh.tombstones,
        )
        assert held.oldest is None or fresh.oldest is None or held.oldest <= fresh.oldest


def test_a_row_stored_before_compaction_reads_like_a_compact_one() -> None:
    state: SupplierState = {}
    energy, footprint = envelope("energy"), _footprint("pf-1", 3)
    for decl in (energy, footprint, verification(energy)):
        assert apply(state, decl)
    compact = declarations_frame({"sup-001": state})
    legacy = {
        key: {**entry, "row": model_row(decl)}
        for decl in (energy, footprint)
        for key, entry in state.items()
        if entry.get("id") == decl.declaration_id and "row" in entry
    }
    old_form = {**state, **legacy}
    assert declarations_frame({"sup-001": old_form}).equals(compact)
    assert compact["verified"].to_list() == [True, False]
    assert compact["product_id"].to_list() == [None, "P-100"]


def _frame_row_by_row(states: dict[str, SupplierState]) -> pl.DataFrame:
    """declarations_frame's meaning, one entry at a time (the plain form it must equal)."""
    rows = []
    for sid, state in states.items():
        for key, entry in state.items():
            if not entry.get("row"):
                continue
            site, month, kind, *product = key.split("|")
            year, mm = month.split("-")
            stored = entry["row"]
            if isinstance(stored, dict):
                stored = [stored.get(name) for name in _STORED[kind]]
            rows.append(
                {
                    "supplier_id": sid,
                    "site_id": site,
                    "period": int(year) * 12 + int(mm) - 1,
                    "kind": kind,
                    "declaration_id": entry["id"],
                    "verified": VERIFIED + entry["id"] in state,
                    "product_id": product[0] if product else None,
                    **dict(zip(_STORED[kind], stored, strict=True)),
                }
            )
    return pl.DataFrame(rows, schema=DECLARATION_SCHEMA)


def test_the_declarations_frame_is_the_states_entries_in_order() -> None:
    states: dict[str, SupplierState] = {"empty": {}}
    for seed in range(8):
        held = Holding({}, Limits(keep_months=6, max_declarations=10))
        for decl in _history(seed):
            _outcome(held.apply, decl)
        states[f"sup-{seed}"] = held.state
    legacy = states["sup-0"]
    key = next(k for k, e in legacy.items() if e.get("row"))
    kind = key.split("|")[2]
    legacy[key] = {**legacy[key], "row": dict(zip(_STORED[kind], legacy[key]["row"], strict=True))}
    states["only-records"] = {k: e for k, e in states["sup-1"].items() if k.startswith("#")}
    expected = _frame_row_by_row(states)
    assert expected["verified"].any() and expected["product_id"].is_not_null().any()
    assert declarations_frame(states).equals(expected)
    assert declarations_frame({"empty": {}}).equals(pl.DataFrame(schema=DECLARATION_SCHEMA))


@pytest.mark.parametrize("window_months", [1, 3, 12])
def test_a_windowed_frame_holds_the_rows_a_rating_reads_in_the_same_order(
    window_months: int,
) -> None:
    states: dict[str, SupplierState] = {}
    for seed in range(8):
        held = Holding({}, Limits(keep_months=24, max_declarations=40))
        for decl in _history(seed):
            _outcome(held.apply, decl)
        states[f"sup-{seed}"] = held.state
    # a supplier with no emissions or energy: its window ends with its latest month
    states["no-window-kind"] = {
        k: e for k, e in states["sup-0"].items() if k.split("|")[2:3] == ["circularity"]
    }
    full = declarations_frame(states)
    windowed = declarations_frame(states, window_months)
    rated = {(sid, i) for sid, state in states.items() for i in rated_ids(state, window_months)}
    assert 0 < windowed.height < full.height
    assert windowed.equals(
        full.filter(
            pl.struct("supplier_id", "declaration_id").map_elements(
                lambda r: (r["supplier_id"], r["declaration_id"]) in rated,
                return_dtype=pl.Boolean,
            )
        )
    )
