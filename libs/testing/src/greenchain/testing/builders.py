"""Hand-made protobuf messages for tests, with every field set (so a lost field shows)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.common.ratings import declarations_digest
from greenchain.v1 import declaration_pb2 as d
from greenchain.v1 import rating_pb2
from greenchain.v1 import supplier_pb2 as s


def ts(year: int, month: int, day: int = 1) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime(year, month, day, tzinfo=UTC))
    return stamp


def envelope(
    kind: str, supplier_id: str = "sup-001", year: int = 2024, month: int = 3, site: str = "s1"
) -> d.Declaration:
    """A verified declaration of body ``kind`` with every field set."""
    decl = d.Declaration(
        declaration_id=f"{supplier_id}:{site}:{year}-{month:02d}:{kind}:v1",
        supplier_id=supplier_id,
        site_id=site,
        period=d.Period(year=year, month=month),
        submitted_at=ts(year, month, 15),
        source="test-erp:builders",
        assurance=d.Assurance(
            level=d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED, verifier="CQC", statement_id="V-1"
        ),
    )
    if kind == "emissions":
        decl.emissions.CopyFrom(
            d.EmissionsBody(
                scope1_tco2e=120.5,
                scope2_location_tco2e=300.25,
                scope2_market_tco2e=250.0,
                scope3_tco2e=900.0,
                output_value_cny=25_000_000.0,
                production_volume=1_200.0,
                production_unit="t",
            )
        )
    elif kind == "energy":
        decl.energy.CopyFrom(
            d.EnergyBody(
                electricity_kwh=600_000.0,
                renewable_onsite_kwh=60_000.0,
                renewable_certificates_kwh=30_000.0,
                renewable_ppa_kwh=10_000.0,
                natural_gas_m3=20_000.0,
                coal_t=5.0,
                gasoline_t=0.5,
                diesel_t=1.0,
                fuel_oil_t=0.2,
                oil_products_t=1.5,
                purchased_heat_gj=300.0,
                grid_region="east",
            )
        )
    elif kind == "circularity":
        decl.circularity.CopyFrom(
            d.CircularityBody(
                raw_material_input_t=1_500.0,
                recycled_input_t=300.0,
                solid_waste_generated_t=80.0,
                solid_waste_utilised_t=60.0,
                hazardous_waste_t=0.8,
                water_withdrawn_m3=9_000.0,
                water_reused_m3=2_500.0,
                so2_t=0.4,
                nox_t=0.7,
                particulates_t=0.2,
                cod_t=1.1,
                ammonia_nitrogen_t=0.05,
            )
        )
    elif kind == "product_footprint":
        decl.product_footprint.CopyFrom(
            d.ProductFootprintBody(
                product_id="P-100",
                product_name="Aluminium housing",
                declared_unit="kilogram",
                declared_unit_amount=1.0,
                pcf_excluding_biogenic_emissions_kgco2e=8.2,
                pcf_including_biogenic_emissions_kgco2e=8.1,
                primary_data_share=0.65,
                reference_period_start=ts(2023, 1),
                reference_period_end=ts(2024, 1),
                output_value_share=0.4,
                pact_footprint_id="3fa85f64-5717-4562-b3fc-2c963f66afa6",
                pact_spec_version="2.3.0",
            )
        )
    elif kind == "offsets":
        decl.offsets.CopyFrom(
            d.OffsetsBody(
                retirements=[
                    d.OffsetRetirement(
                        kind=d.OFFSET_KIND_CCER,
                        quantity=40.0,
                        serial_reference="CCER-2024-000123..000162",
                        registry="national CCER registry",
                        vintage_year=2023,
                    ),
                    d.OffsetRetirement(
                        kind=d.OFFSET_KIND_GREEN_CERTIFICATE,
                        quantity=25.0,
                        serial_reference="GEC-2024-7788",
                        registry="green certificate trading platform",
                        vintage_year=2024,
                    ),
                ]
            )
        )
    elif kind == "carbon_management":
        decl.carbon_management.CopyFrom(
            d.CarbonManagementBody(
                accounting_system=True,
                accounting_standard="GB/T 32150-2015",
                disclosure_published=True,
                disclosure_reference="2024 ESG report, p. 12",
            )
        )
    else:
        raise ValueError(kind)
    return decl


def verification(
    decl: d.Declaration, by: str = "verifier:cqc", statement_id: str = "VS-2024-001"
) -> d.Declaration:
    """The record ingest's VerifyDeclaration writes when ``by`` verifies ``decl``."""
    submitted = Timestamp(seconds=decl.submitted_at.seconds + 86_400)
    return d.Declaration(
        declaration_id=decl.declaration_id,
        supplier_id=decl.supplier_id,
        site_id=decl.site_id,
        period=decl.period,
        submitted_at=submitted,
        source="greenchain-ingest:VerifyDeclaration",
        verification=d.Verification(verifier="CQC", statement_id=statement_id, recorded_by=by),
    )


