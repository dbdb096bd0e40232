"""Per-supplier declaration state: supersede by key, ignore duplicates; rows for the model.

The state of one supplier is a dict ``key -> entry`` where key = site|period|kind[|product] and
entry = {"id", "submitted", "row"} (+ "pact": the PACT footprint id of a product footprint); it
is what the faust table stores (JSON) per supplier id.

PACT lifecycle: a product footprint that is ``pact_deprecated``, or named in a later footprint's
``preceding_pact_footprint_ids``, is withdrawn: its entries are dropped wherever they are (the
successor may be for another month or product id) and a tombstone ``#withdrawn|<pact id>``
(no row) keeps a replayed or re-sent copy of it from coming back.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from greenchain.scoring.model import DECLARATION_SCHEMA
from greenchain.v1 import declaration_pb2 as d

Entry = dict[str, Any]
SupplierState = dict[str, Entry]

_BODY_FIELDS = {
    "emissions": ("scope1_tco2e", "scope2_market_tco2e", "output_value_cny"),
    "energy": (
        "electricity_kwh",
        "natural_gas_m3",
        "coal_t",
        "gasoline_t",
        "diesel_t",
        "fuel_oil_t",
        "oil_products_t",
        "purchased_heat_gj",
    ),
    # pollutant fields have presence: an absent one stays null (not declared), not 0
    "circularity": tuple(f.name for f in d.CircularityBody.DESCRIPTOR.fields),
    "product_footprint": ("primary_data_share", "output_value_share"),
    "offsets": (),  # summed by kind below
    "carbon_management": (),  # booleans below
}


class Unacceptable(ValueError):
    """A decodable record that cannot be rated (goes to the DLQ with this reason)."""


def state_key(decl: d.Declaration) -> str:
    kind = decl.WhichOneof("body") or ""
    key = f"{decl.site_id}|{decl.period.year:04d}-{decl.period.month:02d}|{kind}"
    if kind == "product_footprint":  # several products per site and month
        key += f"|{decl.product_footprint.product_id}"
    return key


def model_row(decl: d.Declaration) -> dict[str, Any]:
    """The declaration as one row of the model's DECLARATION_SCHEMA."""
    kind = decl.WhichOneof("body")
    if kind is None or not decl.supplier_id or not decl.declaration_id:
        raise Unacceptable("declaration without supplier_id, declaration_id or body")
    if not 1 <= decl.period.month <= 12:
        raise Unacceptable(f"bad period {decl.period.year}-{decl.period.month}")
    body = getattr(decl, kind)
    row: dict[str, Any] = {
        "supplier_id": decl.supplier_id,
        "site_id": decl.site_id,
        "period": decl.period.year * 12 + decl.period.month - 1,
        "kind": kind,
        "declaration_id": decl.declaration_id,
        "verified": decl.assurance.level == d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED,
    }
    for name in _BODY_FIELDS[kind]:
        field = body.DESCRIPTOR.fields_by_name[name]
        if field.has_presence and not body.HasField(name):
            continue
        row[name] = float(getattr(body, name))
    if kind == "energy":
        row["market_renewable_kwh"] = body.renewable_certificates_kwh + body.renewable_ppa_kwh
        row["renewable_kwh"] = body.renewable_onsite_kwh + row["market_renewable_kwh"]
        row["grid_region"] = body.grid_region or None
    if kind == "product_footprint":
        row["product_id"] = body.product_id
        if body.primary_data_share_absent:  # no share declared: no primary-data credit
            row["primary_data_share"] = 0.0
    if kind == "offsets":
        quantity = {d.OFFSET_KIND_CCER: 0.0, d.OFFSET_KIND_GREEN_CERTIFICATE: 0.0}
        for retirement in body.retirements:
            if retirement.kind not in quantity:
                raise Unacceptable(f"offset retirement of unknown kind {retirement.kind}")
            quantity[retirement.kind] += retirement.quantity
        row["offset_ccer_tco2e"] = quantity[d.OFFSET_KIND_CCER]
        row["offset_certificates_mwh"] = quantity[d.OFFSET_KIND_GREEN_CERTIFICATE]
    if kind == "carbon_management":
        row["accounting_system"] = body.accounting_system
        row["disclosure_published"] = body.disclosure_published
    return row


WITHDRAWN = "#withdrawn|"  # "#" is not allowed in site ids: no clash with state_key


def _withdraw(state: SupplierState, pact_ids: set[str], decl: d.Declaration) -> bool:
    """Drops the entries of these PACT footprints and tombstones them; True if anything changed."""
    changed = False
    for key in [k for k, e in state.items() if e.get("pact") in pact_ids]:
        del state[key]
        changed = True
    submitted = decl.submitted_at.seconds + decl.submitted_at.nanos / 1e9
    for pact_id in pact_ids:
        if WITHDRAWN + pact_id not in state:
            state[WITHDRAWN + pact_id] = {"id": decl.declaration_id, "submitted": submitted}
            changed = True
    return changed


def apply(state: SupplierState, decl: d.Declaration) -> bool:
    """Applies ``decl`` to ``state`` in place; False when it changes nothing (a duplicate, older
    than the declaration already held for its key, or a footprint already withdrawn)."""
    pact_id, changed = "", False
    if decl.WhichOneof("body") == "product_footprint":
        body = decl.product_footprint
        pact_id = body.pact_footprint_id
        if body.pact_deprecated:  # a withdrawal, never current figures
            return _withdraw(state, {pact_id} if pact_id else set(), decl)
        changed = _withdraw(state, set(body.preceding_pact_footprint_ids) - {""}, decl)
        if pact_id and WITHDRAWN + pact_id in state:
            return changed  # deprecated or superseded already: a late copy changes nothing
    return _apply(state, decl, pact_id) or changed


def _apply(state: SupplierState, decl: d.Declaration, pact_id: str) -> bool:
    key = state_key(decl)
    current = state.get(key)
    submitted = decl.submitted_at.seconds + decl.submitted_at.nanos / 1e9
    if current is not None:
        if current["id"] == decl.declaration_id:
            return False  # duplicate
        if (submitted, decl.declaration_id) < (current["submitted"], current["id"]):
            return False  # a replay of an older version: the later declaration stands
    entry: Entry = {"id": decl.declaration_id, "submitted": submitted, "row": model_row(decl)}
    if pact_id:
        entry["pact"] = pact_id
    state[key] = entry
    return True


def declarations_frame(states: dict[str, SupplierState]) -> pl.DataFrame:
    """The model's input frame for the given suppliers' states."""
    rows = [e["row"] for state in states.values() for e in state.values() if e.get("row")]
    return pl.DataFrame(rows, schema=DECLARATION_SCHEMA)
