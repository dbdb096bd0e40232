"""PACT documents written from the Technical Specifications 2.x and 3.x, every shape, valid and
invalid, and each value they map to (no network)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from greenchain.connector.pact import (
    OutputShares,
    PactError,
    PactRead,
    read_pact,
    read_pact_document,
)
from greenchain.connector.readers import declaration_id
from greenchain.v1 import declaration_pb2 as d

NOW = datetime(2026, 6, 1, tzinfo=UTC)
V2_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
V3_ID = "7c1d6a4e-2f3b-4b6e-9d2a-1f0e3c5b8a90"


def v2(**changes: Any) -> dict[str, Any]:
    """A PACT 2.3.0 ProductFootprint (spec 2.2 property tables, openapi 2.3.0 schema)."""
    footprint: dict[str, Any] = {
        "id": V2_ID,
        "specVersion": "2.3.0",
        "version": 1,
        "created": "2026-02-01T00:00:00Z",
        "status": "Active",
        "companyName": "Supplier 001",
        "companyIds": ["urn:greenchain:sup-001"],
        "productDescription": "Die-cast aluminium housing",
        "productIds": ["urn:greenchain:sup-001:product:housing", "urn:gtin:4712345060507"],
        "productCategoryCpc": "41532",
        "productNameCompany": "Aluminium housing",
        "comment": "",
        "pcf": {
            "declaredUnit": "kilogram",
            "unitaryProductAmount": "1.0",
            "pCfExcludingBiogenic": "8.20",
            "pCfIncludingBiogenic": "-0.40",
            "fossilGhgEmissions": "8.0",
            "fossilCarbonContent": "0",
            "biogenicCarbonContent": "0.41",
            "characterizationFactors": "AR6",
            "ipccCharacterizationFactorsSources": ["AR6"],
            "crossSectoralStandardsUsed": ["GHG Protocol Product standard"],
            "boundaryProcessesDescription": "",
            "referencePeriodStart": "2025-01-01T00:00:00Z",
            "referencePeriodEnd": "2026-01-01T00:00:00Z",
            "exemptedEmissionsPercent": 0,
            "exemptedEmissionsDescription": "",
            "packagingEmissionsIncluded": False,
            "primaryDataShare": 65.0,
            "dqi": {
                "coveragePercent": 78,
                "technologicalDQR": "1.6",  # numbers, or strings as in the spec's example
                "temporalDQR": 2.6,
                "geographicalDQR": 1.8,
                "completenessDQR": 1.7,
                "reliabilityDQR": 2.1,
            },
            "assurance": {
                "assurance": True,
                "coverage": "product line",
                "level": "limited",
                "providerName": "TUV SUD",
            },
        },
    }
    return _changed(footprint, changes)


def v3(**changes: Any) -> dict[str, Any]:
    """A PACT 3.0.0 ProductFootprint (openapi 3.0.0 schema)."""
    footprint: dict[str, Any] = {
        "id": V3_ID,
        "specVersion": "3.0.0",
        "created": "2026-03-15T00:00:00Z",
        "status": "Active",
        "companyName": "Supplier 001",
        "companyIds": ["urn:greenchain:sup-001"],
        "productDescription": "Steel bracket",
        "productIds": ["urn:pact:sup-001.example:supplier-id:bracket"],
        "productNameCompany": "Steel bracket",
        "pcf": {
            "declaredUnitOfMeasurement": "piece",
            "declaredUnitAmount": "2",
            "productMassPerDeclaredUnit": "0.8",
            "referencePeriodStart": "2025-03-01T00:00:00Z",
            "referencePeriodEnd": "2026-03-01T00:00:00Z",
            "pcfExcludingBiogenicUptake": "4.40",
            "pcfIncludingBiogenicUptake": "3.90",
            "fossilGhgEmissions": "4.1",
            "fossilCarbonContent": "0",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
            "exemptedEmissionsPercent": "0",
            "primaryDataShare": "40.5",
            "dqi": {"technologicalDQR": "2.0", "geographicalDQR": "4.5", "temporalDQR": "1.0"},
            "verification": {
                "coverage": "product level",
                "providerName": "China Quality Certification Centre",
                "completedAt": "2026-04-08T14:47:32Z",
                "standardName": "ISO 14067",
            },
        },
    }
    return _changed(footprint, changes)


def _changed(footprint: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``pcf__name=value`` changes pcf.name; the value ``...`` removes the property."""
    for key, value in changes.items():
        target, name = (footprint["pcf"], key[5:]) if key.startswith("pcf__") else (footprint, key)
        if value is ...:
            target.pop(name, None)
        else:
            target[name] = value
    return footprint