BODY_KINDS = (
    "emissions",
    "energy",
    "circularity",
    "product_footprint",
    "offsets",
    "carbon_management",
)


def supplier(
    supplier_id: str = "sup-001", chains: tuple[str, ...] = ("chain-a",), sector: str = "C36"
) -> s.Supplier:
    return s.Supplier(
        supplier_id=supplier_id,
        name=f"Supplier {supplier_id}",
        sector_code=sector,
        region="jiangsu",
        sites=[s.Site(site_id="s1", name="Main plant", land_area_m2=50_000.0, region="jiangsu")],
        chain_ids=list(chains),
        annual_output_value_cny=300_000_000.0,
        updated_at=ts(2024, 1),
    )


def rating(
    supplier_id: str,
    total: float,
    tier: int,
    output: float,
    chains: tuple[str, ...] = ("chain-a",),
    revision: int = 1,
    window_end: tuple[int, int] = (2025, 12),
    sector: str = "C36",
    designated: int = 0,
    purchase: float | None = None,
) -> rating_pb2.SupplierRating:
    """A hand-made rating (the ledger does not care how it was computed); the next tier's
    minimum score is the packaged methodology's (municipal 50, provincial 65, national 80)."""
    grade = rating_pb2.GRADE_A if total >= 50 else rating_pb2.GRADE_B
    next_min = NEXT_TIER_MIN_SCORE.get(tier)
    made = rating_pb2.SupplierRating(
        supplier_id=supplier_id,
        supplier_name=f"Supplier {supplier_id}",
        sector_code=sector,
        chain_ids=list(chains),
        as_of=ts(2026, 1),
        window_start=d.Period(year=window_end[0] - 1, month=window_end[1] % 12 + 1),
        window_end=d.Period(year=window_end[0], month=window_end[1]),
        total_score=total,
        grade=grade,
        readiness_tier=tier,  # type: ignore[arg-type]
        methodology_version="test",
        declarations_digest=declarations_digest([f"{supplier_id}-d{revision}"]),
        output_value_cny=output,
        revision=revision,
    )
    if next_min is not None:
        made.next_tier_min_score = next_min
    # one site carrying the whole output, with an active green-factory designation at level
    # ``designated`` (a DesignationLevel; 0 = none)
    site = made.sites.add(site_id="s1", output_value_cny=output)
    if designated:
        site.green_factory.CopyFrom(
            s.Designation(
                level=designated,  # type: ignore[arg-type]
                year=2024,
                list_reference="test list",
                status=s.DESIGNATION_STATUS_ACTIVE,
            )
        )
        made.green_factory_level = designated  # type: ignore[assignment]
    if purchase is not None:
        made.purchases.add(chain_id=chains[0], annual_purchase_value_cny=purchase)
    return made


NEXT_TIER_MIN_SCORE: dict[int, float] = {
    rating_pb2.READINESS_TIER_NOT_YET: 50.0,
    rating_pb2.READINESS_TIER_MUNICIPAL: 65.0,
    rating_pb2.READINESS_TIER_PROVINCIAL: 80.0,
}
