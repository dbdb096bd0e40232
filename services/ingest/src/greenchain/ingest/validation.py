"""Validation of declarations and registry entries: every problem, with its field path.

Pure functions (no I/O) so that the rules are testable one by one; the server turns the
violations into INVALID_ARGUMENT with google.rpc.BadRequest details.

Ids match their pattern as a whole string (``\\A...\\Z``: ``$`` would let ``"sup-001\\n"`` pass).

``submitted_at`` is bounded, so that back- or forward-dating cannot win the supersede order:
at most a day in the future (clock skew); not before the declared period's first day minus
``SUBMITTED_BEFORE_PERIOD_SLACK`` (a month's figures cannot be known before the month begins;
the slack covers the UTC+8 calendar of the suppliers); and never before January 1 of the year
``OLDEST_YEAR_SPAN`` years back (the oldest period accepted), whatever the period.

Text is Unicode NFC or is rejected, never normalised: a declaration may be signed by its
sender, and normalising would change the signed bytes; and two spellings of one name (or id)
would otherwise be two keys. Every string field of the message is checked (ids are ASCII by
their pattern, so always NFC); the violation names the field path.

Every string and every repeated field is bounded (:data:`MAX_TEXT`, :data:`MAX_ITEMS`, else
:data:`DEFAULT_MAX_TEXT` / :data:`DEFAULT_MAX_ITEMS`): what a declaration carries ends up in the
scoring service's per-supplier state, whose size must stay far below Kafka's message limit
(docs/methodology.md, "Bounded state"). The violation names the limit.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.common.grpc_server import Violation
from greenchain.ingest.designations import FIRST_LIST_YEAR, credit_code_problem
from greenchain.v1 import declaration_pb2 as d
from greenchain.v1 import ingest_pb2, supplier_pb2

ID_PATTERN = re.compile(r"\A[A-Za-z0-9._:\-]{1,128}\Z")
SUPPLIER_ID_PATTERN = re.compile(r"\A[A-Za-z0-9._:\-]{1,64}\Z")
SECTOR_PATTERN = re.compile(r"\AC(1[3-9]|[2-3][0-9]|4[0-3])\Z")  # GB/T 4754 manufacturing divisions
OLDEST_YEAR_SPAN = 10
"""Periods (and submissions) more than this many years back are rejected as absurdly old."""
SUBMITTED_BEFORE_PERIOD_SLACK = timedelta(days=1)
"""How long before its period's first day (00:00 UTC) a declaration may be stamped."""

# Largest plausible monthly value per site, per unit: far above any real factory, far below
# the float noise and unit mix-ups (kWh sent as Wh, CNY as fen) they are meant to catch.
MAX_MONTHLY = {
    "tco2e": 1e8,  # the largest steel plants emit ~1e7 t a year
    "kwh": 1e11,
    "m3": 1e10,
    "t": 1e9,
    "gj": 1e9,
    "cny": 1e12,
    "volume": 1e12,
}

POLLUTANT_FIELDS = ("so2_t", "nox_t", "particulates_t", "cod_t", "ammonia_nitrogen_t")
"""CircularityBody's pollutant discharges (optional: absent = not declared)."""

Registry = Mapping[str, supplier_pb2.Supplier]

DEFAULT_MAX_TEXT = 256
"""Characters of a string field not listed in :data:`MAX_TEXT`."""
MAX_TEXT = {
    # ids have their pattern (1..64 or 1..128 characters), checked on their own
    "declaration_id": 0,
    "supplier_id": 0,
    "site_id": 0,
    "source": 200,
    "assurance.verifier": 200,
    "assurance.statement_id": 128,
    "statement_id": 128,  # VerifyDeclarationRequest
    "verifier": 200,
    "emissions.production_unit": 32,
    "energy.grid_region": 64,
    "product_footprint.product_id": 128,
    "product_footprint.product_name": 256,
    "product_footprint.declared_unit": 64,
    "product_footprint.pact_footprint_id": 128,
    "product_footprint.pact_spec_version": 32,
    "product_footprint.preceding_pact_footprint_ids": 128,
    "offsets.retirements.serial_reference": 200,
    "offsets.retirements.registry": 200,
    "carbon_management.accounting_standard": 500,
    "carbon_management.disclosure_reference": 500,
}
"""Longest value (characters) per string field path (list indexes left out); 0 = an id with
its own pattern."""
DEFAULT_MAX_ITEMS = 100
"""Items of a repeated field not listed in :data:`MAX_ITEMS`."""
MAX_ITEMS = {
    "product_footprint.preceding_pact_footprint_ids": 20,
    "offsets.retirements": 100,
    "sites": 1000,
}
"""Most items per repeated field path."""
_INDEX = re.compile(r"\[\d+\]")