def read(document: Any, shares: OutputShares | float | None = 0.3) -> PactRead:
    return read_pact_document(document, "sup-001", "s1", shares, now=NOW)


def only(document: Any) -> d.Declaration:
    (item,) = read(document).items
    return item.declaration


# Each mapped value -------------------------------------------------------------------------------


def test_a_v2_footprint_maps_every_value() -> None:
    decl = only(v2())
    body = decl.product_footprint
    assert (decl.supplier_id, decl.site_id, decl.source) == ("sup-001", "s1", "pact")
    assert (decl.period.year, decl.period.month) == (2025, 12)  # referencePeriodEnd exclusive
    assert decl.assurance.level == d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
    assert decl.assurance.verifier == "TUV SUD"
    assert body.product_id == "urn:greenchain:sup-001:product:housing"
    assert body.product_name == "Aluminium housing"
    assert (body.declared_unit, body.declared_unit_amount) == ("kilogram", 1.0)
    assert body.pcf_excluding_biogenic_emissions_kgco2e == 8.2
    assert body.pcf_including_biogenic_emissions_kgco2e == -0.4  # may be negative in 2.x
    assert not body.HasField("pcf_excluding_biogenic_uptake_kgco2e")
    assert not body.HasField("pcf_including_biogenic_uptake_kgco2e")
    assert body.legacy_pcf_excluding_biogenic_kgco2e == 0.0  # no longer written
    assert body.primary_data_share == pytest.approx(0.65)
    assert body.primary_data_share_absent is False
    assert (body.dqi.coverage_percent, body.dqi.technological_dqr) == (78.0, 1.6)
    assert (body.dqi.temporal_dqr, body.dqi.geographical_dqr) == (2.6, 1.8)
    assert (body.dqi.completeness_dqr, body.dqi.reliability_dqr) == (1.7, 2.1)
    assert body.reference_period_start.ToDatetime(UTC) == datetime(2025, 1, 1, tzinfo=UTC)
    assert body.reference_period_end.ToDatetime(UTC) == datetime(2026, 1, 1, tzinfo=UTC)
    assert body.valid_until.ToDatetime(UTC) == datetime(2029, 1, 1, tzinfo=UTC)  # end + 3 years
    assert body.output_value_share == 0.3
    assert (body.pact_footprint_id, body.pact_spec_version) == (V2_ID, "2.3.0")
    assert list(body.preceding_pact_footprint_ids) == []
    assert body.pact_deprecated is False
    assert decl.declaration_id == declaration_id(decl)


def test_a_v3_footprint_maps_every_value() -> None:
    decl = only(
        v3(validityPeriodStart="2026-03-01T00:00:00Z", validityPeriodEnd="2028-03-01T00:00:00Z")
    )
    body = decl.product_footprint
    assert (decl.period.year, decl.period.month) == (2026, 2)
    assert decl.assurance.level == d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
    assert decl.assurance.verifier == "China Quality Certification Centre"
    assert body.product_id == "urn:pact:sup-001.example:supplier-id:bracket"
    assert (body.declared_unit, body.declared_unit_amount) == ("piece", 2.0)
    assert body.pcf_excluding_biogenic_uptake_kgco2e == 4.4
    assert body.pcf_including_biogenic_uptake_kgco2e == 3.9
    assert not body.HasField("pcf_excluding_biogenic_emissions_kgco2e")
    assert not body.HasField("pcf_including_biogenic_emissions_kgco2e")
    assert body.primary_data_share == pytest.approx(0.405)
    assert body.dqi.technological_dqr == 2.0
    assert body.dqi.geographical_dqr == 4.5  # 3.x ratings run to 5
    assert not body.dqi.HasField("coverage_percent")
    assert body.valid_until.ToDatetime(UTC) == datetime(2028, 3, 1, tzinfo=UTC)
    assert (body.pact_footprint_id, body.pact_spec_version) == (V3_ID, "3.0.0")


