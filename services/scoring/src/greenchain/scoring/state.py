"""Per-supplier declaration state: supersede by key, ignore duplicates; rows for the model.

The state of one supplier is a dict ``key -> entry`` where key = site|period|kind[|product] and
entry = {"id", "submitted", "p", "row"} (+ "pact": the PACT footprint id of a product
footprint); it is what the faust table stores (JSON) per supplier id. "p" is the period (months
since year 0); "row" is the model row without what the key, the entry and the supplier id say
(:func:`declarations_frame` puts it back) as a list in the order of ``_STORED[kind]``, to keep
the value small.

Verification: ``#verified|<declaration id>`` -> {"submitted", "p"} records that a verifier
principal verified that declaration (a Verification record, written only by ingest's
VerifyDeclaration). A row counts as verified only with such a record: a supplier's own
THIRD_PARTY_VERIFIED flag stays self-declared. A correction (a new declaration id) is not
verified until it has a record of its own; the superseded one's record is dropped.

Bounds (:class:`Limits`, docs/methodology.md "Bounded state"): only what can still be rated is
kept, i.e. the ``keep_months`` months back from the supplier's latest emissions or energy month
(the month that ends its rating window; it never moves back); an older declaration changes
nothing. A new declaration past ``max_declarations`` or a new product past ``max_products`` is
refused (:class:`OverCap`: the worker dead-letters it with the limit named); the oldest
withdrawal tombstones past ``max_tombstones`` are forgotten. So a supplier's table value stays far
below Kafka's 1 MB message limit (tests/test_state.py checks the worst case at the defaults).

PACT lifecycle: a product footprint that is ``pact_deprecated``, or named in a later footprint's
``preceding_pact_footprint_ids``, is withdrawn: its entries are dropped wherever they are (the
successor may be for another month or product id) and a tombstone ``#withdrawn|<pact id>``
(no row) keeps a replayed or re-sent copy of it from coming back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from greenchain.common.config import Settings
from greenchain.scoring.model import DECLARATION_SCHEMA
from greenchain.scoring.model.rating import WINDOW_KINDS
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


class OverCap(Unacceptable):
    """A declaration that would take its supplier's state past a limit (the reason names it)."""


@dataclass(frozen=True)
class Limits:
    """How much one supplier's state may hold (defaults: those of :class:`Settings`)."""

    keep_months: int = Settings.scoring_keep_months
    max_declarations: int = Settings.supplier_max_declarations
    max_products: int = Settings.supplier_max_products
    max_tombstones: int = Settings.supplier_max_tombstones

    @classmethod
    def from_settings(cls, settings: Settings, window_months: int) -> Limits:
        """The configured limits; kept months fewer than the rating window is an error."""
        if settings.scoring_keep_months < window_months:
            raise ValueError(
                f"GREENCHAIN_SCORING_KEEP_MONTHS={settings.scoring_keep_months} is shorter than "
                f"the methodology's window of {window_months} months"
            )
        return cls(
            settings.scoring_keep_months,
            settings.supplier_max_declarations,
            settings.supplier_max_products,
            settings.supplier_max_tombstones,
        )


VERIFIED = "#verified|"  # "#" is not allowed in site ids: no clash with state_key


def state_key(decl: d.Declaration) -> str:
    kind = decl.WhichOneof("body") or ""
    key = f"{decl.site_id}|{decl.period.year:04d}-{decl.period.month:02d}|{kind}"
    if kind == "product_footprint":  # several products per site and month
        key += f"|{decl.product_footprint.product_id}"
    return key


def _period(decl: d.Declaration) -> int:
    return decl.period.year * 12 + decl.period.month - 1


def _submitted(decl: d.Declaration) -> float:
    return decl.submitted_at.seconds + decl.submitted_at.nanos / 1e9


def check(decl: d.Declaration) -> None:
    """Raises :class:`Unacceptable` when ``decl`` (a declaration or a verification) cannot be
    applied."""
    if decl.WhichOneof("body") == "verification":
        if not decl.supplier_id or not decl.declaration_id or not 1 <= decl.period.month <= 12:
            raise Unacceptable("verification without supplier_id, declaration_id or period")
        if not decl.verification.recorded_by:
            raise Unacceptable("verification without the principal that recorded it")
    else:
        model_row(decl)