_STRING, _MESSAGE = FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE


@cache
def _has_text(descriptor: Descriptor | None) -> bool:
    """Whether messages of this type can hold a string (maps aside: none of text here)."""
    if descriptor is None or descriptor.GetOptions().map_entry:
        return False
    return any(
        f.type == _STRING or (f.type == _MESSAGE and _has_text(f.message_type))
        for f in descriptor.fields
    )


def _nfc(out: list[Violation], message: Message, prefix: str = "") -> None:
    """A violation for every string in ``message`` (recursively) that is not NFC. Runs for
    every declaration: numbers are skipped first, paths built only for a violation."""
    for field, value in message.ListFields():
        kind = field.type
        if kind == _STRING:
            texts = value if field.is_repeated else (value,)
            for i, text in enumerate(texts):
                if not text.isascii() and not unicodedata.is_normalized("NFC", text):
                    path = prefix + field.name
                    where = f"{path}[{i}]" if field.is_repeated else path
                    out.append((where, "must be Unicode NFC (normalise it before sending)"))
        elif kind == _MESSAGE:
            if not _has_text(field.message_type):
                continue
            path = prefix + field.name
            if field.is_repeated:
                for i, item in enumerate(value):
                    _nfc(out, item, f"{path}[{i}].")
            else:
                _nfc(out, value, path + ".")


def _bounds(out: list[Violation], message: Message, prefix: str = "") -> None:
    """A violation for every string longer, and every repeated field with more items, than its
    limit (recursively)."""
    for field, value in message.ListFields():
        path = prefix + field.name
        limit_path = _INDEX.sub("", path)
        if field.is_repeated:
            most = MAX_ITEMS.get(limit_path, DEFAULT_MAX_ITEMS)
            if len(value) > most:
                out.append((path, f"{len(value)} items; at most {most} (limit of {limit_path})"))
        items = list(value) if field.is_repeated else [value]
        for i, item in enumerate(items):
            where = f"{path}[{i}]" if field.is_repeated else path
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if field.message_type is not None and not field.message_type.GetOptions().map_entry:
                    _bounds(out, item, where + ".")
            elif field.type == FieldDescriptor.TYPE_STRING:
                longest = MAX_TEXT.get(limit_path, DEFAULT_MAX_TEXT)
                if longest and len(item) > longest:
                    what = f"{len(item)} characters; at most {longest}"
                    out.append((where, f"{what} (limit of {limit_path})"))


def _submitted_at(out: list[Violation], decl: d.Declaration, now: datetime) -> None:
    seconds = decl.submitted_at.seconds
    oldest = datetime(now.year - OLDEST_YEAR_SPAN, 1, 1, tzinfo=UTC)
    if seconds > now.timestamp() + 86_400:
        out.append(("submitted_at", "is more than a day in the future"))
    elif seconds < oldest.timestamp():
        out.append(("submitted_at", f"is before {oldest:%Y-%m-%d}: absurdly old"))
    elif (
        decl.HasField("period")
        and 1 <= decl.period.month <= 12
        and oldest.year <= decl.period.year <= now.year  # others: a period violation already
    ):
        begins = datetime(decl.period.year, decl.period.month, 1, tzinfo=UTC)
        if seconds < (begins - SUBMITTED_BEFORE_PERIOD_SLACK).timestamp():
            out.append(
                (
                    "submitted_at",
                    f"is before the declared period began ({begins:%Y-%m}; at most "
                    f"{SUBMITTED_BEFORE_PERIOD_SLACK} before is accepted)",
                )
            )


def _quantity(out: list[Violation], path: str, value: float, unit: str) -> None:
    if not math.isfinite(value):
        out.append((path, f"must be a finite number, got {value}"))
    elif value < 0:
        out.append((path, f"must not be negative, got {value}"))
    elif value > MAX_MONTHLY[unit]:
        out.append(
            (path, f"{value:g} is implausibly large (limit {MAX_MONTHLY[unit]:g}); check units")
        )