# Shapes ----------------------------------------------------------------------------------------


def _event(kind: str, footprints: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": kind,
        "specversion": "1.0",
        "id": "5afe8fbf-0ea9-477c-a1df-2d3c95f7eec0",
        "source": "//ProviderEventHostname/EventSubpath",
        "time": "2026-05-08T13:26:00Z",
        "data": {"requestEventId": "848dcf00-2c18-400d-bcb8-11e45bbf7ebd", "pfs": footprints},
    }


SHAPES = [
    ("single v2", v2(), "ProductFootprint"),
    ("single v3", v3(), "ProductFootprint"),
    ("list", [v2(), v3()], "list of ProductFootprints"),
    ("GetFootprint v2", {"data": v2()}, 'GetFootprint response {"data": {...}}'),
    ("GetFootprint v3", {"data": v3()}, 'GetFootprint response {"data": {...}}'),
    ("ListFootprints", {"data": [v2(), v3()]}, 'ListFootprints response {"data": [...]}'),
    (
        "v2 PF Response Event",
        _event("org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1", [v2()]),
        "2.x PF Response Event",
    ),
    (
        "v3 RequestFulfilledEvent",
        _event("org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3", [v3()]),
        "3.x RequestFulfilledEvent",
    ),
    (
        "v2 PF Update Event with pfs",
        _event("org.wbcsd.pathfinder.ProductFootprint.Published.v1", [v2()]),
        "2.x PF Update Event",
    ),
    (
        "v3 PublishedEvent with pfs",
        _event("org.wbcsd.pact.ProductFootprint.PublishedEvent.3", [v3(), v2()]),
        "3.x PublishedEvent",
    ),
]


@pytest.mark.parametrize(("name", "document", "shape"), SHAPES, ids=[s[0] for s in SHAPES])
def test_every_shape_is_detected_and_named(name: str, document: Any, shape: str) -> None:
    result = read(document)
    assert result.shape.startswith(shape)
    assert not result.issues
    by_version = {i.declaration.product_footprint.pact_spec_version for i in result.items}
    pcfs = {
        i.declaration.product_footprint.pcf_excluding_biogenic_emissions_kgco2e
        or i.declaration.product_footprint.pcf_excluding_biogenic_uptake_kgco2e
        for i in result.items
    }
    expected = document if isinstance(document, list) else document.get("data", document)
    expected = expected.get("pfs", expected) if isinstance(expected, dict) else expected
    count = len(expected) if isinstance(expected, list) else 1
    assert len(result.items) == count
    assert pcfs <= {8.2, 4.4} and len(pcfs) == len(by_version) == count
    assert shape in result.describe()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("a footprint", "not a PACT document: found a JSON str"),
        (42, "not a PACT document: found a JSON int"),
        ({"footprint": {}}, "not a PACT document: found a JSON object with keys footprint"),
        ({"data": "x"}, 'a {"data": ...} envelope whose data is a JSON str'),
        ({"code": "NoSuchFootprint", "message": "gone"}, "a PACT error response"),
        (
            {
                "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
                "specversion": "1.0",
                "data": {"pfIds": [V3_ID]},
            },
            "carries only footprint ids (data.pfIds: 1)",
        ),
        (
            {
                "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
                "specversion": "1.0",
                "data": {"pf": {"productIds": ["urn:gtin:4712345060507"]}},
            },
            "2.x PF Request Event (org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1) "
            "carries no footprints",
        ),
        (
            {"type": "com.example.Footprint", "specversion": "1.0", "data": {"pfs": [v3()]}},
            "a CloudEvent of type 'com.example.Footprint', which is not a PACT event type",
        ),
    ],
)
def test_an_unknown_shape_is_an_error_naming_what_was_found(document: Any, message: str) -> None:
    with pytest.raises(PactError) as err:
        read(document)
    assert message in str(err.value)


# Assurance / verification ---------------------------------------------------------------------


