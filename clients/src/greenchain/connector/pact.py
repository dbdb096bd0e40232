"""PACT ProductFootprint documents (Technical Specifications 2.x and 3.x) -> declarations.

Sources this module follows (repositories of github.com/wbcsd, read for it):

- 2.x: ``data-exchange-protocol`` spec/v2/index.bs (Tech Specs 2.2: data types ProductFootprint,
  CarbonFootprint, DataQualityIndicators, Assurance; section "Product Footprint Lifecycle"),
  ``pact-openapi`` pact-openapi-2.3.0.yaml (the 2.3.0 JSON schema and the ``PathfinderEvent``
  CloudEvents), ``data-exchange-protocol`` spec/v2/examples/pf-response-event.json.
- 3.x: ``data-exchange-protocol`` spec/v3/openapi.yaml (the 3.0.0 schema: ProductFootprint,
  CarbonFootprint, DataQualityIndicators, Verification, the four ``org.wbcsd.pact`` events) and
  spec/v3/index.md (sections "Product Footprint Lifecycle", "Validity Period", "Validation").

Top-level shapes (detected and reported by name; anything else is a :class:`PactError` that says
what was found):

- ``ProductFootprint``: one footprint object;
- ``list of ProductFootprints``: ``[{...}, ...]``;
- ``GetFootprint response``: ``{"data": {...}}`` (Action GetFootprint, 2.x and 3.x);
- ``ListFootprints response``: ``{"data": [...]}`` (Action ListFootprints, 2.x and 3.x);
- CloudEvents with the footprints in ``data.pfs``: the 2.x PF Response Event
  (``org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1``), the 3.x RequestFulfilledEvent
  (``org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3``), and PF Update / PublishedEvent
  style events (``...ProductFootprint.Published.v1``, ``...PublishedEvent.3``) that carry them.

Per the specs a PF Update / PublishedEvent carries only ``data.pfIds`` and a request or rejection
event no footprint at all: those get an error saying so.

Mapping (spec property -> ProductFootprintBody field; "2:" 2.x, "3:" 3.x):

- product_id <- productIds[0]; product_name <- productNameCompany
- declared_unit <- 2: pcf.declaredUnit, 3: pcf.declaredUnitOfMeasurement
- declared_unit_amount <- 2: pcf.unitaryProductAmount, 3: pcf.declaredUnitAmount
- pcf_excluding_biogenic_emissions_kgco2e <- 2: pcf.pCfExcludingBiogenic (excludes biogenic
  emissions); pcf_including_biogenic_emissions_kgco2e <- 2: pcf.pCfIncludingBiogenic
- pcf_excluding_biogenic_uptake_kgco2e <- 3: pcf.pcfExcludingBiogenicUptake (includes biogenic
  emissions, excludes only the product's biogenic CO2 uptake);
  pcf_including_biogenic_uptake_kgco2e <- 3: pcf.pcfIncludingBiogenicUptake
- primary_data_share <- pcf.primaryDataShare / 100 (percent to 0..1); dqi <- pcf.dqi
- reference_period_start / _end <- pcf.referencePeriodStart / pcf.referencePeriodEnd
- valid_until <- validityPeriodEnd, else pcf.referencePeriodEnd + 3 years (the spec's default)
- preceding_pact_footprint_ids <- precedingPfIds; pact_deprecated <- status == "Deprecated"
- pact_footprint_id <- id; pact_spec_version <- specVersion
- Declaration.assurance <- 2: pcf.assurance (only when its ``assurance`` is true),
  3: pcf.verification (its presence); the verifier is ``providerName``
- Declaration.period <- the month pcf.referencePeriodEnd (exclusive) falls in

Decisions (and why):

- Checked strictly, with the spec's constraints and the spec's property names in the messages:
  every property greenchain maps, the identity and lifecycle properties (id, specVersion, status,
  created, precedingPfIds, validity period) and the cross-property rules on them. A property
  greenchain does not read (e.g. fossilCarbonContent) is not checked: this is a data recipient,
  not a conformance tester. Decimals are accepted as JSON strings (the spec's encoding) or
  numbers (what 2.x uses for primaryDataShare and the DQRs); date-times must carry a time zone.
- primaryDataShare: 2.x (spec 2.2, CarbonFootprint table) requires primaryDataShare or dqi for
  reference periods ending before 2025, and primaryDataShare, dqi and pCfIncludingBiogenic for
  later ones. 3.x lists primaryDataShare as a reporting rule (SHALL) but not in the schema's
  ``required``, and its "Validation" section says machine exchange is governed by the schema: a
  3.x footprint without it is accepted with a warning. Either way a missing share is sent as
  ``primary_data_share_absent`` (share 0, no primary-data credit): a DQI rating is not a share.
- Assurance: 2.x ``assurance: true`` and 3.x a ``verification`` object mean third-party verified;
  greenchain's contract needs the verifier's name, so one without providerName is sent as
  self-declared with a warning. 2.x ``assurance: false`` is self-declared.
- Lifecycle: a Deprecated footprint is never sent as current; it is sent as a withdrawal
  (``pact_deprecated``) so that scoring stops using a version it received earlier. A footprint
  named in another's precedingPfIds is not sent; its successor carries
  ``preceding_pact_footprint_ids`` and scoring drops the predecessors by PACT id, whatever their
  month or product id (the "same product key" alone would miss a recalculation for another
  reference period). Of several 2.x versions of one id, the highest ``version`` stands.
- Validity: a footprint whose validity period has ended (validityPeriodEnd, or referencePeriodEnd
  + 3 years when none is given) or not yet begun is reported and not sent.
- Output share: per footprint, from the output-shares file by product id (any of its productIds)
  or the document default; none, a share outside 0..1, or a document total above 1 is an error for
  the whole document (never capped).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import yaml
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from greenchain.connector.readers import Item, declaration_id, now_timestamp
from greenchain.v1 import declaration_pb2 as d


class PactError(ValueError):
    """The document as a whole cannot be read (its shape, or the output shares)."""


# Spec data types --------------------------------------------------------------------------------

_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")  # Tech Specs data type Decimal


def _decimal(value: object) -> float:
    """A spec Decimal: a JSON string such as "1.25"; a JSON number is accepted too."""
    if isinstance(value, bool):
        raise ValueError(f"must be a decimal number, got {value!r}")
    if isinstance(value, int | float) or (
        isinstance(value, str) and _DECIMAL.fullmatch(value.strip())
    ):
        number = float(value)
    else:
        raise ValueError(f'must be a decimal number (a JSON string such as "1.25"), got {value!r}')
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    return number


Decimal = Annotated[float, BeforeValidator(_decimal)]
PositiveOrZeroDecimal = Annotated[float, BeforeValidator(_decimal), Field(ge=0)]
PositiveNonZeroDecimal = Annotated[float, BeforeValidator(_decimal), Field(gt=0)]
Percent = Annotated[float, BeforeValidator(_decimal), Field(ge=0, le=100)]
DqrV2 = Annotated[float, BeforeValidator(_decimal), Field(ge=1, le=3)]  # 2.x: 1..3
DqrV3 = Annotated[float, BeforeValidator(_decimal), Field(ge=1, le=5)]  # 3.x: 1..5
Urn = Annotated[str, StringConstraints(pattern=r"^[uU][rR][nN]:")]
NonEmptyString = Annotated[str, StringConstraints(min_length=1)]
SpecVersion = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+(-\d{8})?$")]


class _Spec(BaseModel):
    # Properties greenchain does not read are ignored (not rejected); see the module docstring.
    model_config = ConfigDict(extra="ignore", frozen=True)


class DataQualityIndicatorsV2(_Spec):
    """2.x DataQualityIndicators (spec 2.2: all optional before 2025, all required from 2025)."""

    coveragePercent: Percent | None = None
    technologicalDQR: DqrV2 | None = None
    temporalDQR: DqrV2 | None = None
    geographicalDQR: DqrV2 | None = None
    completenessDQR: DqrV2 | None = None
    reliabilityDQR: DqrV2 | None = None


class DataQualityIndicatorsV3(_Spec):
    """3.x DataQualityIndicators (openapi 3.0.0: the three DQRs required, Decimal 1..5)."""

    technologicalDQR: DqrV3
    geographicalDQR: DqrV3
    temporalDQR: DqrV3


class AssuranceV2(_Spec):
    """2.x Assurance."""

    assurance: bool
    providerName: str | None = None
    coverage: Literal["corporate level", "product line", "PCF system", "product level"] | None = (
        None
    )
    level: Literal["limited", "reasonable"] | None = None
    boundary: Literal["Gate-to-Gate", "Cradle-to-Gate"] | None = None
    completedAt: AwareDatetime | None = None
    standardName: str | None = None


class VerificationV3(_Spec):
    """3.x Verification (renamed from Assurance; its presence means verified)."""

    coverage: Literal["PCF calculation model", "PCF program", "product level"] | None = None
    providerName: str | None = None
    completedAt: AwareDatetime | None = None
    standardName: str | None = None


class CarbonFootprintV2(_Spec):
    declaredUnit: Literal[
        "liter",
        "kilogram",
        "cubic meter",
        "kilowatt hour",
        "megajoule",
        "ton kilometer",
        "square meter",
    ]
    unitaryProductAmount: PositiveNonZeroDecimal
    pCfExcludingBiogenic: PositiveOrZeroDecimal
    pCfIncludingBiogenic: Decimal | None = None
    referencePeriodStart: AwareDatetime
    referencePeriodEnd: AwareDatetime
    primaryDataShare: Percent | None = None
    dqi: DataQualityIndicatorsV2 | None = None
    assurance: AssuranceV2 | None = None


class CarbonFootprintV3(_Spec):
    declaredUnitOfMeasurement: Literal[
        "liter",
        "kilogram",
        "cubic meter",
        "kilowatt hour",
        "megajoule",
        "ton kilometer",
        "square meter",
        "piece",
        "hour",
        "megabit second",
    ]
    declaredUnitAmount: PositiveNonZeroDecimal
    pcfExcludingBiogenicUptake: Decimal
    pcfIncludingBiogenicUptake: Decimal
    referencePeriodStart: AwareDatetime
    referencePeriodEnd: AwareDatetime
    primaryDataShare: Percent | None = None
    dqi: DataQualityIndicatorsV3 | None = None
    verification: VerificationV3 | None = None


class _ProductFootprint(_Spec):
    id: UUID
    specVersion: SpecVersion
    precedingPfIds: Annotated[list[UUID], Field(min_length=1)] | None = None
    created: AwareDatetime
    status: Literal["Active", "Deprecated"]
    validityPeriodStart: AwareDatetime | None = None
    validityPeriodEnd: AwareDatetime | None = None
    productIds: Annotated[list[Urn], Field(min_length=1)]
    productNameCompany: NonEmptyString


class ProductFootprintV2(_ProductFootprint):
    version: Annotated[int, Field(ge=0, le=2**31 - 1)]
    pcf: CarbonFootprintV2


class ProductFootprintV3(_ProductFootprint):
    pcf: CarbonFootprintV3


Footprint = ProductFootprintV2 | ProductFootprintV3

# Document shapes --------------------------------------------------------------------------------

_FULFILLED = {
    "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1": "2.x PF Response Event",
    "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3": "3.x RequestFulfilledEvent",
}
_PUBLISHED = {
    "org.wbcsd.pathfinder.ProductFootprint.Published.v1": "2.x PF Update Event",
    "org.wbcsd.pact.ProductFootprint.PublishedEvent.3": "3.x PublishedEvent",
}
_NO_FOOTPRINTS = {
    "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1": "2.x PF Request Event",
    "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1": "2.x PF Response Error Event",
    "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3": "3.x RequestCreatedEvent",
    "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3": "3.x RequestRejectedEvent",
}


def _found(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))[:8]) or "none"
        return f"a JSON object with keys {keys}"
    if isinstance(value, list):
        return f"a JSON array of {len(value)} items"
    return f"a JSON {type(value).__name__} ({str(value)[:40]!r})"


def _event(document: dict[str, Any]) -> tuple[str, list[Any]]:
    kind = str(document.get("type", ""))
    data = document.get("data")
    if kind in _FULFILLED or kind in _PUBLISHED:
        name = _FULFILLED.get(kind) or _PUBLISHED[kind]
        if isinstance(data, dict) and isinstance(data.get("pfs"), list):
            return f"{name} ({kind}), footprints in data.pfs", list(data["pfs"])
        if kind in _PUBLISHED and isinstance(data, dict) and "pfIds" in data:
            ids = data["pfIds"] if isinstance(data["pfIds"], list) else []
            raise PactError(
                f"a {name} ({kind}) carries only footprint ids (data.pfIds: {len(ids)}), not the "
                "footprints: fetch them with GetFootprint and connect the response"
            )
        raise PactError(f"a {name} ({kind}) without footprints in data.pfs: found {_found(data)}")
    if kind in _NO_FOOTPRINTS:
        raise PactError(f"a {_NO_FOOTPRINTS[kind]} ({kind}) carries no footprints")
    known = ", ".join(sorted({*_FULFILLED, *_PUBLISHED, *_NO_FOOTPRINTS}))
    raise PactError(f"a CloudEvent of type {kind!r}, which is not a PACT event type ({known})")


def footprints(document: Any) -> tuple[str, list[Any]]:
    """(shape name, raw footprints) of a PACT document; :class:`PactError` for anything else."""
    if isinstance(document, list):
        return "list of ProductFootprints", document
    if not isinstance(document, dict):
        raise PactError(f"not a PACT document: found {_found(document)}")
    if "specversion" in document and "type" in document:  # CloudEvents attributes
        return _event(document)
    if "data" in document and "pcf" not in document:
        data = document["data"]
        if isinstance(data, list):
            return 'ListFootprints response {"data": [...]}', data
        if isinstance(data, dict):
            return 'GetFootprint response {"data": {...}}', [data]
        raise PactError(f'a {{"data": ...}} envelope whose data is {_found(data)}')
    if {"pcf", "specVersion", "productIds"} & document.keys():
        return "ProductFootprint", [document]
    if {"code", "message"} <= document.keys():
        raise PactError(
            f"a PACT error response (code {document['code']!r}: {document['message']!r}), "
            "not footprints"
        )
    raise PactError(f"not a PACT document: found {_found(document)}")


# Output shares ----------------------------------------------------------------------------------


class _SharesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: float | None = None
    products: dict[str, float] = Field(default_factory=dict)


def _check_share(where: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise PactError(f"{where}: {value} is not a share of output value (0..1)")
    if value > 1:
        raise PactError(f"{where}: {value} is above 1: a product cannot cover more than the site")
    return value


@dataclass(frozen=True)
class OutputShares:
    """Share of the site's output value each product covers: by product id, else a default."""

    default: float | None = None
    by_product: Mapping[str, float] = field(default_factory=dict)
    origin: str = "--output-share"

    def __post_init__(self) -> None:
        if self.default is not None:
            _check_share(f"{self.origin} default", self.default)
        for product, share in self.by_product.items():
            _check_share(f"{self.origin} products[{product!r}]", share)

    @classmethod
    def load(cls, path: str | Path, default: float | None = None) -> OutputShares:
        """A YAML/JSON file ``{default: 0.2, products: {<product id>: 0.4, ...}}``; ``default``
        (the command line's --output-share) wins over the file's."""
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
            parsed = _SharesFile.model_validate(raw)
        except (yaml.YAMLError, ValidationError) as exc:
            detail = (
                "; ".join(f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors())
                if isinstance(exc, ValidationError)
                else str(exc).splitlines()[0]
            )
            raise PactError(f"output shares file {path}: {detail}") from None
        return cls(default if default is not None else parsed.default, parsed.products, f"{path}")

    def share_for(self, product_ids: Sequence[str]) -> float | None:
        matches = {self.by_product[p] for p in product_ids if p in self.by_product}
        if len(matches) > 1:
            raise PactError(
                f"{self.origin}: the productIds {list(product_ids)} match entries with different "
                f"shares {sorted(matches)}"
            )
        return matches.pop() if matches else self.default


# Reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """Something to tell the user about one footprint of the document."""

    index: int  # position of the footprint in the document
    footprint_id: str
    kind: Literal["invalid", "expired", "not-yet-valid", "superseded", "deprecated", "warning"]
    message: str

    @property
    def rejected(self) -> bool:
        return self.kind == "invalid"

    def __str__(self) -> str:
        who = f"footprint {self.index}" + (f" ({self.footprint_id})" if self.footprint_id else "")
        return f"{who}: {self.kind}: {self.message}"


@dataclass
class PactRead:
    """What a PACT document gave: its shape, the declarations to send, and every issue."""

    shape: str
    items: list[Item]
    issues: list[Issue]
    footprints: int = 0  # footprints in the document
    versions: dict[str, int] = field(default_factory=dict)  # specVersion -> declarations sent

    @property
    def rejected(self) -> dict[int, str]:
        return {i.index: str(i) for i in self.issues if i.rejected}

    def describe(self) -> str:
        versions = ", ".join(f"{n} of {v}" for v, n in sorted(self.versions.items()))
        return f"PACT {self.shape}: {self.footprints} footprint(s), {len(self.items)} to send" + (
            f" ({versions})" if versions else ""
        )


def _loc(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _plus_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


_START_2025 = datetime(2025, 1, 1, tzinfo=UTC)


def _rules(fp: Footprint) -> tuple[list[str], list[str]]:
    """(violations, warnings) of the spec's cross-property rules, each naming the property."""
    errors: list[str] = []
    warnings: list[str] = []
    pcf = fp.pcf
    if pcf.referencePeriodEnd <= pcf.referencePeriodStart:
        errors.append("pcf.referencePeriodEnd: must be after pcf.referencePeriodStart")
    latest_end = _plus_years(pcf.referencePeriodEnd, 3)
    if fp.validityPeriodStart is not None and fp.validityPeriodStart < pcf.referencePeriodEnd:
        errors.append("validityPeriodStart: must not be before pcf.referencePeriodEnd")
    if fp.validityPeriodEnd is not None:
        if fp.validityPeriodStart is not None and fp.validityPeriodEnd <= fp.validityPeriodStart:
            errors.append("validityPeriodEnd: must be after validityPeriodStart")
        if fp.validityPeriodEnd > latest_end:
            errors.append(
                "validityPeriodEnd: must not be later than pcf.referencePeriodEnd + 3 years "
                f"({latest_end:%Y-%m-%dT%H:%M:%SZ})"
            )
        if isinstance(fp, ProductFootprintV2) and fp.validityPeriodStart is None:
            errors.append("validityPeriodStart: required when validityPeriodEnd is given (2.x)")
    if fp.precedingPfIds is not None:
        if len(set(fp.precedingPfIds)) != len(fp.precedingPfIds):
            errors.append("precedingPfIds: must not contain duplicates")
        if fp.id in fp.precedingPfIds:
            errors.append("precedingPfIds: must not contain the footprint's own id")
    if isinstance(fp, ProductFootprintV2):
        v2 = fp.pcf
        if v2.referencePeriodEnd <= _START_2025:  # "ending before the beginning of 2025"
            if v2.primaryDataShare is None and v2.dqi is None:
                errors.append(
                    "pcf.primaryDataShare: required (or pcf.dqi) by PACT 2.x for every footprint"
                )
        else:
            for name in ("primaryDataShare", "dqi", "pCfIncludingBiogenic"):
                if getattr(v2, name) is None:
                    errors.append(
                        f"pcf.{name}: required by PACT 2.x for reference periods from 2025 on"
                    )
            if v2.dqi is not None:
                errors.extend(
                    f"pcf.dqi.{name}: required by PACT 2.x for reference periods from 2025 on"
                    for name, value in v2.dqi
                    if value is None
                )
    elif fp.pcf.primaryDataShare is None:
        warnings.append(
            "pcf.primaryDataShare: not given (a PACT 3.x reporting rule, SHALL): sent without "
            "a primary data share, which scores as none"
        )
    return errors, warnings


def _validate(raw: Any) -> tuple[Footprint | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"not a ProductFootprint: found {_found(raw)}"]
    version = raw.get("specVersion")
    major = str(version).split(".", 1)[0] if isinstance(version, str) else ""
    model: type[Footprint]
    if major == "2":
        model = ProductFootprintV2
    elif major == "3":
        model = ProductFootprintV3
    elif version is None:
        return None, ["specVersion: required (2.x or 3.x)"]
    else:
        return None, [f"specVersion: {version!r} is not supported (greenchain reads 2.x and 3.x)"]
    try:
        fp = model.model_validate(raw)
    except ValidationError as exc:
        return None, [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
    errors, _ = _rules(fp)
    return (None, errors) if errors else (fp, [])


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def _valid_until(fp: Footprint) -> datetime:
    return fp.validityPeriodEnd or _plus_years(fp.pcf.referencePeriodEnd, 3)


def _assurance(fp: Footprint) -> tuple[d.Assurance, str | None]:
    """The declaration's assurance and, when a verification cannot be credited, a warning."""
    self_declared = d.Assurance(level=d.ASSURANCE_LEVEL_SELF_DECLARED)
    if isinstance(fp, ProductFootprintV2):
        assurance = fp.pcf.assurance
        if assurance is None or not assurance.assurance:  # assurance: false is NOT verified
            return self_declared, None
        provider, path = assurance.providerName, "pcf.assurance.providerName"
    else:
        if fp.pcf.verification is None:
            return self_declared, None
        provider, path = fp.pcf.verification.providerName, "pcf.verification.providerName"
    if not (provider or "").strip():
        return self_declared, (
            f"{path}: empty, so the verification cannot be credited: sent as self-declared"
        )
    verified = d.Assurance(level=d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED, verifier=provider or "")
    return verified, None


def _body(fp: Footprint, share: float) -> d.ProductFootprintBody:
    pcf = fp.pcf
    body = d.ProductFootprintBody(
        product_id=fp.productIds[0],
        product_name=fp.productNameCompany,
        primary_data_share=(pcf.primaryDataShare or 0.0) / 100.0,
        primary_data_share_absent=pcf.primaryDataShare is None,
        output_value_share=share,
        pact_footprint_id=str(fp.id),
        pact_spec_version=fp.specVersion,
        preceding_pact_footprint_ids=[str(i) for i in fp.precedingPfIds or []],
        pact_deprecated=fp.status == "Deprecated",
    )
    if isinstance(fp, ProductFootprintV2):
        v2 = fp.pcf
        body.declared_unit = v2.declaredUnit
        body.declared_unit_amount = v2.unitaryProductAmount
        body.pcf_excluding_biogenic_emissions_kgco2e = v2.pCfExcludingBiogenic
        if v2.pCfIncludingBiogenic is not None:
            body.pcf_including_biogenic_emissions_kgco2e = v2.pCfIncludingBiogenic
    else:
        v3 = fp.pcf
        body.declared_unit = v3.declaredUnitOfMeasurement
        body.declared_unit_amount = v3.declaredUnitAmount
        body.pcf_excluding_biogenic_uptake_kgco2e = v3.pcfExcludingBiogenicUptake
        body.pcf_including_biogenic_uptake_kgco2e = v3.pcfIncludingBiogenicUptake
    if pcf.dqi is not None:
        body.dqi.SetInParent()
        for name, target in (
            ("coveragePercent", "coverage_percent"),
            ("technologicalDQR", "technological_dqr"),
            ("temporalDQR", "temporal_dqr"),
            ("geographicalDQR", "geographical_dqr"),
            ("completenessDQR", "completeness_dqr"),
            ("reliabilityDQR", "reliability_dqr"),
        ):
            value = getattr(pcf.dqi, name, None)
            if value is not None:
                setattr(body.dqi, target, value)
    body.reference_period_start.CopyFrom(_timestamp(pcf.referencePeriodStart))
    body.reference_period_end.CopyFrom(_timestamp(pcf.referencePeriodEnd))
    body.valid_until.CopyFrom(_timestamp(_valid_until(fp)))
    return body


def declaration_from_pact(
    fp: Footprint, supplier_id: str, site_id: str, share: float, source: str
) -> tuple[d.Declaration, str | None]:
    """The declaration for one validated footprint, and a warning about its assurance, if any."""
    # The reporting month is the month the reference period ends in: the end is exclusive
    # (2024-01-01T00:00:00Z ends December 2023), as the 3.x schema says; a 2.x export that
    # writes an inclusive end (2023-12-31T23:59:59Z) lands in the same month.
    end = fp.pcf.referencePeriodEnd.astimezone(UTC) - timedelta(seconds=1)
    assurance, warning = _assurance(fp)
    decl = d.Declaration(
        supplier_id=supplier_id,
        site_id=site_id,
        period=d.Period(year=end.year, month=end.month),
        source=source,
        assurance=assurance,
        product_footprint=_body(fp, share),
    )
    decl.submitted_at.CopyFrom(now_timestamp())
    decl.declaration_id = declaration_id(decl)
    return decl, warning


def _latest(valid: list[tuple[int, Footprint]], issues: list[Issue]) -> list[tuple[int, Footprint]]:
    """One footprint per id: the highest 2.x ``version``, or the Deprecated state of a 3.x id
    (the only change 3.x allows after creation); the others are reported as superseded."""
    best: dict[UUID, tuple[int, Footprint]] = {}

    def rank(fp: Footprint) -> tuple[int, int]:
        version = fp.version if isinstance(fp, ProductFootprintV2) else 0
        return version, int(fp.status == "Deprecated")

    for index, fp in valid:
        held = best.get(fp.id)
        if held is None or rank(fp) > rank(held[1]):
            if held is not None:
                issues.append(Issue(held[0], str(fp.id), "superseded", f"by footprint {index}"))
            best[fp.id] = (index, fp)
        else:
            issues.append(Issue(index, str(fp.id), "superseded", f"by footprint {held[0]}"))
    return sorted(best.values(), key=lambda pair: pair[0])


def read_pact_document(
    document: Any,
    supplier_id: str,
    site_id: str,
    shares: OutputShares | float | None,
    source: str = "pact",
    now: datetime | None = None,
) -> PactRead:
    """Declarations for a parsed PACT document (see the module docstring for every rule)."""
    now = now or datetime.now(UTC)
    if not isinstance(shares, OutputShares):
        shares = OutputShares(default=shares)
    shape, raw_footprints = footprints(document)
    issues: list[Issue] = []
    valid: list[tuple[int, Footprint]] = []
    for index, raw in enumerate(raw_footprints):
        fp, errors = _validate(raw)
        if fp is None:
            pid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
            issues.append(Issue(index, pid, "invalid", "; ".join(errors)))
        else:
            valid.append((index, fp))
    kept = _latest(valid, issues)
    successors = {preceding: fp.id for _, fp in kept for preceding in fp.precedingPfIds or []}
    current: list[tuple[int, Footprint]] = []
    withdrawn: list[tuple[int, Footprint]] = []
    for index, fp in kept:
        pid = str(fp.id)
        if fp.status == "Deprecated":
            issues.append(
                Issue(index, pid, "deprecated", "sent as a withdrawal, never as current figures")
            )
            withdrawn.append((index, fp))
        elif fp.id in successors:
            issues.append(
                Issue(index, pid, "superseded", f"by {successors[fp.id]} (precedingPfIds)")
            )
        elif _valid_until(fp) <= now:
            issues.append(
                Issue(index, pid, "expired", f"validity ended {_valid_until(fp):%Y-%m-%d}")
            )
        elif fp.validityPeriodStart is not None and fp.validityPeriodStart > now:
            issues.append(
                Issue(
                    index,
                    pid,
                    "not-yet-valid",
                    f"validity starts {fp.validityPeriodStart:%Y-%m-%d}",
                )
            )
        else:
            current.append((index, fp))

    # Output shares: every current footprint needs one; none above 1, nor in total.
    share_of: dict[int, float] = {}
    missing: list[str] = []
    per_product: dict[str, float] = {}
    for index, fp in current:
        share = shares.share_for(fp.productIds)
        if share is None:
            missing.append(fp.productIds[0])
            continue
        share_of[index] = share
        per_product[fp.productIds[0]] = share
    if missing:
        raise PactError(
            f"no output share for product(s) {', '.join(sorted(set(missing)))}: give "
            "--output-share (a default for the document) or list them in --output-shares"
        )
    total = sum(per_product.values())
    if total > 1 + 1e-9:
        listed = ", ".join(f"{p}: {s:g}" for p, s in sorted(per_product.items()))
        raise PactError(
            f"the output shares of this document add up to {total:g}, above 1 ({listed}): the "
            "products of one site cannot cover more than its output value"
        )

    items: list[Item] = []
    versions: dict[str, int] = {}
    for index, fp in sorted([*current, *withdrawn], key=lambda pair: pair[0]):
        decl, warning = declaration_from_pact(
            fp, supplier_id, site_id, share_of.get(index, 0.0), source
        )
        items.append(Item(decl, index))
        versions[fp.specVersion] = versions.get(fp.specVersion, 0) + 1
        _, rule_warnings = _rules(fp)
        issues.extend(
            Issue(index, str(fp.id), "warning", w) for w in [*rule_warnings, warning] if w
        )
    issues.sort(key=lambda issue: issue.index)
    return PactRead(shape, items, issues, len(raw_footprints), versions)


def read_pact(
    path: str | Path,
    supplier_id: str,
    site_id: str,
    shares: OutputShares | float | None,
    source: str = "pact",
    now: datetime | None = None,
) -> PactRead:
    """Reads a PACT JSON file; see :func:`read_pact_document`."""
    try:
        document = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise PactError(f"{path}: not JSON ({exc})") from None
    try:
        return read_pact_document(document, supplier_id, site_id, shares, source, now)
    except PactError as exc:
        raise PactError(f"{path}: {exc}") from None