def _share(out: list[Violation], path: str, value: float) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        out.append((path, f"must be a share between 0 and 1, got {value}"))


def _not_more_than(
    out: list[Violation], part_path: str, part: float, whole_path: str, whole: float
) -> None:
    if math.isfinite(part) and math.isfinite(whole) and part > whole * (1 + 1e-9):
        out.append((part_path, f"{part:g} exceeds {whole_path} ({whole:g})"))


def _period(out: list[Violation], period: d.Period, now: datetime) -> None:
    if not 1 <= period.month <= 12:
        out.append(("period.month", f"must be 1..12, got {period.month}"))
        return
    if (period.year, period.month) > (now.year, now.month):
        out.append(("period", f"{period.year}-{period.month:02d} is in the future"))
    elif period.year < now.year - OLDEST_YEAR_SPAN:
        out.append(("period.year", f"{period.year} is more than {OLDEST_YEAR_SPAN} years ago"))


def _emissions(out: list[Violation], body: d.EmissionsBody) -> None:
    p = "emissions."
    _quantity(out, p + "scope1_tco2e", body.scope1_tco2e, "tco2e")
    _quantity(out, p + "scope2_location_tco2e", body.scope2_location_tco2e, "tco2e")
    _quantity(out, p + "scope2_market_tco2e", body.scope2_market_tco2e, "tco2e")
    if body.HasField("scope3_tco2e"):
        _quantity(out, p + "scope3_tco2e", body.scope3_tco2e, "tco2e")
    _quantity(out, p + "output_value_cny", body.output_value_cny, "cny")
    _quantity(out, p + "production_volume", body.production_volume, "volume")
    if body.production_volume > 0 and not body.production_unit.strip():
        out.append((p + "production_unit", "required when production_volume is set"))


def _energy(out: list[Violation], body: d.EnergyBody) -> None:
    p = "energy."
    for name, unit in (
        ("electricity_kwh", "kwh"),
        ("renewable_onsite_kwh", "kwh"),
        ("renewable_certificates_kwh", "kwh"),
        ("renewable_ppa_kwh", "kwh"),
        ("natural_gas_m3", "m3"),
        ("coal_t", "t"),
        ("gasoline_t", "t"),
        ("diesel_t", "t"),
        ("fuel_oil_t", "t"),
        ("oil_products_t", "t"),
        ("purchased_heat_gj", "gj"),
    ):
        _quantity(out, p + name, getattr(body, name), unit)
    renewable = body.renewable_onsite_kwh + body.renewable_certificates_kwh + body.renewable_ppa_kwh
    if math.isfinite(renewable) and renewable > body.electricity_kwh * (1 + 1e-9):
        # Name the largest part: the likeliest culprit (e.g. MWh sent as kWh).
        field = p + max(
            ("renewable_onsite_kwh", "renewable_certificates_kwh", "renewable_ppa_kwh"),
            key=lambda name: float(getattr(body, name)),
        )
        out.append(
            (
                field,
                f"renewable electricity ({renewable:g} kWh: on-site + certificates + PPA) exceeds "
                f"energy.electricity_kwh ({body.electricity_kwh:g} kWh)",
            )
        )


def _circularity(out: list[Violation], body: d.CircularityBody) -> None:
    p = "circularity."
    for name, unit in (
        ("raw_material_input_t", "t"),
        ("recycled_input_t", "t"),
        ("solid_waste_generated_t", "t"),
        ("solid_waste_utilised_t", "t"),
        ("hazardous_waste_t", "t"),
        ("water_withdrawn_m3", "m3"),
        ("water_reused_m3", "m3"),
    ):
        _quantity(out, p + name, getattr(body, name), unit)
    for name in POLLUTANT_FIELDS:  # optional: absent = not declared
        if body.HasField(name):
            _quantity(out, p + name, getattr(body, name), "t")
    _not_more_than(
        out,
        p + "recycled_input_t",
        body.recycled_input_t,
        p + "raw_material_input_t",
        body.raw_material_input_t,
    )
    _not_more_than(
        out,
        p + "solid_waste_utilised_t",
        body.solid_waste_utilised_t,
        p + "solid_waste_generated_t",
        body.solid_waste_generated_t,
    )
    _not_more_than(
        out,
        p + "water_reused_m3",
        body.water_reused_m3,
        p + "water_withdrawn_m3",
        body.water_withdrawn_m3,
    )