def test_v2_assurance_false_is_not_verified() -> None:
    footprint = v2()
    footprint["pcf"]["assurance"] = {"assurance": False, "providerName": "TUV SUD"}
    decl = only(footprint)
    assert decl.assurance.level == d.ASSURANCE_LEVEL_SELF_DECLARED
    assert decl.assurance.verifier == ""
    assert only(v2(pcf__assurance=...)).assurance.level == d.ASSURANCE_LEVEL_SELF_DECLARED


def test_a_v3_footprint_without_verification_is_self_declared() -> None:
    decl = only(v3(pcf__verification=...))
    assert decl.assurance.level == d.ASSURANCE_LEVEL_SELF_DECLARED


@pytest.mark.parametrize(
    ("footprint", "path"),
    [
        (v2(pcf__assurance={"assurance": True, "providerName": ""}), "pcf.assurance.providerName"),
        (v3(pcf__verification={"coverage": "PCF program"}), "pcf.verification.providerName"),
    ],
)
def test_a_verification_without_provider_is_sent_self_declared_with_a_warning(
    footprint: dict[str, Any], path: str
) -> None:
    result = read(footprint)
    (item,) = result.items
    assert item.declaration.assurance.level == d.ASSURANCE_LEVEL_SELF_DECLARED
    (issue,) = result.issues
    assert issue.kind == "warning" and issue.message.startswith(path)


# primaryDataShare and dqi ------------------------------------------------------------------------


def test_v2_before_2025_accepts_the_dqi_instead_of_a_primary_data_share() -> None:
    footprint = v2(pcf__primaryDataShare=...)
    footprint["pcf"].update(
        referencePeriodStart="2024-01-01T00:00:00Z", referencePeriodEnd="2025-01-01T00:00:00Z"
    )
    result = read(footprint)
    (item,) = result.items
    body = item.declaration.product_footprint
    assert body.primary_data_share_absent is True and body.primary_data_share == 0.0
    assert body.dqi.technological_dqr == 1.6
    assert not result.issues
    footprint["pcf"].pop("dqi")  # neither: invalid
    (issue,) = read(footprint).issues
    assert issue.rejected and issue.message.startswith(
        "pcf.primaryDataShare: required (or pcf.dqi)"
    )


def test_v2_from_2025_requires_primary_data_share_dqi_and_pcf_including_biogenic() -> None:
    (issue,) = read(v2(pcf__dqi=..., pcf__pCfIncludingBiogenic=...)).issues
    assert issue.rejected
    assert "pcf.dqi: required by PACT 2.x for reference periods from 2025 on" in issue.message
    assert "pcf.pCfIncludingBiogenic: required" in issue.message
    footprint = v2()
    del footprint["pcf"]["dqi"]["reliabilityDQR"]
    (issue,) = read(footprint).issues
    assert "pcf.dqi.reliabilityDQR: required" in issue.message


def test_v3_without_primary_data_share_is_sent_as_absent_with_a_warning() -> None:
    result = read(v3(pcf__primaryDataShare=..., pcf__dqi=...))
    (item,) = result.items
    assert item.declaration.product_footprint.primary_data_share_absent is True
    (issue,) = result.issues
    assert issue.kind == "warning" and issue.message.startswith("pcf.primaryDataShare")


# Invalid footprints: the spec property is named ------------------------------------------------


