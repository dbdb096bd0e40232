"""The ingest validation rules one by one (pure functions, no server, no Kafka)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from greenchain.ingest.validation import validate_declaration, validate_supplier
from greenchain.testing.builders import BODY_KINDS, envelope, supplier
from greenchain.v1 import declaration_pb2 as d

NOW = datetime(2024, 6, 1, tzinfo=UTC)
REGISTRY = {"sup-001": supplier("sup-001")}


def paths(decl: d.Declaration) -> set[str]:
    return {path for path, _ in validate_declaration(decl, REGISTRY, NOW)}


@pytest.mark.parametrize("kind", BODY_KINDS)
def test_a_complete_declaration_of_every_kind_is_valid(kind: str) -> None:
    assert validate_declaration(envelope(kind), REGISTRY, NOW) == []


def test_unknown_supplier_and_foreign_site_are_named() -> None:
    stranger = envelope("energy", supplier_id="sup-999")
    assert paths(stranger) == {"supplier_id"}
    elsewhere = envelope("energy", site="s9")
    assert paths(elsewhere) == {"site_id"}
    # without a registry the registry checks are skipped
    assert validate_declaration(stranger, None, NOW) == []


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 1e13])
def test_quantities_must_be_finite_non_negative_and_plausible(value: float) -> None:
    decl = envelope("energy")
    decl.energy.electricity_kwh = value
    assert "energy.electricity_kwh" in paths(decl)


def test_a_renewable_part_cannot_exceed_the_electricity() -> None:
    decl = envelope("energy")
    decl.energy.renewable_onsite_kwh = decl.energy.electricity_kwh * 2
    assert any(p.startswith("energy.renewable") for p in paths(decl))


def test_future_periods_and_submissions_are_rejected() -> None:
    decl = envelope("emissions", year=2024, month=9)
    assert "period" in {p.split(".")[0] for p in paths(decl)}
    decl = envelope("emissions")
    decl.submitted_at.FromDatetime(datetime(2024, 6, 3, tzinfo=UTC))
    assert "submitted_at" in paths(decl)


def test_verified_needs_a_verifier_and_a_body_is_required() -> None:
    decl = envelope("circularity")
    decl.assurance.verifier = " "
    decl.ClearField("circularity")
    assert {"assurance.verifier", "body"} <= paths(decl)


def test_supplier_registry_entries() -> None:
    assert validate_supplier(supplier()) == []
    bad = supplier()
    bad.sector_code = "A01"  # agriculture: not a manufacturing division
    bad.sites[0].land_area_m2 = 0
    bad.sites.add(site_id="s1", land_area_m2=10)  # duplicate site id
    assert {p for p, _ in validate_supplier(bad)} == {
        "sector_code",
        "sites[0].land_area_m2",
        "sites[1].site_id",
    }


def test_offsets_and_carbon_management_name_their_fields() -> None:
    decl = envelope("offsets")
    first = decl.offsets.retirements[0]
    first.kind = d.OFFSET_KIND_UNSPECIFIED
    first.serial_reference = ""
    decl.offsets.retirements[1].vintage_year = 2030  # after NOW
    decl.offsets.retirements[1].quantity = -5
    assert paths(decl) == {
        "offsets.retirements[0].kind",
        "offsets.retirements[0].serial_reference",
        "offsets.retirements[1].vintage_year",
        "offsets.retirements[1].quantity",
    }
    empty = envelope("offsets")
    del empty.offsets.retirements[:]
    assert paths(empty) == {"offsets.retirements"}
    management = envelope("carbon_management")
    management.carbon_management.accounting_standard = ""
    management.carbon_management.disclosure_reference = ""
    assert paths(management) == {
        "carbon_management.accounting_standard",
        "carbon_management.disclosure_reference",
    }