def _finite(out: list[Violation], path: str, value: float) -> None:
    if not math.isfinite(value):
        out.append((path, f"must be a finite number, got {value}"))


def _when(stamp: Timestamp) -> str:
    try:
        return stamp.ToJsonString()
    except ValueError:  # outside what RFC 3339 can write
        return f"{stamp.seconds} s since 1970"


def _pcf_quantities(out: list[Violation], body: d.ProductFootprintBody) -> None:
    """The PCF of the footprint's PACT version: 2.x (fields 20, 21) or 3.x (22, 23), never both.
    Connectors from before the split send only the legacy fields 5 and 6: still accepted."""
    p = "product_footprint."
    v2 = body.HasField("pcf_excluding_biogenic_emissions_kgco2e") or body.HasField(
        "pcf_including_biogenic_emissions_kgco2e"
    )
    v3 = body.HasField("pcf_excluding_biogenic_uptake_kgco2e") or body.HasField(
        "pcf_including_biogenic_uptake_kgco2e"
    )
    major = body.pact_spec_version.split(".", 1)[0]
    legacy = body.legacy_pcf_excluding_biogenic_kgco2e or body.legacy_pcf_including_biogenic_kgco2e
    if (v2 or v3) and legacy:
        field = (
            "legacy_pcf_excluding_biogenic_kgco2e"
            if body.legacy_pcf_excluding_biogenic_kgco2e
            else "legacy_pcf_including_biogenic_kgco2e"
        )
        out.append(
            (p + field, "only connectors from before the 2.x/3.x split set it; not with pcf_*")
        )
    if v2 and v3:
        out.append(
            (
                p + "pcf_excluding_biogenic_uptake_kgco2e",
                "PACT 2.x (biogenic emissions) and 3.x (biogenic uptake) quantities are mixed: "
                "a footprint sets only the pair of its version",
            )
        )
    elif v2 or (major == "2" and not legacy):
        if major == "3":
            out.append((p + "pcf_excluding_biogenic_emissions_kgco2e", "not a PACT 3.x quantity"))
        if not body.HasField("pcf_excluding_biogenic_emissions_kgco2e"):
            out.append(
                (p + "pcf_excluding_biogenic_emissions_kgco2e", "required for a PACT 2.x footprint")
            )
        else:
            _quantity(
                out,
                p + "pcf_excluding_biogenic_emissions_kgco2e",
                body.pcf_excluding_biogenic_emissions_kgco2e,
                "t",
            )
        # Biogenic withdrawal may make the including-biogenic figure negative.
        _finite(
            out,
            p + "pcf_including_biogenic_emissions_kgco2e",
            body.pcf_including_biogenic_emissions_kgco2e,
        )
    elif v3 or (major == "3" and not legacy):
        if major == "2":
            out.append((p + "pcf_excluding_biogenic_uptake_kgco2e", "not a PACT 2.x quantity"))
        for name in (
            "pcf_excluding_biogenic_uptake_kgco2e",
            "pcf_including_biogenic_uptake_kgco2e",
        ):
            if not body.HasField(name):
                out.append((p + name, "required for a PACT 3.x footprint"))
            else:
                _finite(out, p + name, getattr(body, name))
    else:  # a connector from before the split: the legacy fields
        _quantity(
            out,
            p + "legacy_pcf_excluding_biogenic_kgco2e",
            body.legacy_pcf_excluding_biogenic_kgco2e,
            "t",
        )
        _finite(
            out,
            p + "legacy_pcf_including_biogenic_kgco2e",
            body.legacy_pcf_including_biogenic_kgco2e,
        )