@pytest.mark.parametrize(
    ("footprint", "path"),
    [
        (v2(pcf__declaredUnit="kg"), "pcf.declaredUnit"),
        (v2(pcf__declaredUnit="piece"), "pcf.declaredUnit"),  # a 3.x unit, not 2.x
        (v3(pcf__declaredUnitOfMeasurement="pieces"), "pcf.declaredUnitOfMeasurement"),
        (v2(pcf__unitaryProductAmount="0"), "pcf.unitaryProductAmount"),
        (v3(pcf__declaredUnitAmount=...), "pcf.declaredUnitAmount"),
        (v2(pcf__pCfExcludingBiogenic="-1.0"), "pcf.pCfExcludingBiogenic"),
        (v2(pcf__pCfExcludingBiogenic="8,2"), "pcf.pCfExcludingBiogenic"),
        (v3(pcf__pcfIncludingBiogenicUptake=...), "pcf.pcfIncludingBiogenicUptake"),
        (v3(pcf__primaryDataShare="140"), "pcf.primaryDataShare"),
        (v2(pcf__referencePeriodEnd="2024-06-01T00:00:00Z"), "pcf.referencePeriodEnd"),
        (v2(pcf__referencePeriodStart="2025-01-01T00:00:00"), "pcf.referencePeriodStart"),
        (v3(productIds=[]), "productIds"),
        (v3(productIds=["4712345060507"]), "productIds[0]"),
        (v2(id="not-a-uuid"), "id"),
        (v2(version=...), "version"),
        (v3(status="Retired"), "status"),
        (v3(specVersion="1.0.0"), "specVersion"),
        (v3(specVersion=...), "specVersion"),
        (v2(pcf__dqi={"technologicalDQR": 4}), "pcf.dqi.technologicalDQR"),  # 2.x: 1..3
        (v3(pcf__dqi={"technologicalDQR": "2"}), "pcf.dqi.geographicalDQR"),
        (
            v3(validityPeriodStart="2025-06-01T00:00:00Z"),  # before referencePeriodEnd
            "validityPeriodStart",
        ),
        (
            v3(
                validityPeriodStart="2026-03-01T00:00:00Z", validityPeriodEnd="2029-06-01T00:00:00Z"
            ),
            "validityPeriodEnd",  # later than referencePeriodEnd + 3 years
        ),
        (v2(precedingPfIds=[V2_ID]), "precedingPfIds"),
    ],
)
def test_an_invalid_footprint_names_the_spec_property(footprint: Any, path: str) -> None:
    result = read([footprint, v3(id="11111111-2222-4333-8444-555555555555")])
    assert len(result.items) == 1  # the valid one of the document is still read
    (issue,) = result.issues
    assert issue.rejected and issue.index == 0
    assert issue.message.startswith(path + ":") or f"; {path}:" in issue.message
    for internal in ("declared_unit", "pcf_excluding", "primary_data_share", "product_id"):
        assert internal not in issue.message
    assert result.rejected == {0: str(issue)}


# Lifecycle ---------------------------------------------------------------------------------------


def test_deprecated_and_preceding_footprints_are_superseded() -> None:
    old = "0b6b2a5c-79e6-4b3e-8a5d-0d3e1f6a2b11"
    older = "0b6b2a5c-79e6-4b3e-8a5d-0d3e1f6a2b22"
    successor = v3(precedingPfIds=[old, older])
    deprecated = v3(id=old, status="Deprecated")
    listed_only = v3(id=older)  # still Active in the export, but a successor names it
    result = read([deprecated, successor, listed_only])
    sent = {i.declaration.product_footprint.pact_footprint_id: i.declaration for i in result.items}
    assert set(sent) == {V3_ID, old}
    assert list(sent[V3_ID].product_footprint.preceding_pact_footprint_ids) == [old, older]
    withdrawal = sent[old].product_footprint
    assert withdrawal.pact_deprecated is True and withdrawal.output_value_share == 0.0
    kinds = {(i.index, i.kind) for i in result.issues}
    assert kinds == {(0, "deprecated"), (2, "superseded")}


def test_of_several_v2_versions_of_one_id_the_highest_stands() -> None:
    first = v2(version=1)
    second = v2(version=2, pcf__pCfExcludingBiogenic="7.9")
    result = read([second, first])
    (item,) = result.items
    assert item.declaration.product_footprint.pcf_excluding_biogenic_emissions_kgco2e == 7.9
    (issue,) = result.issues
    assert (issue.index, issue.kind) == (1, "superseded")


# Validity period ---------------------------------------------------------------------------------


def test_an_expired_footprint_is_reported_not_sent() -> None:
    explicit = v2(
        validityPeriodStart="2026-01-01T00:00:00Z", validityPeriodEnd="2026-05-01T00:00:00Z"
    )
    (issue,) = read(explicit).issues
    assert (issue.kind, issue.message) == ("expired", "validity ended 2026-05-01")
    assert read(explicit).items == []
    default = v3()  # no validity period: referencePeriodEnd 2026-03-01 + 3 years
    later = read_pact_document(default, "sup-001", "s1", 0.3, now=datetime(2029, 3, 1, tzinfo=UTC))
    assert [i.kind for i in later.issues] == ["expired"] and later.items == []
    assert (
        len(
            read_pact_document(default, "s", "s1", 0.3, now=datetime(2029, 2, 28, tzinfo=UTC)).items
        )
        == 1
    )


