"""Properties of the rating model and the state it is fed from (hypothesis)."""

from __future__ import annotations

import copy

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from greenchain.scoring.model import SUPPLIER_SCHEMA, Methodology, rate
from greenchain.scoring.state import SupplierState, apply, declarations_frame
from greenchain.testing.builders import envelope
from greenchain.v1 import declaration_pb2 as d

METHODOLOGY = Methodology.load()
REGISTRY = pl.DataFrame(
    [
        {
            "supplier_id": "sup-001",
            "supplier_name": "P",
            "sector_code": "C36",  # a sector with a configured table: benchmarks are fixed
            "region": "jiangsu",
            "land_area_m2": 50_000.0,
            "chain_ids": ["c"],
        }
    ],
    schema=SUPPLIER_SCHEMA,
)

quantity = st.floats(min_value=0.0, max_value=1e7, allow_nan=False, allow_infinity=False)
share = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def supplier_months(draw: st.DrawFn) -> list[d.Declaration]:
    """1..14 months of emissions, energy and circularity declarations of one supplier."""
    months = draw(st.integers(1, 14))
    decls: list[d.Declaration] = []
    for i in range(months):
        year, month = 2024 + i // 12, i % 12 + 1
        e, n, c = (
            envelope(k, year=year, month=month) for k in ("emissions", "energy", "circularity")
        )
        e.emissions.scope1_tco2e = draw(quantity)
        e.emissions.output_value_cny = draw(st.floats(min_value=0.0, max_value=1e10))
        n.energy.electricity_kwh = draw(quantity)
        renewable = draw(share) * n.energy.electricity_kwh
        n.energy.renewable_onsite_kwh, n.energy.renewable_certificates_kwh = renewable, 0.0
        n.energy.renewable_ppa_kwh = 0.0
        n.energy.natural_gas_m3 = draw(quantity)
        c.circularity.water_withdrawn_m3 = draw(quantity)
        c.circularity.water_reused_m3 = draw(share) * c.circularity.water_withdrawn_m3
        c.circularity.hazardous_waste_t = draw(st.floats(0.0, 1e3))
        decls += [e, n, c]
    return decls


def total(decls: list[d.Declaration]) -> float:
    state: SupplierState = {}
    for decl in decls:
        apply(state, decl)
    (row,) = rate(declarations_frame({"sup-001": state}), REGISTRY, METHODOLOGY).iter_rows(
        named=True
    )
    return float(row["total_score"])


@settings(max_examples=60, deadline=None)
@given(supplier_months())
def test_total_is_between_0_and_100(decls: list[d.Declaration]) -> None:
    assert 0.0 <= total(decls) <= 100.0


@settings(max_examples=60, deadline=None)
@given(
    supplier_months(),
    # > 0: without any electricity the renewable share is undefined (no points), by design
    st.floats(min_value=0.01, max_value=1.0),
    st.sampled_from(["scope1", "gas", "electricity"]),
)
def test_lower_carbon_or_energy_never_lowers_the_score(
    decls: list[d.Declaration], factor: float, what: str
) -> None:
    better = copy.deepcopy(decls)
    for decl in better:
        if what == "scope1" and decl.HasField("emissions"):
            decl.emissions.scope1_tco2e *= factor
        elif what == "gas" and decl.HasField("energy"):
            decl.energy.natural_gas_m3 *= factor
        elif what == "electricity" and decl.HasField("energy"):  # same renewable share
            decl.energy.electricity_kwh *= factor
            decl.energy.renewable_onsite_kwh *= factor
            decl.energy.renewable_certificates_kwh *= factor
            decl.energy.renewable_ppa_kwh *= factor
    assert total(better) >= total(decls) - 1e-9


@settings(max_examples=40, deadline=None)
@given(supplier_months(), st.floats(min_value=0.0, max_value=1e7))
def test_a_correction_supersedes_the_declaration_it_corrects(
    decls: list[d.Declaration], corrected_gas: float
) -> None:
    energy = next(x for x in decls if x.HasField("energy"))
    correction = copy.deepcopy(energy)
    correction.declaration_id += "-fix"
    correction.submitted_at.seconds += 3600
    correction.energy.natural_gas_m3 = corrected_gas
    as_if_right_first = [correction if x is energy else x for x in decls]
    assert total([*decls, correction]) == total(as_if_right_first)
    # and a stale replay of the old version does not undo the correction
    assert total([*decls, correction, energy]) == total(as_if_right_first)


@settings(max_examples=40, deadline=None)
@given(supplier_months(), st.data())
def test_a_duplicate_changes_nothing(decls: list[d.Declaration], data: st.DataObject) -> None:
    duplicate = data.draw(st.sampled_from(decls))
    state: SupplierState = {}
    for decl in decls:
        apply(state, decl)
    before = copy.deepcopy(state)
    assert apply(state, duplicate) is False
    assert state == before
    assert total([*decls, duplicate]) == total(decls)