def _product_footprint(
    out: list[Violation], body: d.ProductFootprintBody, submitted: Timestamp | None
) -> None:
    p = "product_footprint."
    if not body.product_id.strip():
        out.append((p + "product_id", "required"))
    if not body.declared_unit.strip():
        out.append((p + "declared_unit", "required (e.g. kilogram, piece)"))
    if not math.isfinite(body.declared_unit_amount) or body.declared_unit_amount <= 0:
        out.append((p + "declared_unit_amount", "must be a positive number"))
    _pcf_quantities(out, body)
    _share(out, p + "primary_data_share", body.primary_data_share)
    if body.primary_data_share_absent and body.primary_data_share != 0:
        out.append((p + "primary_data_share", "must be 0 when primary_data_share_absent"))
    if (
        body.primary_data_share_absent
        and body.pact_spec_version.startswith("2.")
        and not body.HasField("dqi")
    ):
        out.append((p + "dqi", "PACT 2.x needs the dqi when there is no primary data share"))
    if body.HasField("dqi"):
        top = 3.0 if body.pact_spec_version.startswith("2.") else 5.0
        for fd, value in body.dqi.ListFields():
            if fd.name == "coverage_percent":
                if not math.isfinite(value) or not 0 <= value <= 100:
                    out.append((p + "dqi.coverage_percent", f"must be 0..100, got {value}"))
            elif not math.isfinite(value) or not 1 <= value <= top:
                out.append((p + "dqi." + fd.name, f"must be 1..{top:g}, got {value}"))
    _share(out, p + "output_value_share", body.output_value_share)
    start, end = body.reference_period_start, body.reference_period_end
    if not body.HasField("reference_period_start") or not body.HasField("reference_period_end"):
        out.append((p + "reference_period_start", "reference period start and end are required"))
    elif (start.seconds, start.nanos) >= (end.seconds, end.nanos):
        out.append((p + "reference_period_end", "must be after reference_period_start"))
    for i, preceding in enumerate(body.preceding_pact_footprint_ids):
        if not ID_PATTERN.match(preceding) or preceding == body.pact_footprint_id:
            out.append(
                (
                    f"{p}preceding_pact_footprint_ids[{i}]",
                    "a PACT footprint id (1..128 of A-Z a-z 0-9 . _ : -), not the footprint's own",
                )
            )
    if (body.pact_deprecated or body.preceding_pact_footprint_ids) and not ID_PATTERN.match(
        body.pact_footprint_id
    ):
        out.append((p + "pact_footprint_id", "required to deprecate or supersede footprints"))
    if (
        body.HasField("valid_until")
        and not body.pact_deprecated
        and submitted is not None
        and body.valid_until.seconds <= submitted.seconds
    ):
        out.append(
            (
                p + "valid_until",
                f"the footprint's validity ended ({_when(body.valid_until)}) before it "
                "was submitted: it is not current (send it only as pact_deprecated)",
            )
        )


BODIES = tuple(f.name for f in d.Declaration.DESCRIPTOR.oneofs_by_name["body"].fields)
DECLARED = tuple(b for b in BODIES if b != "verification")
"""The bodies a supplier declares (a verification is a verifier's record)."""
MAX_RETIREMENTS = MAX_ITEMS["offsets.retirements"]
OFFSET_UNITS = {d.OFFSET_KIND_CCER: "tco2e", d.OFFSET_KIND_GREEN_CERTIFICATE: "mwh"}


def _offsets(out: list[Violation], body: d.OffsetsBody, now: datetime) -> None:
    p = "offsets.retirements"
    if not body.retirements:  # the most: MAX_ITEMS
        out.append((p, f"1..{MAX_RETIREMENTS} retirements"))
    for i, retirement in enumerate(body.retirements[:MAX_RETIREMENTS]):
        q = f"{p}[{i}]."
        unit = OFFSET_UNITS.get(retirement.kind)
        if unit is None:
            out.append((q + "kind", "required: CCER or GREEN_CERTIFICATE"))
        else:
            # per site and month, as plausible as the emissions they offset (MWh as kWh / 1000)
            limit = "tco2e" if unit == "tco2e" else "kwh"
            value = retirement.quantity * (1000 if unit == "mwh" else 1)
            _quantity(out, q + "quantity", value, limit)
            if retirement.quantity <= 0 and math.isfinite(retirement.quantity):
                out.append((q + "quantity", "must be positive"))
        if not retirement.serial_reference.strip():
            out.append((q + "serial_reference", "required: serial numbers or the retirement id"))
        if not retirement.registry.strip():
            out.append((q + "registry", "required: where it was retired"))
        if not 2005 <= retirement.vintage_year <= now.year:
            out.append((q + "vintage_year", f"a year from 2005 to {now.year}"))


