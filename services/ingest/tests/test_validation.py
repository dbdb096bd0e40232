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


def _footprint() -> d.Declaration:
    return envelope("product_footprint")  # a PACT 2.3.0 footprint (builders)


def test_pact_v2_and_v3_quantities_are_separate_fields_never_mixed() -> None:
    mixed = _footprint()
    mixed.product_footprint.pcf_excluding_biogenic_uptake_kgco2e = 4.0
    assert "product_footprint.pcf_excluding_biogenic_uptake_kgco2e" in paths(mixed)
    v3 = _footprint()
    body = v3.product_footprint
    body.pact_spec_version = "3.0.0"
    body.ClearField("pcf_excluding_biogenic_emissions_kgco2e")
    body.ClearField("pcf_including_biogenic_emissions_kgco2e")
    body.pcf_excluding_biogenic_uptake_kgco2e = -0.5  # 3.x: a Decimal of either sign
    assert paths(v3) == {"product_footprint.pcf_including_biogenic_uptake_kgco2e"}
    body.pcf_including_biogenic_uptake_kgco2e = -1.5
    assert paths(v3) == set()
    v2 = _footprint()
    v2.product_footprint.ClearField("pcf_excluding_biogenic_emissions_kgco2e")
    assert paths(v2) == {"product_footprint.pcf_excluding_biogenic_emissions_kgco2e"}
    v2.product_footprint.pcf_excluding_biogenic_emissions_kgco2e = -1.0  # 2.x: >= 0
    assert paths(v2) == {"product_footprint.pcf_excluding_biogenic_emissions_kgco2e"}


def test_a_record_of_an_older_connector_is_checked_on_the_legacy_fields() -> None:
    old = _footprint()
    body = old.product_footprint
    body.ClearField("pcf_excluding_biogenic_emissions_kgco2e")
    body.ClearField("pcf_including_biogenic_emissions_kgco2e")
    body.legacy_pcf_excluding_biogenic_kgco2e = 8.2  # pact_spec_version is still "2.3.0"
    assert paths(old) == set()
    body.legacy_pcf_excluding_biogenic_kgco2e = math.nan
    assert paths(old) == {"product_footprint.legacy_pcf_excluding_biogenic_kgco2e"}


def test_a_missing_primary_data_share_needs_the_dqi_in_pact_2() -> None:
    decl = _footprint()
    body = decl.product_footprint
    body.primary_data_share_absent = True
    assert paths(decl) == {"product_footprint.primary_data_share", "product_footprint.dqi"}
    body.primary_data_share = 0.0
    body.dqi.technological_dqr = 2.0
    assert paths(decl) == set()
    body.dqi.temporal_dqr = 4.0  # 2.x ratings are 1..3
    assert paths(decl) == {"product_footprint.dqi.temporal_dqr"}


def test_an_expired_footprint_is_not_current_but_may_be_withdrawn() -> None:
    decl = _footprint()
    body = decl.product_footprint
    body.valid_until.FromDatetime(datetime(2024, 3, 1, tzinfo=UTC))  # before submitted_at
    assert paths(decl) == {"product_footprint.valid_until"}
    body.pact_deprecated = True
    assert paths(decl) == set()
    body.valid_until.FromDatetime(datetime(2027, 1, 1, tzinfo=UTC))
    body.pact_deprecated = False
    body.preceding_pact_footprint_ids.append(body.pact_footprint_id)  # itself
    assert paths(decl) == {"product_footprint.preceding_pact_footprint_ids[0]"}


def test_pollutants_are_optional_but_must_be_plausible_when_declared() -> None:
    decl = envelope("circularity")
    decl.circularity.ClearField("so2_t")  # not declared: fine
    decl.circularity.nox_t = -0.1
    decl.circularity.cod_t = math.inf
    assert paths(decl) == {"circularity.nox_t", "circularity.cod_t"}
    fuels = envelope("energy")
    fuels.energy.diesel_t = -1
    assert paths(fuels) == {"energy.diesel_t"}


def test_legacy_pcf_fields_cannot_ride_along_with_the_versioned_ones() -> None:
    decl = envelope("product_footprint")
    decl.product_footprint.legacy_pcf_excluding_biogenic_kgco2e = -math.inf
    assert paths(decl) == {"product_footprint.legacy_pcf_excluding_biogenic_kgco2e"}


# issue 19, item 7: whole-string ids, bounded submitted_at, NFC text -------------------------


@pytest.mark.parametrize("field", ["declaration_id", "supplier_id", "site_id"])
@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\x00"])
def test_an_id_with_a_trailing_newline_is_rejected(field: str, suffix: str) -> None:
    decl = envelope("energy")
    setattr(decl, field, getattr(decl, field) + suffix)
    assert field in paths(decl)