def test_a_footprint_not_valid_yet_is_reported_not_sent() -> None:
    result = read(v2(validityPeriodStart="2026-09-01T00:00:00Z"))
    assert [(i.kind, i.message) for i in result.issues] == [
        ("not-yet-valid", "validity starts 2026-09-01")
    ]
    assert result.items == []


# Output shares -----------------------------------------------------------------------------------


def test_output_shares_come_per_product_from_a_file_or_the_default(tmp_path: Path) -> None:
    shares_file = tmp_path / "shares.yaml"
    shares_file.write_text("default: 0.1\nproducts:\n  urn:gtin:4712345060507: 0.45\n")
    shares = OutputShares.load(shares_file)
    result = read([v2(), v3()], shares)  # v2 matches by its second product id
    by_id = {i.declaration.product_footprint.pact_footprint_id: i for i in result.items}
    assert by_id[V2_ID].declaration.product_footprint.output_value_share == 0.45
    assert by_id[V3_ID].declaration.product_footprint.output_value_share == 0.1
    assert OutputShares.load(shares_file, default=0.2).default == 0.2  # --output-share wins


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("products:\n  urn:a:b: 1.4\n", "1.4 is above 1"),
        ("default: -0.1\n", "-0.1 is not a share"),
        ("products:\n  urn:a:b: lots\n", "products.urn:a:b: Input should be a valid number"),
        ("share: 0.2\n", "share: Extra inputs are not permitted"),
    ],
)
def test_a_bad_output_shares_file_is_an_error(tmp_path: Path, content: str, message: str) -> None:
    shares_file = tmp_path / "shares.yaml"
    shares_file.write_text(content)
    with pytest.raises(PactError) as err:
        OutputShares.load(shares_file)
    assert str(shares_file) in str(err.value) and message in str(err.value)


def test_output_shares_are_never_capped_or_assumed() -> None:
    other = v3(id="11111111-2222-4333-8444-555555555555", productIds=["urn:gtin:1"])
    with pytest.raises(PactError, match=r"add up to 1\.2, above 1"):
        read([v3(), other], 0.6)
    with pytest.raises(PactError, match="is above 1"):
        read(v3(), 1.5)
    with pytest.raises(PactError, match="no output share for product"):
        read(v3(), None)
    # a withdrawal needs no share
    assert (
        read(v3(status="Deprecated"), None).items[0].declaration.product_footprint.pact_deprecated
    )


# The fixtures of greenchain.testing and the command line ----------------------------------------


def test_the_sample_documents_of_both_versions(tmp_path: Path) -> None:
    from greenchain.testing import DATA

    two = read_pact(DATA / "pact_v2.json", "sup-001", "s1", 0.3, now=NOW)
    three = read_pact(DATA / "pact_v3.json", "sup-001", "s1", 0.3, now=NOW)
    assert (two.shape, three.shape) == (
        "ProductFootprint",
        'ListFootprints response {"data": [...]}',
    )
    assert two.items[0].declaration.product_footprint.pcf_excluding_biogenic_emissions_kgco2e == 8.2
    assert three.items[0].declaration.product_footprint.pcf_excluding_biogenic_uptake_kgco2e == 4.4
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PactError, match=r"bad\.json: not JSON"):
        read_pact(bad, "sup-001", "s1", 0.3)