def _carbon_management(out: list[Violation], body: d.CarbonManagementBody) -> None:
    p = "carbon_management."
    if body.accounting_system and not body.accounting_standard.strip():
        out.append((p + "accounting_standard", "required with an accounting system"))
    if body.disclosure_published and not body.disclosure_reference.strip():
        out.append((p + "disclosure_reference", "required when the disclosure is published"))


def validate_declaration(
    decl: d.Declaration, registry: Registry | None, now: datetime | None = None
) -> list[Violation]:
    """Every violation in ``decl`` ([] = valid). ``registry`` None skips the registry checks."""
    now = now or datetime.now(UTC)
    out: list[Violation] = []
    if not ID_PATTERN.match(decl.declaration_id):
        out.append(("declaration_id", "required: 1..128 characters of A-Z a-z 0-9 . _ : -"))
    if not SUPPLIER_ID_PATTERN.match(decl.supplier_id):
        out.append(("supplier_id", "required: 1..64 characters of A-Z a-z 0-9 . _ : -"))
    elif registry is not None:
        supplier = registry.get(decl.supplier_id)
        if supplier is None:
            out.append(("supplier_id", f"unknown supplier {decl.supplier_id!r}; register it first"))
        elif decl.site_id not in {site.site_id for site in supplier.sites}:
            out.append(("site_id", f"{decl.site_id!r} is not a site of {decl.supplier_id!r}"))
    if not ID_PATTERN.match(decl.site_id):
        out.append(("site_id", "required: 1..128 characters of A-Z a-z 0-9 . _ : -"))
    if not decl.HasField("period"):
        out.append(("period", "required"))
    else:
        _period(out, decl.period, now)
    if not decl.HasField("submitted_at"):
        out.append(("submitted_at", "required"))
    else:
        _submitted_at(out, decl, now)
    if not decl.source.strip():
        out.append(("source", "required: the producing system, at most 200 characters"))
    level = decl.assurance.level
    if level not in (d.ASSURANCE_LEVEL_SELF_DECLARED, d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED):
        out.append(("assurance.level", "required: SELF_DECLARED or THIRD_PARTY_VERIFIED"))
    elif level == d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED and not decl.assurance.verifier.strip():
        out.append(("assurance.verifier", "required when the declaration is third-party verified"))
    kind = decl.WhichOneof("body")
    if kind is None:
        out.append(("body", f"one of {', '.join(DECLARED)} is required"))
    elif kind == "verification":
        out.append(("verification", "recorded only by a verifier, through VerifyDeclaration"))
    elif kind == "emissions":
        _emissions(out, decl.emissions)
    elif kind == "energy":
        _energy(out, decl.energy)
    elif kind == "circularity":
        _circularity(out, decl.circularity)
    elif kind == "product_footprint":
        submitted = decl.submitted_at if decl.HasField("submitted_at") else None
        _product_footprint(out, decl.product_footprint, submitted)
    elif kind == "offsets":
        _offsets(out, decl.offsets, now)
    else:
        _carbon_management(out, decl.carbon_management)
    _bounds(out, decl)
    _nfc(out, decl)
    return out


def validate_verification(
    request: ingest_pb2.VerifyDeclarationRequest, registry: Registry, now: datetime | None = None
) -> list[Violation]:
    """Every violation in a verifier's VerifyDeclaration request ([] = valid)."""
    now = now or datetime.now(UTC)
    out: list[Violation] = []
    if not ID_PATTERN.match(request.declaration_id):
        out.append(("declaration_id", "required: 1..128 characters of A-Z a-z 0-9 . _ : -"))
    if not SUPPLIER_ID_PATTERN.match(request.supplier_id):
        out.append(("supplier_id", "required: 1..64 characters of A-Z a-z 0-9 . _ : -"))
    elif (supplier := registry.get(request.supplier_id)) is None:
        out.append(("supplier_id", f"unknown supplier {request.supplier_id!r}"))
    elif request.site_id not in {site.site_id for site in supplier.sites}:
        out.append(("site_id", f"{request.site_id!r} is not a site of {request.supplier_id!r}"))
    if not request.HasField("period"):
        out.append(("period", "required: the verified declaration's month"))
    else:
        _period(out, request.period, now)
    if not request.verifier.strip():
        out.append(("verifier", "required: the verification body, as named in its statement"))
    if not request.statement_id.strip():
        out.append(("statement_id", "required: the verifier's statement or report number"))
    _bounds(out, request)
    _nfc(out, request)
    return out