def test_registry_ids_must_match_whole() -> None:
    entry = supplier("sup-001\n", chains=("chain-a\n",))
    entry.sites[0].site_id = "s1\n"
    assert {"supplier_id", "chain_ids[0]", "sites[0].site_id"} <= {
        p for p, _ in validate_supplier(entry)
    }


def test_submitted_before_its_period_began_is_rejected() -> None:
    decl = envelope("emissions", year=2024, month=5)
    decl.submitted_at.FromDatetime(datetime(2024, 4, 29, tzinfo=UTC))  # before May, > 1 day
    assert "submitted_at" in paths(decl)
    decl.submitted_at.FromDatetime(datetime(2024, 4, 30, 12, tzinfo=UTC))  # time-zone slack
    assert "submitted_at" not in paths(decl)


def test_an_absurdly_old_submission_is_rejected() -> None:
    decl = envelope("emissions", year=2024, month=5)
    decl.submitted_at.seconds = 0  # 1970
    assert "submitted_at" in paths(decl)
    decl.submitted_at.seconds = -62_135_596_800  # year 1
    assert "submitted_at" in paths(decl)


def test_text_that_is_not_nfc_is_rejected_with_its_path() -> None:
    decomposed = "Cafe\u0301 plant"  # e + combining acute: NFD, not NFC
    decl = envelope("energy")
    decl.source = decomposed
    assert "source" in paths(decl)
    decl = envelope("energy")
    decl.assurance.verifier = decomposed
    assert "assurance.verifier" in paths(decl)
    decl = envelope("product_footprint")
    decl.product_footprint.declared_unit = decomposed
    assert "product_footprint.declared_unit" in paths(decl)
    entry = supplier("sup-001")
    entry.name = decomposed
    entry.sites[0].name = decomposed
    assert {"name", "sites[0].name"} <= {p for p, _ in validate_supplier(entry)}
    # the same text composed is fine
    decl = envelope("energy")
    decl.source = "Caf\u00e9 plant"
    assert paths(decl) == set()


@pytest.mark.parametrize("year", [1, 10_000, 2**31 - 1, -5])
def test_an_impossible_period_year_with_a_sane_submission_is_a_violation_not_a_crash(
    year: int,
) -> None:
    decl = envelope("emissions", year=2024, month=5)
    decl.period.year = year
    assert "period" in {p.split(".")[0] for p in paths(decl)}


# Bounds: every string and repeated field has a limit, and the violation names it -------------


@pytest.mark.parametrize(
    ("kind", "field", "longest"),
    [
        ("product_footprint", "product_id", 128),
        ("product_footprint", "product_name", 256),
        ("energy", "grid_region", 64),
        ("emissions", "production_unit", 32),
    ],
)
def test_a_string_longer_than_its_limit_is_named_with_the_limit(
    kind: str, field: str, longest: int
) -> None:
    decl = envelope(kind)
    setattr(getattr(decl, kind), field, "x" * longest)
    assert f"{kind}.{field}" not in paths(decl)  # at the limit: fine
    setattr(getattr(decl, kind), field, "x" * (longest + 1))
    found = dict(validate_declaration(decl, REGISTRY, NOW))
    assert f"at most {longest}" in found[f"{kind}.{field}"]
    assert f"limit of {kind}.{field}" in found[f"{kind}.{field}"]


def test_unlisted_strings_have_the_default_limit_and_the_source_its_own() -> None:
    decl = envelope("energy")
    decl.source = "s" * 201
    decl.assurance.statement_id = "n" * 129
    found = dict(validate_declaration(decl, REGISTRY, NOW))
    assert "at most 200" in found["source"]
    assert "at most 128" in found["assurance.statement_id"]


def test_repeated_fields_have_a_count_limit_with_indexed_items_checked() -> None:
    decl = envelope("product_footprint")
    body = decl.product_footprint
    body.pact_footprint_id = "pf-1"
    body.preceding_pact_footprint_ids.extend(f"old-{i}" for i in range(21))
    found = dict(validate_declaration(decl, REGISTRY, NOW))
    assert "at most 20" in found["product_footprint.preceding_pact_footprint_ids"]
    offsets = envelope("offsets")
    template = offsets.offsets.retirements[0]
    offsets.offsets.retirements.extend([template] * 100)
    assert (
        "at most 100" in dict(validate_declaration(offsets, REGISTRY, NOW))["offsets.retirements"]
    )
    offsets = envelope("offsets")
    offsets.offsets.retirements[0].registry = "r" * 201
    assert "offsets.retirements[0].registry" in paths(offsets)


def test_registry_entries_are_bounded_too() -> None:
    entry = supplier("sup-001")
    entry.name = "n" * 257
    entry.chain_ids.extend(f"c{i}" for i in range(101))
    found = dict(validate_supplier(entry))
    assert "at most 256" in found["name"]
    assert "at most 100" in found["chain_ids"]