def _dry_run(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "greenchain.client.cli",
            "connect",
            "--dry-run",
            str(path),
            "--output",
            "json",
            "--pact-supplier",
            "sup-001",
            "--pact-site",
            "s2",
            "--target",
            "127.0.0.1:9",  # nothing listens there: a dry run must not need it
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dry_run_prints_the_declarations_of_a_v2_list_envelope_and_a_v3_event(
    tmp_path: Path,
) -> None:
    listing = tmp_path / "list.json"
    second = v2(
        id="5d1e6b0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        productIds=["urn:greenchain:sup-001:product:cover"],
        pcf__pCfExcludingBiogenic="3.25",
        pcf__assurance={"assurance": False, "providerName": ""},
    )
    listing.write_text(json.dumps({"data": [v2(), second]}))
    shares = tmp_path / "shares.yaml"
    shares.write_text("products:\n  urn:greenchain:sup-001:product:cover: 0.15\n")
    run = _dry_run(listing, "--output-share", "0.5", "--output-shares", str(shares))
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["productFootprint"]["pactFootprintId"] for line in lines] == [
        V2_ID,
        "5d1e6b0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
    ]
    first, cover = (line["productFootprint"] for line in lines)
    assert (lines[0]["supplierId"], lines[0]["siteId"]) == ("sup-001", "s2")
    assert lines[0]["period"] == {"year": 2025, "month": 12}
    assert lines[0]["assurance"] == {
        "level": "ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED",
        "verifier": "TUV SUD",
    }
    assert lines[1]["assurance"] == {"level": "ASSURANCE_LEVEL_SELF_DECLARED"}
    assert first["pcfExcludingBiogenicEmissionsKgco2e"] == 8.2
    assert first["pcfIncludingBiogenicEmissionsKgco2e"] == -0.4
    assert "pcfExcludingBiogenicUptakeKgco2e" not in first
    assert (first["outputValueShare"], cover["outputValueShare"]) == (0.5, 0.15)
    assert cover["pcfExcludingBiogenicEmissionsKgco2e"] == 3.25
    assert first["primaryDataShare"] == 0.65 and first["declaredUnit"] == "kilogram"
    assert 'ListFootprints response {"data": [...]}: 2 footprint(s), 2 to send' in run.stderr

    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(_event("org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3", [v3()]))
    )
    run = _dry_run(event, "--output-share", "0.2")
    assert run.returncode == 0, run.stderr
    (line,) = [json.loads(text) for text in run.stdout.splitlines()]
    body = line["productFootprint"]
    assert body["pcfExcludingBiogenicUptakeKgco2e"] == 4.4
    assert body["pcfIncludingBiogenicUptakeKgco2e"] == 3.9
    assert "pcfExcludingBiogenicEmissionsKgco2e" not in body
    assert (body["declaredUnit"], body["declaredUnitAmount"]) == ("piece", 2.0)
    assert body["primaryDataShare"] == 0.405 and body["outputValueShare"] == 0.2
    assert body["dqi"] == {"technologicalDqr": 2.0, "temporalDqr": 1.0, "geographicalDqr": 4.5}
    assert line["period"] == {"year": 2026, "month": 2}
    assert line["assurance"]["verifier"] == "China Quality Certification Centre"
    assert "3.x RequestFulfilledEvent" in run.stderr


def test_dry_run_names_invalid_footprints_and_bad_documents(tmp_path: Path) -> None:
    document = tmp_path / "mixed.json"
    document.write_text(json.dumps([v3(pcf__declaredUnitOfMeasurement="kg"), v2()]))
    run = _dry_run(document, "--output-share", "0.2")
    assert run.returncode == 1
    assert len(run.stdout.splitlines()) == 1  # the valid footprint
    assert "footprint 0" in run.stderr and "pcf.declaredUnitOfMeasurement" in run.stderr
    envelope = tmp_path / "ids.json"
    envelope.write_text(
        json.dumps(
            {
                "type": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
                "specversion": "1.0",
                "data": {"pfIds": [V2_ID]},
            }
        )
    )
    run = _dry_run(envelope, "--output-share", "0.2")
    assert run.returncode == 2 and run.stdout == ""
    assert "carries only footprint ids" in " ".join(run.stderr.split())
    run = _dry_run(document, "--output-share", "1.3")
    assert run.returncode == 2 and "1.3 is above 1" in " ".join(run.stderr.split())


def test_a_document_is_the_same_whatever_the_copy() -> None:
    document = {"data": [v2(), v3()]}
    snapshot = copy.deepcopy(document)
    first = [i.declaration.declaration_id for i in read(document).items]
    assert document == snapshot  # reading does not change the document
    assert first == [i.declaration.declaration_id for i in read(snapshot).items]