def model_row(decl: d.Declaration) -> dict[str, Any]:
    """The declaration as one row of the model's DECLARATION_SCHEMA. ``verified`` is False:
    the supplier's own assurance level is a claim (see :func:`declarations_frame`)."""
    kind = decl.WhichOneof("body")
    if kind is None or kind == "verification" or not decl.supplier_id or not decl.declaration_id:
        raise Unacceptable("declaration without supplier_id, declaration_id or body")
    if not 1 <= decl.period.month <= 12:
        raise Unacceptable(f"bad period {decl.period.year}-{decl.period.month}")
    body = getattr(decl, kind)
    row: dict[str, Any] = {
        "supplier_id": decl.supplier_id,
        "site_id": decl.site_id,
        "period": _period(decl),
        "kind": kind,
        "declaration_id": decl.declaration_id,
        "verified": False,
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

_STORED = {
    **{kind: names for kind, names in _BODY_FIELDS.items() if names},
    "energy": (*_BODY_FIELDS["energy"], "market_renewable_kwh", "renewable_kwh", "grid_region"),
    "offsets": ("offset_ccer_tco2e", "offset_certificates_mwh"),
    "carbon_management": ("accounting_system", "disclosure_published"),
}
"""The row values stored per kind, in this order (null = absent); the rest (supplier, site,
month, kind, id, product) the key, the entry and the supplier id say."""


def _entry_period(entry: Entry) -> int | None:
    """The entry's month (entries from before "p" carry it in their row; old tombstones none)."""
    if "p" in entry:
        return int(entry["p"])
    row = entry.get("row")
    return int(row["period"]) if isinstance(row, dict) and "period" in row else None


def _anchor(state: SupplierState) -> int | None:
    """The month that ends the supplier's rating window: its latest emissions or energy month."""
    months = [
        _entry_period(e)
        for k, e in state.items()
        if not k.startswith("#") and k.split("|", 3)[2] in WINDOW_KINDS
    ]
    return max((m for m in months if m is not None), default=None)


def _kept(anchor: int | None, period: int | None, limits: Limits) -> bool:
    return anchor is None or period is None or period > anchor - limits.keep_months


def _prune(state: SupplierState, limits: Limits) -> None:
    """Drops what can no longer be rated and the oldest tombstones past the cap."""
    anchor = _anchor(state)
    for key in [k for k, e in state.items() if not _kept(anchor, _entry_period(e), limits)]:
        del state[key]
    tombstones = sorted((e["submitted"], k) for k, e in state.items() if k.startswith(WITHDRAWN))
    for _, key in tombstones[: max(0, len(tombstones) - limits.max_tombstones)]:
        del state[key]


def _withdraw(state: SupplierState, pact_ids: set[str], decl: d.Declaration) -> bool:
    """Drops the entries of these PACT footprints and tombstones them; True if anything changed."""
    changed = False
    for key in [k for k, e in state.items() if e.get("pact") in pact_ids]:
        state.pop(VERIFIED + state.pop(key)["id"], None)
        changed = True
    for pact_id in pact_ids:
        if WITHDRAWN + pact_id not in state:
            state[WITHDRAWN + pact_id] = {
                "id": decl.declaration_id,
                "submitted": _submitted(decl),
                "p": _period(decl),
            }
            changed = True
    return changed


def apply(state: SupplierState, decl: d.Declaration, limits: Limits | None = None) -> bool:
    """Applies ``decl`` (a declaration or a verification) to ``state`` in place; False when it
    changes nothing (a duplicate, older than the declaration already held for its key, a
    footprint already withdrawn, or a month too old to be rated). With ``limits``, raises
    :class:`OverCap` (state unchanged) when it would take the supplier past a cap."""
    limits = limits or Limits()
    if decl.WhichOneof("body") == "verification":
        changed = _verify(state, decl, limits)
    elif decl.product_footprint.preceding_pact_footprint_ids:
        # withdraws before its own entry is checked against the caps: undone if refused
        # (entries are replaced, never changed in place: a shallow copy is a snapshot)
        before = dict(state)
        try:
            changed = _declare(state, decl, limits)
        except OverCap:
            state.clear()
            state.update(before)
            raise
    else:
        changed = _declare(state, decl, limits)
    if changed:
        _prune(state, limits)
    return changed


def _declare(state: SupplierState, decl: d.Declaration, limits: Limits) -> bool:
    pact_id, changed = "", False
    if decl.WhichOneof("body") == "product_footprint":
        body = decl.product_footprint
        pact_id = body.pact_footprint_id
        if body.pact_deprecated:  # a withdrawal, never current figures
            return _withdraw(state, {pact_id} if pact_id else set(), decl)
        changed = _withdraw(state, set(body.preceding_pact_footprint_ids) - {""}, decl)
        if pact_id and WITHDRAWN + pact_id in state:
            return changed  # deprecated or superseded already: a late copy changes nothing
    return _apply(state, decl, pact_id, limits) or changed


def _caps(state: SupplierState, decl: d.Declaration, anchor: int | None, limits: Limits) -> None:
    """Raises OverCap when a new entry for ``decl`` would pass a cap (with ``anchor`` the window
    end it would give)."""
    kept = [
        k
        for k, e in state.items()
        if not k.startswith("#") and _kept(anchor, _entry_period(e), limits)
    ]
    who = f"supplier {decl.supplier_id!r}"
    if len(kept) >= limits.max_declarations:
        raise OverCap(
            f"{who} holds {len(kept)} declarations in its last {limits.keep_months} months: "
            f"limit GREENCHAIN_SUPPLIER_MAX_DECLARATIONS={limits.max_declarations}"
        )
    if decl.WhichOneof("body") == "product_footprint":
        products = {k.split("|", 3)[3] for k in kept if k.split("|", 3)[2] == "product_footprint"}
        product = decl.product_footprint.product_id
        if product not in products and len(products) >= limits.max_products:
            raise OverCap(
                f"{who} has footprints of {len(products)} products in its last "
                f"{limits.keep_months} months: limit GREENCHAIN_SUPPLIER_MAX_PRODUCTS="
                f"{limits.max_products}"
            )


def _apply(state: SupplierState, decl: d.Declaration, pact_id: str, limits: Limits) -> bool:
    key = state_key(decl)
    current = state.get(key)
    submitted, period = _submitted(decl), _period(decl)
    if current is not None:
        if current["id"] == decl.declaration_id:
            return False  # duplicate
        if (submitted, decl.declaration_id) < (current["submitted"], current["id"]):
            return False  # a replay of an older version: the later declaration stands
    anchor = _anchor(state)
    if decl.WhichOneof("body") in WINDOW_KINDS:
        anchor = period if anchor is None else max(anchor, period)
    if not _kept(anchor, period, limits):
        return False  # outside what can still be rated
    if current is None:
        _caps(state, decl, anchor, limits)
    full = model_row(decl)
    row = [full.get(name) for name in _STORED[str(full["kind"])]]
    entry: Entry = {"id": decl.declaration_id, "submitted": submitted, "p": period, "row": row}
    if pact_id:
        entry["pact"] = pact_id
    if current is not None:  # its verification was of the superseded figures
        state.pop(VERIFIED + current["id"], None)
    state[key] = entry
    return True


def _verify(state: SupplierState, decl: d.Declaration, limits: Limits) -> bool:
    key = VERIFIED + decl.declaration_id
    current = state.get(key)
    # who recorded it and the statement stay on the declarations topic; a rating needs only this
    entry: Entry = {"submitted": _submitted(decl), "p": _period(decl)}
    if current is not None and current["submitted"] >= entry["submitted"]:
        return False  # a duplicate or an older record: the declaration is verified already
    if not _kept(_anchor(state), entry["p"], limits):
        return False
    if current is None:
        records = sum(1 for k in state if k.startswith(VERIFIED))
        if records >= limits.max_declarations:
            raise OverCap(
                f"supplier {decl.supplier_id!r} holds {records} verification records: limit "
                f"GREENCHAIN_SUPPLIER_MAX_DECLARATIONS={limits.max_declarations}"
            )
    state[key] = entry
    return True


def _model_row(supplier_id: str, key: str, entry: Entry, state: SupplierState) -> dict[str, Any]:
    """The full model row of a stored entry (rows stored before compaction are already full)."""
    site, month, kind, *product = key.split("|", 3)
    year, _, number = month.partition("-")
    row: dict[str, Any] = {
        "supplier_id": supplier_id,
        "site_id": site,
        "period": int(year) * 12 + int(number) - 1,
        "kind": kind,
        "declaration_id": entry["id"],
    }
    if product:
        row["product_id"] = product[0]
    stored = entry["row"]
    if isinstance(stored, dict):  # stored before rows were compacted: complete
        row.update(stored)
    else:
        row.update(zip(_STORED[kind], stored, strict=True))
    row["verified"] = VERIFIED + entry["id"] in state  # only a verifier's record counts
    return row


def declarations_frame(states: dict[str, SupplierState]) -> pl.DataFrame:
    """The model's input frame for the given suppliers' states (supplier id -> state)."""
    rows = [
        _model_row(sid, key, entry, state)
        for sid, state in states.items()
        for key, entry in state.items()
        if entry.get("row")
    ]
    return pl.DataFrame(rows, schema=DECLARATION_SCHEMA)


def rated_ids(state: SupplierState, window_months: int) -> list[str]:
    """The ids of the declarations a rating of ``state`` uses: those in its rating window (the
    ``window_months`` months up to the latest emissions or energy month, else the latest
    month). For readers that follow provenance digests (the latency benchmark)."""
    rows = [
        (k.split("|", 3)[2], _entry_period(e), e["id"]) for k, e in state.items() if e.get("row")
    ]
    window = [p for kind, p, _ in rows if kind in WINDOW_KINDS and p is not None]
    end = max(window or [p for _, p, _ in rows if p is not None], default=None)
    if end is None:
        return []
    return sorted(i for _, p, i in rows if p is not None and end - window_months < p <= end)