def validate_supplier(supplier: supplier_pb2.Supplier) -> list[Violation]:
    """Every violation in a registry entry ([] = valid)."""
    out: list[Violation] = []
    if not SUPPLIER_ID_PATTERN.match(supplier.supplier_id):
        out.append(("supplier_id", "required: 1..64 characters of A-Z a-z 0-9 . _ : -"))
    if not supplier.name.strip():
        out.append(("name", "required"))
    if not SECTOR_PATTERN.match(supplier.sector_code):
        out.append(("sector_code", "a GB/T 4754 manufacturing division, C13..C43"))
    if not supplier.sites:
        out.append(("sites", "at least one site is required"))
    seen: set[str] = set()
    for i, site in enumerate(supplier.sites):
        if not ID_PATTERN.match(site.site_id) or site.site_id in seen:
            out.append((f"sites[{i}].site_id", "required and unique within the supplier"))
        seen.add(site.site_id)
        if not math.isfinite(site.land_area_m2) or site.land_area_m2 <= 0:
            out.append((f"sites[{i}].land_area_m2", "must be a positive area in m2"))
    for i, chain in enumerate(supplier.chain_ids):
        if not SUPPLIER_ID_PATTERN.match(chain):
            out.append((f"chain_ids[{i}]", "1..64 characters of A-Z a-z 0-9 . _ : -"))
    value = supplier.annual_output_value_cny
    if not math.isfinite(value) or value < 0 or value > 12 * MAX_MONTHLY["cny"]:
        out.append(("annual_output_value_cny", "must be a non-negative plausible CNY amount"))
    if supplier.credit_code and (problem := credit_code_problem(supplier.credit_code)):
        out.append(("credit_code", problem))
    for i, site in enumerate(supplier.sites):
        for kind in ("green_factory", "zero_carbon_factory"):
            if site.HasField(kind):
                _designation(out, f"sites[{i}].{kind}", getattr(site, kind))
    chains = set(supplier.chain_ids)
    for i, purchase in enumerate(supplier.purchases):
        if purchase.chain_id not in chains:
            out.append((f"purchases[{i}].chain_id", f"{purchase.chain_id!r} is not in chain_ids"))
        amount = purchase.annual_purchase_value_cny
        if not math.isfinite(amount) or amount < 0 or amount > 12 * MAX_MONTHLY["cny"]:
            out.append(
                (f"purchases[{i}].annual_purchase_value_cny", "a non-negative plausible CNY amount")
            )
    _bounds(out, supplier)
    _nfc(out, supplier)
    return out


def _designation(out: list[Violation], path: str, designation: supplier_pb2.Designation) -> None:
    if designation.level == supplier_pb2.DESIGNATION_LEVEL_UNSPECIFIED:
        out.append((path + ".level", "required: NATIONAL, PROVINCIAL or MUNICIPAL"))
    if designation.status == supplier_pb2.DESIGNATION_STATUS_UNSPECIFIED:
        out.append((path + ".status", "required: ACTIVE or REVOKED"))
    if not FIRST_LIST_YEAR <= designation.year <= datetime.now(UTC).year:
        out.append((path + ".year", f"must be a list year from {FIRST_LIST_YEAR}"))


def validate_chain(chain: supplier_pb2.Chain) -> list[Violation]:
    """Every violation in a chain leader entry ([] = valid)."""
    out: list[Violation] = []
    if not SUPPLIER_ID_PATTERN.match(chain.chain_id):
        out.append(("chain_id", "required: 1..64 characters of A-Z a-z 0-9 . _ : -"))
    if not chain.name.strip():
        out.append(("name", "required"))
    if chain.credit_code and (problem := credit_code_problem(chain.credit_code)):
        out.append(("credit_code", problem))
    if chain.HasField("green_supply_chain"):
        _designation(out, "green_supply_chain", chain.green_supply_chain)
    _bounds(out, chain)
    _nfc(out, chain)
    return out
