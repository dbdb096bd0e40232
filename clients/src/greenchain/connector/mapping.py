"""Mapping files: how an ERP export's columns and units become declaration fields.

A mapping (YAML) names, for each declaration field, the export column and its unit::

    source: sap-s4/monthly-energy        # Declaration.source
    assurance: self_declared             # or third_party_verified (+ verifier)
    columns:
      supplier_id: LIFNR
      site_id: WERKS
      period: MONAT                      # "2024-03", "2024/3", "202403" or a date
      energy.electricity_kwh: {column: STROM, unit: MWh}
      emissions.output_value_cny: {column: UMSATZ, unit: 10k CNY}

Every row gives one declaration per body kind (emissions, energy, circularity) that has mapped
fields. Units are converted to the contract's (kWh, t, m3, GJ, tCO2e, CNY) in one polars pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from greenchain.v1 import declaration_pb2 as d

# unit -> factor to the contract's unit, per dimension
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "kwh": {"kwh": 1.0, "mwh": 1e3, "gwh": 1e6, "wh": 1e-3},
    "t": {"t": 1.0, "kg": 1e-3, "kt": 1e3},
    "m3": {"m3": 1.0, "l": 1e-3, "10k m3": 1e4},
    "gj": {"gj": 1.0, "mj": 1e-3, "tj": 1e3},
    "tco2e": {"tco2e": 1.0, "kgco2e": 1e-3, "ktco2e": 1e3},
    "cny": {"cny": 1.0, "10k cny": 1e4, "million cny": 1e6, "100m cny": 1e8},
    "": {"": 1.0},
}

BODY_KINDS = ("emissions", "energy", "circularity")
ENVELOPE_FIELDS = ("supplier_id", "site_id", "period")


def contract_unit(body: str, name: str) -> str:
    """The dimension of field ``body.name`` from its suffix (``_kwh`` -> kWh...)."""
    for suffix, unit in (
        ("_kwh", "kwh"),
        ("_tco2e", "tco2e"),
        ("_m3", "m3"),
        ("_gj", "gj"),
        ("_cny", "cny"),
        ("_t", "t"),
    ):
        if name.endswith(suffix):
            return unit
    return ""


@dataclass(frozen=True)
class ColumnMap:
    field: str  # "energy.electricity_kwh"
    column: str
    factor: float


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    source: str
    assurance: int
    verifier: str
    envelope: dict[str, str]  # contract field -> column
    fields: list[ColumnMap] = field(default_factory=list)
    text_fields: dict[str, str] = field(default_factory=dict)  # e.g. production_unit

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        return cls.parse(yaml.safe_load(Path(path).read_text()) or {}, where=str(path))

    @classmethod
    def parse(cls, data: dict[str, object], where: str = "mapping") -> Mapping:
        columns = data.get("columns")
        if not isinstance(columns, dict):
            raise ValueError(f"{where}: 'columns' must map declaration fields to columns")
        envelope = {k: str(columns[k]) for k in ENVELOPE_FIELDS if k in columns}
        missing = [k for k in ENVELOPE_FIELDS if k not in envelope]
        if missing:
            raise ValueError(f"{where}: columns for {', '.join(missing)} are required")
        mapped: list[ColumnMap] = []
        text: dict[str, str] = {}
        for target, spec in columns.items():
            if target in ENVELOPE_FIELDS:
                continue
            body, _, name = str(target).partition(".")
            if body not in BODY_KINDS:
                raise ValueError(
                    f"{where}: {target!r}: expected <emissions|energy|circularity>.<field>"
                )
            message = getattr(d, f"{body.capitalize()}Body")
            if name not in message.DESCRIPTOR.fields_by_name:
                raise ValueError(f"{where}: {target!r}: {body} has no field {name!r}")
            if message.DESCRIPTOR.fields_by_name[name].type == 9:  # string
                text[target] = str(spec)
                continue
            column, unit = (
                (spec.get("column"), spec.get("unit", "")) if isinstance(spec, dict) else (spec, "")
            )
            dimension = contract_unit(body, name)
            unit_key = str(unit or dimension).lower()
            factors = UNIT_FACTORS[dimension]
            if unit_key not in factors:
                raise ValueError(
                    f"{where}: {target!r}: unit {unit!r} is not one of {sorted(factors)}"
                )
            mapped.append(ColumnMap(str(target), str(column), factors[unit_key]))
        assurance = str(data.get("assurance", "self_declared")).lower()
        level = {
            "self_declared": d.ASSURANCE_LEVEL_SELF_DECLARED,
            "third_party_verified": d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED,
        }.get(assurance)
        if level is None:
            raise ValueError(f"{where}: assurance must be self_declared or third_party_verified")
        return cls(
            source=str(data.get("source", "erp-connector")),
            assurance=level,
            verifier=str(data.get("verifier", "")),
            envelope=envelope,
            fields=mapped,
            text_fields=text,
        )

    def kinds(self) -> list[str]:
        found = {m.field.split(".")[0] for m in self.fields}
        return [k for k in BODY_KINDS if k in found]
