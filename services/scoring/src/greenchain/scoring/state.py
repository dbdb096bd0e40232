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

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Any, NamedTuple

import polars as pl

from greenchain.common.config import Settings
from greenchain.scoring.model import DECLARATION_SCHEMA
from greenchain.scoring.model.rating import WINDOW_KINDS
from greenchain.v1 import declaration_pb2 as d

Entry = dict[str, Any]
SupplierState = dict[str, Entry]
StoredRow = list[Any]
"""A declaration's model row as the state stores it (see the module's docstring)."""

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


def _presence(kind: str, names: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    body = d.Declaration.DESCRIPTOR.fields_by_name[kind].message_type
    assert body is not None  # every body is a message
    fields = [body.fields_by_name[name] for name in names]
    # doubles: read as Python floats already, the row takes them as they are
    if any(field.type != field.TYPE_DOUBLE for field in fields):
        raise TypeError(f"{kind}: every field read into the row must be a double")
    return tuple((field.name, field.has_presence) for field in fields)


_FIELD_PRESENCE = {kind: _presence(kind, names) for kind, names in _BODY_FIELDS.items()}
"""Per kind: each body field read into the row, and whether it has presence (absent = null)."""
_READ = {
    kind: (
        attrgetter(*names),
        tuple((i, name) for i, (name, presence) in enumerate(_FIELD_PRESENCE[kind]) if presence),
    )
    for kind, names in _BODY_FIELDS.items()
    if len(names) > 1
}
"""Per kind with body fields: a getter of their values, in order, in one call (one C call
instead of a Python step per field), and the (position, name) of those with presence, which
are null when absent."""


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


class Checked(NamedTuple):
    """A declaration that can be applied, as :func:`check` read it: everything
    :meth:`Holding.apply` needs of it, so the message's fields are read once (each read of a
    protobuf field builds a Python object)."""

    supplier_id: str
    kind: str
    key: str  # the state's key: site|YYYY-MM|kind[|product]
    declaration_id: str
    submitted: float  # seconds since the epoch
    period: int  # months since year 0
    row: StoredRow  # its stored_row


def state_key(decl: d.Declaration, kind: str | None = None) -> str:
    """The state's key of a declaration (``kind``: its body's, when already known); the
    worker's path has it from :func:`check`."""
    kind = kind or decl.WhichOneof("body") or ""
    period = decl.period
    key = f"{decl.site_id}|{period.year:04d}-{period.month:02d}|{kind}"
    if kind == "product_footprint":  # several products per site and month
        key += f"|{decl.product_footprint.product_id}"
    return key


_MONTH_TEXT: dict[int, str] = {}
"""Month (months since year 0) -> its "YYYY-MM" in keys: formatting it costs more than the
lookup. Filled as months come, up to :data:`_MONTH_TEXT_CACHED` of them."""
_MONTH_TEXT_CACHED = 2400


def _period(decl: d.Declaration) -> int:
    return decl.period.year * 12 + decl.period.month - 1


def _submitted(decl: d.Declaration) -> float:
    return decl.submitted_at.seconds + decl.submitted_at.nanos / 1e9


def check(decl: d.Declaration) -> Checked | None:
    """Raises :class:`Unacceptable` when ``decl`` (a declaration or a verification) cannot be
    applied; returns a declaration as :class:`Checked` (None for a verification), which
    :meth:`Holding.apply` then takes instead of reading the message again."""
    kind = decl.WhichOneof("body")
    if kind == "verification":
        if not decl.supplier_id or not decl.declaration_id or not 1 <= decl.period.month <= 12:
            raise Unacceptable("verification without supplier_id, declaration_id or period")
        if not decl.verification.recorded_by:
            raise Unacceptable("verification without the principal that recorded it")
        return None
    supplier_id, declaration_id = decl.supplier_id, decl.declaration_id
    if kind is None or not supplier_id or not declaration_id:
        raise Unacceptable("declaration without supplier_id, declaration_id or body")
    period = decl.period
    year, month = period.year, period.month
    if not 1 <= month <= 12:
        raise Unacceptable(f"bad period {year}-{month}")
    body = getattr(decl, kind)
    months = year * 12 + month - 1
    month_text = _MONTH_TEXT.get(months)
    if month_text is None:
        month_text = f"{year:04d}-{month:02d}"
        if len(_MONTH_TEXT) < _MONTH_TEXT_CACHED:
            _MONTH_TEXT[months] = month_text
    key = f"{decl.site_id}|{month_text}|{kind}"
    if kind == "product_footprint":  # several products per site and month
        key += f"|{body.product_id}"
    submitted = decl.submitted_at
    return Checked(
        supplier_id,
        kind,
        key,
        declaration_id,
        submitted.seconds + submitted.nanos / 1e9,
        months,
        _body_row(body, kind),
    )


def _rated_kind(decl: d.Declaration, kind: str | None = None) -> str:
    """The body kind of a declaration that can be rated (raises :class:`Unacceptable`);
    ``kind``: its body's, when already read."""
    kind = kind or decl.WhichOneof("body")
    if kind is None or kind == "verification" or not decl.supplier_id or not decl.declaration_id:
        raise Unacceptable("declaration without supplier_id, declaration_id or body")
    period = decl.period
    if not 1 <= period.month <= 12:
        raise Unacceptable(f"bad period {period.year}-{period.month}")
    return str(kind)


def _offset_quantities(body: d.OffsetsBody) -> tuple[float, float]:
    """(CCER tCO2e, green certificates MWh) retired; raises :class:`Unacceptable` on a kind
    the model does not know."""
    quantity = {d.OFFSET_KIND_CCER: 0.0, d.OFFSET_KIND_GREEN_CERTIFICATE: 0.0}
    for retirement in body.retirements:
        if retirement.kind not in quantity:
            raise Unacceptable(f"offset retirement of unknown kind {retirement.kind}")
        quantity[retirement.kind] += retirement.quantity
    return quantity[d.OFFSET_KIND_CCER], quantity[d.OFFSET_KIND_GREEN_CERTIFICATE]


def model_row(decl: d.Declaration) -> dict[str, Any]:
    """The declaration as one row of the model's DECLARATION_SCHEMA. ``verified`` is False:
    the supplier's own assurance level is a claim (see :func:`declarations_frame`)."""
    kind = _rated_kind(decl)
    period = decl.period
    body = getattr(decl, kind)
    row: dict[str, Any] = {
        "supplier_id": decl.supplier_id,
        "site_id": decl.site_id,
        "period": period.year * 12 + period.month - 1,
        "kind": kind,
        "declaration_id": decl.declaration_id,
        "verified": False,
    }
    for name, presence in _FIELD_PRESENCE[kind]:
        if presence and not body.HasField(name):
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
        row["offset_ccer_tco2e"], row["offset_certificates_mwh"] = _offset_quantities(body)
    if kind == "carbon_management":
        row["accounting_system"] = body.accounting_system
        row["disclosure_published"] = body.disclosure_published
    return row


def stored_row(decl: d.Declaration, kind: str | None = None) -> StoredRow:
    """What the state stores of a declaration's :func:`model_row`: its values in the order of
    ``_STORED[kind]`` (null = absent); ``kind``: its body's, when already read."""
    kind = _rated_kind(decl, kind)
    return _body_row(getattr(decl, kind), kind)


def _body_row(body: Any, kind: str) -> StoredRow:
    """:func:`stored_row` from the declaration's body, built straight from the message (no row
    dict: this runs for every declaration)."""
    if kind == "offsets":
        return list(_offset_quantities(body))
    if kind == "carbon_management":
        return [body.accounting_system, body.disclosure_published]
    read, presence = _READ[kind]
    row: StoredRow = list(read(body))  # doubles: floats already (see _presence)
    for i, name in presence:
        if not body.HasField(name):
            row[i] = None
    if kind == "energy":
        market = body.renewable_certificates_kwh + body.renewable_ppa_kwh
        row += [market, body.renewable_onsite_kwh + market, body.grid_region or None]
    elif kind == "product_footprint" and body.primary_data_share_absent:
        row[0] = 0.0  # primary_data_share: none declared, no primary-data credit
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


_WINDOW_SUFFIXES = tuple(f"|{kind}" for kind in WINDOW_KINDS)


def _kept(anchor: int | None, period: int | None, limits: Limits) -> bool:
    return anchor is None or period is None or period > anchor - limits.keep_months


def apply(state: SupplierState, decl: d.Declaration, limits: Limits | None = None) -> bool:
    """Applies ``decl`` (a declaration or a verification) to ``state`` in place; False when it
    changes nothing (a duplicate, older than the declaration already held for its key, a
    footprint already withdrawn, or a month too old to be rated). With ``limits``, raises
    :class:`OverCap` (state unchanged) when it would take the supplier past a cap.

    To apply several declarations to one state, :class:`Holding` reads the state once."""
    return Holding(state, limits).apply(decl)


def _withdraw(state: SupplierState, pact_ids: set[str], decl: d.Declaration) -> bool:
    """Drops the entries of these PACT footprints and tombstones them; True if anything changed."""
    if not pact_ids:
        return False
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


def _kept_rows(state: SupplierState, anchor: int | None, limits: Limits) -> list[str]:
    """The declaration keys of ``state`` still kept with ``anchor`` as the window end."""
    return [
        k
        for k, e in state.items()
        if not k.startswith("#") and _kept(anchor, _entry_period(e), limits)
    ]


class Holding:
    """One supplier's state, with what applying a declaration needs to know of it (window end,
    counts for the caps, the oldest month held) kept up to date as declarations are applied.

    :func:`apply` reads the whole state for every declaration; a Holding reads it once, so
    applying a supplier's declarations costs what they add, not what the state holds (the rare
    paths, PACT withdrawals and pruning, read it again). ``state`` is changed in place.
    """

    def __init__(self, state: SupplierState, limits: Limits | None = None) -> None:
        self.state = state
        self.limits = limits or Limits()
        self._recount()

    def _recount(self) -> None:
        """Reads the state: window end, counts and oldest month (one pass)."""
        # the window end: the latest emissions or energy month
        anchor: int | None = None
        oldest: int | None = None
        rows = verified = tombstones = 0
        products: dict[str, int] = {}
        for key, entry in self.state.items():
            month = entry["p"] if "p" in entry else _entry_period(entry)
            if month is not None and (oldest is None or month < oldest):
                oldest = month
            if key[0] == "#":
                if key.startswith(VERIFIED):
                    verified += 1
                elif key.startswith(WITHDRAWN):
                    tombstones += 1
                continue
            rows += 1
            if key.endswith(_WINDOW_SUFFIXES) and key.count("|") == 2:
                if month is not None and (anchor is None or month > anchor):
                    anchor = int(month)
            elif "|product_footprint|" in key:
                parts = key.split("|", 3)
                if parts[2] == "product_footprint":
                    products[parts[3]] = products.get(parts[3], 0) + 1
        self.anchor = anchor
        self.rows = rows  # declaration entries (not "#" records)
        self.products = products  # product id -> its footprint entries
        self.verified = verified  # verification records
        self.tombstones = tombstones
        self.oldest = oldest  # lowest month held: a lower bound once entries go

    def _all_kept(self, anchor: int | None) -> bool:
        """Every entry is kept with ``anchor`` as the window end (nothing to prune)."""
        return (
            anchor is None or self.oldest is None or self.oldest > anchor - self.limits.keep_months
        )

    def apply(self, decl: d.Declaration, checked: Checked | None = None) -> bool:
        """As :func:`apply`, on this holding's state; ``checked``: what :func:`check` returned
        for a declaration (None: a verification, or not checked yet)."""
        if checked is None and decl.WhichOneof("body") != "verification":
            checked = check(decl)
        if checked is None:
            changed = self._verify(decl)
        elif checked.kind != "product_footprint":
            changed = self._apply(decl, checked, "")
        elif decl.product_footprint.preceding_pact_footprint_ids:
            # withdraws before its own entry is checked against the caps: undone if refused
            # (entries are replaced, never changed in place: a shallow copy is a snapshot)
            before = dict(self.state)
            try:
                changed = self._declare_footprint(decl, checked)
            except OverCap:
                self.state.clear()
                self.state.update(before)
                self._recount()
                raise
        else:
            changed = self._declare_footprint(decl, checked)
        if changed and (
            not self._all_kept(self.anchor) or self.tombstones > self.limits.max_tombstones
        ):
            self._prune()
        return changed

    def _prune(self) -> None:
        """Drops what can no longer be rated and the oldest tombstones past the cap."""
        state, limits = self.state, self.limits
        for key in [
            k for k, e in state.items() if not _kept(self.anchor, _entry_period(e), limits)
        ]:
            del state[key]
        tombstones = sorted(
            (e["submitted"], k) for k, e in state.items() if k.startswith(WITHDRAWN)
        )
        for _, key in tombstones[: max(0, len(tombstones) - limits.max_tombstones)]:
            del state[key]
        self._recount()

    def _declare_footprint(self, decl: d.Declaration, checked: Checked) -> bool:
        """A product footprint: its PACT withdrawals first, then its entry."""
        body = decl.product_footprint
        pact_id = body.pact_footprint_id
        if body.pact_deprecated:  # a withdrawal, never current figures
            changed = _withdraw(self.state, {pact_id} if pact_id else set(), decl)
            if changed:
                self._recount()
            return changed
        changed = _withdraw(self.state, set(body.preceding_pact_footprint_ids) - {""}, decl)
        if changed:
            self._recount()
        if pact_id and WITHDRAWN + pact_id in self.state:
            return changed  # deprecated or superseded already: a late copy changes nothing
        return self._apply(decl, checked, pact_id) or changed

    def _caps(self, decl: d.Declaration, kind: str, anchor: int | None) -> None:
        """Raises OverCap when a new entry for ``decl`` would pass a cap (with ``anchor`` the
        window end it would give)."""
        limits = self.limits
        products: AbstractSet[str]
        if self._all_kept(anchor):
            kept, products = self.rows, self.products.keys()
        else:  # some entries would leave the window: count those that stay
            keys = _kept_rows(self.state, anchor, limits)
            kept = len(keys)
            products = {
                k.split("|", 3)[3] for k in keys if k.split("|", 3)[2] == "product_footprint"
            }
        if kept >= limits.max_declarations:
            raise OverCap(
                f"supplier {decl.supplier_id!r} holds {kept} declarations in its last "
                f"{limits.keep_months} months: "
                f"limit GREENCHAIN_SUPPLIER_MAX_DECLARATIONS={limits.max_declarations}"
            )
        if kind == "product_footprint":
            product = decl.product_footprint.product_id
            if product not in products and len(products) >= limits.max_products:
                raise OverCap(
                    f"supplier {decl.supplier_id!r} has footprints of {len(products)} products "
                    f"in its last {limits.keep_months} months: limit "
                    f"GREENCHAIN_SUPPLIER_MAX_PRODUCTS={limits.max_products}"
                )

    def _hold(self, month: int) -> None:
        if self.oldest is None or month < self.oldest:
            self.oldest = month

    def _apply(self, decl: d.Declaration, checked: Checked, pact_id: str) -> bool:
        """The declaration's entry (``decl`` is read only for a product footprint or a cap)."""
        state = self.state
        _, kind, key, declaration_id, submitted, period, row = checked
        current = state.get(key)
        if current is not None:
            if current["id"] == declaration_id:
                return False  # duplicate
            if (submitted, declaration_id) < (current["submitted"], current["id"]):
                return False  # a replay of an older version: the later declaration stands
        anchor, limits = self.anchor, self.limits
        if kind in WINDOW_KINDS:
            anchor = period if anchor is None else max(anchor, period)
        if anchor is not None and period <= anchor - limits.keep_months:
            return False  # outside what can still be rated (as _kept, inline: every declaration)
        # a new entry can only pass a cap when the counts of all entries are at it already
        if current is None and (
            self.rows >= limits.max_declarations
            or (kind == "product_footprint" and len(self.products) >= limits.max_products)
        ):
            self._caps(decl, kind, anchor)
        entry: Entry = {"id": declaration_id, "submitted": submitted, "p": period, "row": row}
        if pact_id:
            entry["pact"] = pact_id
        if current is not None:  # its verification was of the superseded figures
            if state.pop(VERIFIED + current["id"], None) is not None:
                self.verified -= 1
        else:
            self.rows += 1
            if kind == "product_footprint":
                product = decl.product_footprint.product_id
                self.products[product] = self.products.get(product, 0) + 1
        state[key] = entry
        self.anchor = anchor
        if self.oldest is None or period < self.oldest:
            self.oldest = period
        return True

    def _verify(self, decl: d.Declaration) -> bool:
        key = VERIFIED + decl.declaration_id
        current = self.state.get(key)
        # who recorded it and the statement stay on the declarations topic; a rating needs only
        # this
        entry: Entry = {"submitted": _submitted(decl), "p": _period(decl)}
        if current is not None and current["submitted"] >= entry["submitted"]:
            return False  # a duplicate or an older record: the declaration is verified already
        if not _kept(self.anchor, entry["p"], self.limits):
            return False
        if current is None:
            if self.verified >= self.limits.max_declarations:
                raise OverCap(
                    f"supplier {decl.supplier_id!r} holds {self.verified} verification records: "
                    f"limit GREENCHAIN_SUPPLIER_MAX_DECLARATIONS={self.limits.max_declarations}"
                )
            self.verified += 1
        self.state[key] = entry
        self._hold(entry["p"])
        return True


def declarations_frame(
    states: dict[str, SupplierState], window_months: int | None = None
) -> pl.DataFrame:
    """The model's input frame for the given suppliers' states (supplier id -> state); rows keep
    the order of the states. With ``window_months``, only the rows a rating with that window
    reads: those of each supplier's rating window (the months up to its latest emissions or
    energy month, else its latest month; :func:`rated_ids`), not the margin the state keeps
    beyond it, whose rows would be built only for the model to drop them.

    Built without a Python step per entry (this runs over every entry a rating reads): the
    states' keys, ids and rows are gathered by C-level list extends and maps, polars splits
    the keys into site, month, kind and product and finds the verified declarations, and each
    kind's rows are transposed into its value columns in one ``zip``."""
    sids: list[str] = []
    counts: list[int] = []
    keys: list[str] = []
    ids: list[Any] = []
    rows: list[Any] = []  # the stored row, or None (a verification record or a tombstone)
    for sid, state in states.items():
        if state:  # (an empty state would be a row of nulls once the supplier ids are repeated)
            sids.append(sid)
            counts.append(len(state))
            keys += state
            entries = state.values()
            ids += map(dict.get, entries, repeat("id"))
            rows += map(dict.get, entries, repeat("row"))
    if not keys:
        return pl.DataFrame(schema=DECLARATION_SCHEMA)
    held = pl.DataFrame(
        {"supplier_id": sids, "_n": counts}, schema={"supplier_id": pl.Utf8, "_n": pl.UInt32}
    ).select(pl.col("supplier_id").repeat_by("_n").explode())
    held = held.with_columns(
        _key=pl.Series(keys, dtype=pl.Utf8),
        declaration_id=pl.Series(ids, dtype=pl.Utf8),
        _row=pl.Series(list(map(bool, rows)), dtype=pl.Boolean),
    ).with_row_index("_order")
    # only a verifier's record counts (see the module's docstring)
    verifications = held.filter(pl.col("_key").str.starts_with(VERIFIED)).select(
        "supplier_id",
        declaration_id=pl.col("_key").str.slice(len(VERIFIED)),
        verified=pl.lit(True),
    )
    parts = pl.col("_key").str.splitn("|", 4)  # site|YYYY-MM|kind[|product]
    month = parts.struct.field("field_1").str.split_exact("-", 1)
    declared = (
        held.filter("_row")
        .join(
            verifications, on=["supplier_id", "declaration_id"], how="left", maintain_order="left"
        )
        .with_columns(
            pl.col("verified").fill_null(False),
            site_id=parts.struct.field("field_0"),
            period=(
                month.struct.field("field_0").cast(pl.Int32) * 12
                + month.struct.field("field_1").cast(pl.Int32)
                - 1
            ),
            kind=parts.struct.field("field_2"),
            product_id=parts.struct.field("field_3"),
        )
    )
    if window_months is not None:
        period = pl.col("period")
        end = pl.coalesce(period.filter(pl.col("kind").is_in(WINDOW_KINDS)).max(), period.max())
        end = end.over("supplier_id")
        declared = declared.filter((period > end - window_months) & (period <= end))
    if declared.is_empty():
        return pl.DataFrame(schema=DECLARATION_SCHEMA)
    values = []
    for kind, order in declared.group_by("kind").agg("_order").iter_rows():
        names = _STORED[kind]
        kind_rows = list(map(rows.__getitem__, order))
        if dict in set(map(type, kind_rows)):  # stored before rows were compacted: full rows
            kind_rows = [
                [row.get(name) for name in names] if isinstance(row, dict) else row
                for row in kind_rows
            ]
        data: dict[str, Any] = dict(zip(names, zip(*kind_rows, strict=True), strict=True))
        schema = {name: DECLARATION_SCHEMA[name] for name in names}
        values.append(pl.DataFrame(data, schema=schema).with_columns(_order=pl.Series(order)))
    frame = pl.concat(
        [declared, pl.concat(values, how="diagonal").sort("_order").drop("_order")],
        how="horizontal",
    )
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in DECLARATION_SCHEMA.items()
    )


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
