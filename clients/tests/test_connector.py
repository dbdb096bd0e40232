"""The connector's reading and mapping, without a network."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from greenchain.connector.mapping import Mapping
from greenchain.connector.readers import declarations_from_table, read_table
from greenchain.testing import DATA
from greenchain.v1 import declaration_pb2 as d


def test_csv_export_is_mapped_with_unit_conversion() -> None:
    items = declarations_from_table(
        read_table(DATA / "erp_monthly.csv"), Mapping.load(DATA / "erp_mapping.yaml")
    )
    assert len(items) == 4 * 3  # rows x (emissions, energy, circularity)
    energy = [i.declaration for i in items if i.declaration.WhichOneof("body") == "energy"]
    first = energy[0]
    assert (first.supplier_id, first.site_id) == ("sup-001", "s1")
    assert (first.period.year, first.period.month) == (2024, 1)
    assert first.energy.electricity_kwh == 600_000.0  # MWh -> kWh
    assert first.assurance.level == d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
    emissions = next(
        i.declaration for i in items if i.declaration.WhichOneof("body") == "emissions"
    )
    assert emissions.emissions.output_value_cny == 25_000_000.0  # 10k CNY -> CNY
    circ = next(i.declaration for i in items if i.declaration.WhichOneof("body") == "circularity")
    assert circ.circularity.raw_material_input_t == 1500.0  # kg -> t
    # "2024/3" and "202401" are periods too; "abc" becomes NaN for ingest to reject by name
    assert [(e.period.year, e.period.month) for e in energy] == [
        (2024, 1),
        (2024, 2),
        (2024, 3),
        (2024, 1),
    ]
    assert math.isnan(energy[2].energy.renewable_certificates_kwh)
    assert {i.origin for i in items} == {0, 1, 2, 3}


def test_declaration_ids_are_deterministic_and_content_based() -> None:
    mapping = Mapping.load(DATA / "erp_mapping.yaml")
    table = read_table(DATA / "erp_monthly.csv")
    first = [i.declaration.declaration_id for i in declarations_from_table(table, mapping)]
    again = [i.declaration.declaration_id for i in declarations_from_table(table, mapping)]
    assert first == again and len(set(first)) == len(first)
    corrected = table.with_columns(pl.col("Strom_MWh") + 1)
    changed = [i.declaration.declaration_id for i in declarations_from_table(corrected, mapping)]
    assert sum(a != b for a, b in zip(first, changed, strict=True)) == 4  # only the energy ones


def test_excel_and_parquet_exports_read_the_same(tmp_path: Path) -> None:
    table = read_table(DATA / "erp_monthly.csv")
    table.write_parquet(tmp_path / "x.parquet")
    assert read_table(tmp_path / "x.parquet").equals(table)
    table.write_ndjson(tmp_path / "x.ndjson")
    assert read_table(tmp_path / "x.ndjson").height == table.height
    table.write_excel(tmp_path / "x.xlsx")
    mapping = Mapping.load(DATA / "erp_mapping.yaml")
    from_excel = declarations_from_table(read_table(tmp_path / "x.xlsx"), mapping)
    from_csv = declarations_from_table(table, mapping)
    assert [i.declaration.declaration_id for i in from_excel] == [
        i.declaration.declaration_id for i in from_csv
    ]


def test_bad_mapping_is_explained() -> None:
    with pytest.raises(ValueError, match="supplier_id"):
        Mapping.parse({"columns": {"site_id": "a", "period": "b"}})
    with pytest.raises(ValueError, match="unit 'furlongs'"):
        Mapping.parse(
            {
                "columns": {
                    "supplier_id": "a",
                    "site_id": "b",
                    "period": "c",
                    "energy.electricity_kwh": {"column": "x", "unit": "furlongs"},
                }
            }
        )
    with pytest.raises(ValueError, match="no field"):
        Mapping.parse(
            {"columns": {"supplier_id": "a", "site_id": "b", "period": "c", "energy.nope": "x"}}
        )
    mapping = Mapping.load(DATA / "erp_mapping.yaml")
    with pytest.raises(ValueError, match="Strom_MWh"):
        declarations_from_table(read_table(DATA / "erp_monthly.csv").drop("Strom_MWh"), mapping)
