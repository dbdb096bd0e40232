"""Every validation rule, sent to the running ingest service: INVALID_ARGUMENT naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import grpc
import pytest

from greenchain.common.grpc_server import field_violations
from greenchain.ingest.server import IngestServer
from greenchain.testing.builders import envelope, supplier, ts
from greenchain.testing.grpc_clients import channel
from greenchain.testing.kafka_broker import isolated_settings
from greenchain.v1 import declaration_pb2 as d
from greenchain.v1 import ingest_pb2_grpc

NOW = datetime.now(UTC)
Mutation = Callable[[d.Declaration], None]


def _set(path: str, value: object) -> Mutation:
    def mutate(decl: d.Declaration) -> None:
        target: object = decl
        *parents, leaf = path.split(".")
        for part in parents:
            target = getattr(target, part)
        setattr(target, leaf, value)

    return mutate


def _clear(name: str) -> Mutation:
    return lambda decl: decl.ClearField(name)


CASES: list[tuple[str, str, Mutation, str]] = [
    # (id, body kind, mutation, field expected in the violations)
    ("declaration_id empty", "energy", _set("declaration_id", ""), "declaration_id"),
    ("declaration_id bad chars", "energy", _set("declaration_id", "a b/c"), "declaration_id"),
    ("supplier_id empty", "energy", _set("supplier_id", ""), "supplier_id"),
    ("unknown supplier", "energy", _set("supplier_id", "sup-404"), "supplier_id"),
    ("unknown site", "energy", _set("site_id", "s9"), "site_id"),
    ("period missing", "energy", _clear("period"), "period"),
    ("month 13", "energy", _set("period.month", 13), "period.month"),
    ("period in the future", "energy", _set("period.year", NOW.year + 1), "period"),
    ("period absurdly old", "energy", _set("period.year", 1990), "period.year"),
    ("submitted_at missing", "energy", _clear("submitted_at"), "submitted_at"),
    (
        "submitted_at in the future",
        "energy",
        lambda x: x.submitted_at.CopyFrom(ts(NOW.year + 2, 1)),
        "submitted_at",
    ),
    ("source missing", "energy", _set("source", ""), "source"),
    ("assurance missing", "energy", _clear("assurance"), "assurance.level"),
    ("verified without verifier", "energy", _set("assurance.verifier", ""), "assurance.verifier"),
    ("no body", "energy", _clear("energy"), "body"),
    (
        "negative electricity",
        "energy",
        _set("energy.electricity_kwh", -1.0),
        "energy.electricity_kwh",
    ),
    ("NaN gas", "energy", _set("energy.natural_gas_m3", float("nan")), "energy.natural_gas_m3"),
    ("infinite coal", "energy", _set("energy.coal_t", float("inf")), "energy.coal_t"),
    ("huge heat", "energy", _set("energy.purchased_heat_gj", 1e15), "energy.purchased_heat_gj"),
    (
        "renewable above total",
        "energy",
        _set("energy.renewable_onsite_kwh", 10e6),
        "energy.renewable_onsite_kwh",
    ),
    (
        "negative scope 1",
        "emissions",
        _set("emissions.scope1_tco2e", -5.0),
        "emissions.scope1_tco2e",
    ),
    (
        "NaN scope 3",
        "emissions",
        _set("emissions.scope3_tco2e", float("nan")),
        "emissions.scope3_tco2e",
    ),
    (
        "output value in fen",
        "emissions",
        _set("emissions.output_value_cny", 5e13),
        "emissions.output_value_cny",
    ),
    (
        "volume without unit",
        "emissions",
        _set("emissions.production_unit", ""),
        "emissions.production_unit",
    ),
    (
        "recycled above input",
        "circularity",
        _set("circularity.recycled_input_t", 2000.0),
        "circularity.recycled_input_t",
    ),
    (
        "utilised above generated",
        "circularity",
        _set("circularity.solid_waste_utilised_t", 81.0),
        "circularity.solid_waste_utilised_t",
    ),
    (
        "reused above withdrawn",
        "circularity",
        _set("circularity.water_reused_m3", 9001.0),
        "circularity.water_reused_m3",
    ),
    (
        "negative hazardous waste",
        "circularity",
        _set("circularity.hazardous_waste_t", -0.1),
        "circularity.hazardous_waste_t",
    ),
    (
        "product id missing",
        "product_footprint",
        _set("product_footprint.product_id", ""),
        "product_footprint.product_id",
    ),
    (
        "declared unit missing",
        "product_footprint",
        _set("product_footprint.declared_unit", ""),
        "product_footprint.declared_unit",
    ),
    (
        "zero declared amount",
        "product_footprint",
        _set("product_footprint.declared_unit_amount", 0.0),
        "product_footprint.declared_unit_amount",
    ),
    (
        "negative pcf",
        "product_footprint",
        _set("product_footprint.pcf_excluding_biogenic_emissions_kgco2e", -1.0),
        "product_footprint.pcf_excluding_biogenic_emissions_kgco2e",
    ),
    (
        "primary share above 1",
        "product_footprint",
        _set("product_footprint.primary_data_share", 1.5),
        "product_footprint.primary_data_share",
    ),
    (
        "output share negative",
        "product_footprint",
        _set("product_footprint.output_value_share", -0.1),
        "product_footprint.output_value_share",
    ),
    # issue 19, item 7
    ("declaration_id newline", "energy", _set("declaration_id", "d-1\n"), "declaration_id"),
    ("supplier_id newline", "energy", _set("supplier_id", "sup-001\n"), "supplier_id"),
    (
        "submitted_at before the period",
        "energy",
        lambda x: x.submitted_at.CopyFrom(ts(x.period.year - 1, 1)),
        "submitted_at",
    ),
    ("submitted_at in 1970", "energy", _set("submitted_at.seconds", 0), "submitted_at"),
    ("source not NFC", "energy", _set("source", "Cafe\u0301 ERP"), "source"),
    (
        "verifier not NFC",
        "energy",
        _set("assurance.verifier", "Te\u0301st GmbH"),
        "assurance.verifier",
    ),
    (
        "reference period reversed",
        "product_footprint",
        lambda x: x.product_footprint.reference_period_end.CopyFrom(ts(2022, 1)),
        "product_footprint.reference_period_end",
    ),
]


@pytest.fixture(scope="module")
async def stub(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ingest_pb2_grpc.IngestServiceAsyncStub]:
    settings = isolated_settings(kafka_bootstrap, tmp_path_factory.mktemp("validation"))
    async with (
        IngestServer(settings, listen="127.0.0.1:0") as server,
        channel(server.port) as ch,
    ):
        client = ingest_pb2_grpc.IngestServiceStub(ch)
        await client.UpsertSupplier(supplier())
        yield client


@pytest.mark.parametrize(
    ("kind", "mutate", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_rule(
    stub: ingest_pb2_grpc.IngestServiceAsyncStub, kind: str, mutate: Mutation, field: str
) -> None:
    decl = envelope(kind)
    mutate(decl)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SubmitDeclaration(decl)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(err.value)
    assert field in {f for f, _ in violations}, violations
    assert all(description for _, description in violations)


async def test_the_unmutated_declarations_are_valid(
    stub: ingest_pb2_grpc.IngestServiceAsyncStub,
) -> None:
    """The cases above fail because of their mutation, not because the base is bad."""
    for kind in {c[1] for c in CASES}:
        result = await stub.SubmitDeclaration(envelope(kind))
        assert result.WhichOneof("outcome") == "accepted"
