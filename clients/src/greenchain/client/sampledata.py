"""A deterministic, realistic supplier population and its ERP exports (``greenchain sample``).

Used by ``make run``, tests and benchmarks. Magnitudes follow public Chinese statistics loosely
(energy intensity per 10k CNY of output by sector); spreads are log-normal. Some suppliers improve
month by month, some do not; some have gaps, a few have too little data, and a few rows carry the
errors ERP exports really have (a renewable figure above the total, a negative value).

Exports come in three "ERP flavours", each with its mapping file, to exercise the connector:
SAP-like CSV (German headers, MWh, 10k CNY), Kingdee-like Parquet (pinyin headers, kWh, CNY) and
a JSON-lines export (English headers, contract units).
"""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml
from google.protobuf import json_format
from stdnum.cn import uscc

from greenchain.common.grades import LEVEL_BY_NAME
from greenchain.v1 import declaration_pb2, supplier_pb2

# sector code -> (name, energy tce per 10k CNY, electricity share of energy, water m3 per 10k CNY,
#                 material t per 10k CNY, hazardous waste t per 10k CNY)
SECTORS: dict[str, tuple[str, float, float, float, float, float]] = {
    "C17": ("textiles", 0.12, 0.55, 6.0, 0.15, 0.0004),
    "C26": ("chemicals", 0.45, 0.35, 9.0, 0.60, 0.0030),
    "C29": ("rubber and plastics", 0.10, 0.70, 1.5, 0.25, 0.0006),
    "C30": ("non-metallic minerals", 0.80, 0.25, 2.0, 1.50, 0.0002),
    "C31": ("ferrous metal smelting", 1.00, 0.20, 3.0, 2.00, 0.0010),
    "C33": ("metal products", 0.08, 0.60, 0.8, 0.20, 0.0008),
    "C34": ("general machinery", 0.04, 0.70, 0.5, 0.10, 0.0003),
    "C36": ("automobiles", 0.03, 0.75, 0.6, 0.08, 0.0004),
    "C38": ("electrical machinery", 0.03, 0.80, 0.4, 0.07, 0.0003),
    "C39": ("computers and electronics", 0.02, 0.90, 0.7, 0.02, 0.0005),
}
CHAINS = ("chain-ev", "chain-electronics", "chain-machinery")
# pollutant t per t of hazardous waste (a loose stand-in: sectors that make more hazardous waste
# discharge more)
POLLUTANT_SHARES = {
    "so2": 0.3,
    "nox": 0.4,
    "particulates": 0.2,
    "cod": 0.5,
    "ammonia_nitrogen": 0.05,
}
PROVINCES = ("jiangsu", "zhejiang", "guangdong", "shandong", "hebei", "sichuan", "hubei", "anhui")

# Conversion used to turn tce back into physical quantities (GB/T 2589 equivalent values).
TCE_PER_MWH, TCE_PER_1000M3_GAS, TCE_PER_T_COAL, TCE_PER_GJ = 0.1229, 1.2143, 0.7143, 0.03412
GRID_TCO2_PER_MWH = 0.5306


@dataclass(frozen=True)
class Listing:
    """A supplier on a published list (the sample's designation lists)."""

    supplier_id: str
    kind: str  # green-factory | zero-carbon
    level: str  # national | provincial | municipal
    year: int


@dataclass(frozen=True)
class Population:
    suppliers: list[supplier_pb2.Supplier]
    monthly: pl.DataFrame  # one row per supplier, site and month, contract units
    chains: list[supplier_pb2.Chain]
    listings: list[Listing]  # designations on the sample's published lists


def credit_code(province: str, serial: int) -> str:
    """A well-formed 统一社会信用代码: 9 (registered by market regulation) 1 (enterprise),
    the province's administrative division code, an organisation code, the check digit."""
    division = PROVINCE_CODES[province]
    body = f"91{division}MA{serial:07d}"
    return body + uscc.calc_check_digit(body)


PROVINCE_CODES = {
    "jiangsu": "320000",
    "zhejiang": "330000",
    "guangdong": "440000",
    "shandong": "370000",
    "hebei": "130000",
    "sichuan": "510000",
    "hubei": "420000",
    "anhui": "340000",
    "shanghai": "310000",
}
CHAIN_LEADERS = {
    "chain-ev": ("Shanghai New Energy Vehicles Co.", "shanghai", True),
    "chain-electronics": ("Guangdong Consumer Electronics Co.", "guangdong", False),
    "chain-machinery": ("Shandong Heavy Machinery Co.", "shandong", True),
}
"""chain id -> (leader name, province, on MIIT's green supply-chain management list)."""


def _listing(sid: str, efficiency: float, rng: random.Random) -> Listing | None:
    """About 12 % of suppliers are on a green-factory list, the efficient ones more often; of
    those a fifth national, a third provincial, the rest municipal; a few national ones also on
    a zero-carbon list."""
    if rng.random() >= min(0.5, 0.12 / efficiency**2):
        return None
    draw = rng.random()
    level = "national" if draw < 0.2 else "provincial" if draw < 0.55 else "municipal"
    return Listing(sid, "green-factory", level, rng.randint(2019, 2025))


def _months(end_year: int, end_month: int, count: int) -> list[tuple[int, int]]:
    index = end_year * 12 + end_month - 1
    return [divmod(i, 12) for i in range(index - count + 1, index + 1)]


def generate(
    suppliers: int = 2000, months: int = 24, seed: int = 42, end: tuple[int, int] = (2025, 12)
) -> Population:
    """The population: ``suppliers`` suppliers over the ``months`` months ending at ``end``."""
    rng = random.Random(seed)
    lists = random.Random(seed + 1)  # designations: their own draws leave the rest unchanged
    codes = sorted(SECTORS)
    registry: list[supplier_pb2.Supplier] = []
    listings: list[Listing] = []
    rows: list[dict[str, object]] = []
    periods = [(y, m + 1) for y, m in _months(end[0], end[1], months)]
    for n in range(suppliers):
        sid = f"sup-{n + 1:05d}"
        sector = codes[n % len(codes)] if n < len(codes) * 2 else rng.choice(codes)
        _, energy_i, elec_share, water_i, material_i, hazardous_i = SECTORS[sector]
        annual_output = math.exp(rng.gauss(math.log(2.4e8), 1.0))  # CNY, median 240 M
        chains = [CHAINS[n % 3]] + ([CHAINS[(n + 1) % 3]] if rng.random() < 0.15 else [])
        land = annual_output / math.exp(rng.gauss(math.log(8000.0), 0.5))  # CNY per m2 a year
        province = rng.choice(PROVINCES)
        registry.append(
            supplier_pb2.Supplier(
                supplier_id=sid,
                name=f"{province.title()} {SECTORS[sector][0].title()} Co. {n + 1}",
                sector_code=sector,
                region=province,
                sites=[
                    supplier_pb2.Site(
                        site_id="s1", name="Main plant", land_area_m2=round(land), region=province
                    )
                ],
                chain_ids=chains,
                annual_output_value_cny=round(annual_output, -3),
                credit_code=credit_code(province, n + 1),
                purchases=[
                    supplier_pb2.ChainPurchase(
                        chain_id=chain,
                        annual_purchase_value_cny=round(
                            annual_output * lists.uniform(0.05, 0.5), -3
                        ),
                    )
                    for chain in chains
                    if lists.random() < 0.6  # not every leader gives purchase values
                ],
            )
        )
        efficiency = math.exp(rng.gauss(0.0, 0.35))  # >1 = more energy than the sector norm
        listing = _listing(sid, efficiency, lists)
        if listing is not None:
            listings.append(listing)
            if listing.level == "national" and lists.random() < 0.1:
                listings.append(Listing(sid, "zero-carbon", "national", 2026))
        improving = rng.random() < 0.45
        monthly_gain = rng.uniform(0.005, 0.02) if improving else rng.uniform(-0.003, 0.003)
        renewable = min(0.9, max(0.0, rng.gauss(0.12, 0.1)))
        renewable_growth = rng.uniform(0.0, 0.01) if improving else 0.0
        recycled = min(0.8, max(0.0, rng.gauss(0.15, 0.1)))
        utilised = min(1.0, max(0.2, rng.gauss(0.8, 0.12)))
        reuse = min(0.9, max(0.0, rng.gauss(0.3, 0.15)))
        verified = rng.random() < 0.35
        # data quality: most report every month; some have gaps; a few started recently
        start = 0
        if rng.random() < 0.03:
            start = months - rng.randint(1, 2)  # too little data for a rating
        gaps = {i for i in range(months) if rng.random() < 0.05} if rng.random() < 0.1 else set()
        for i, (year, month) in enumerate(periods):
            if i < start or i in gaps:
                continue
            season = 1.0 + 0.08 * math.sin((month - 1) / 12 * 2 * math.pi)
            output = annual_output / 12 * season * math.exp(rng.gauss(0, 0.05))
            out10k = output / 1e4
            factor = efficiency * (1 - monthly_gain) ** i * math.exp(rng.gauss(0, 0.04))
            tce = out10k * energy_i * factor
            mwh = tce * elec_share / TCE_PER_MWH
            share = min(0.95, renewable + renewable_growth * i)
            onsite, certificates = mwh * share * 0.5, mwh * share * 0.3
            ppa = mwh * share * 0.2
            fuel_tce = tce * (1 - elec_share)
            gas_m3 = fuel_tce * 0.7 / TCE_PER_1000M3_GAS * 1000
            coal_t = fuel_tce * 0.2 / TCE_PER_T_COAL
            heat_gj = fuel_tce * 0.1 / TCE_PER_GJ
            scope1 = gas_m3 * 2.162 / 1000 + coal_t * 1.9
            scope2_location = mwh * GRID_TCO2_PER_MWH
            material = out10k * material_i * math.exp(rng.gauss(0, 0.05))
            waste = material * 0.06
            water = out10k * water_i * factor
            row: dict[str, object] = {
                "supplier_id": sid,
                "site_id": "s1",
                "year": year,
                "month": month,
                "verified": verified,
                "scope1_tco2e": scope1,
                "scope2_location_tco2e": scope2_location,
                "scope2_market_tco2e": (mwh - certificates - ppa) * GRID_TCO2_PER_MWH,
                "output_value_cny": output,
                "production_volume": material * 0.9,
                "electricity_kwh": mwh * 1000,
                "renewable_onsite_kwh": onsite * 1000,
                "renewable_certificates_kwh": certificates * 1000,
                "renewable_ppa_kwh": ppa * 1000,
                "natural_gas_m3": gas_m3,
                "coal_t": coal_t,
                "diesel_t": out10k * 0.00015,  # forklifts and trucks on site
                "gasoline_t": out10k * 0.00005,
                "fuel_oil_t": 0.0,
                "oil_products_t": 0.0,
                "purchased_heat_gj": heat_gj,
                "raw_material_input_t": material,
                "recycled_input_t": material * recycled,
                "solid_waste_generated_t": waste,
                "solid_waste_utilised_t": waste * utilised,
                "hazardous_waste_t": out10k * hazardous_i * factor,
                "water_withdrawn_m3": water,
                "water_reused_m3": water * reuse,
                # pollutant discharges, loosely proportional to the sector's hazardous waste
                **{
                    f"{name}_t": out10k * hazardous_i * share * factor
                    for name, share in POLLUTANT_SHARES.items()
                },
            }
            if rng.random() < 0.004:  # an ERP error: renewable above the total
                row["renewable_onsite_kwh"] = float(row["electricity_kwh"]) * 1.5  # type: ignore[arg-type]
            elif rng.random() < 0.002:  # an ERP error: a negative meter reading
                row["natural_gas_m3"] = -abs(gas_m3)
            rows.append(row)
    frame = pl.DataFrame(rows).with_columns(pl.col(pl.Float64).round(3))
    leaders = [
        supplier_pb2.Chain(
            chain_id=chain,
            name=name,
            credit_code=credit_code(province, 9_000_000 + i),
            green_supply_chain=(
                supplier_pb2.Designation(
                    level=supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
                    year=2023,
                    list_reference="MIIT 2023 green manufacturing list",
                    status=supplier_pb2.DESIGNATION_STATUS_ACTIVE,
                )
                if listed
                else None
            ),
        )
        for i, (chain, (name, province, listed)) in enumerate(CHAIN_LEADERS.items())
    ]
    return Population(registry, frame, leaders, listings)


LEVEL_WORDS = {"national": "国家级", "provincial": "省级", "municipal": "市级"}


def designated_suppliers(population: Population) -> list[supplier_pb2.Supplier]:
    """The registry as it is after importing the sample's lists (for benchmarks and tests that
    skip the import)."""
    by_id = {s.supplier_id: s for s in population.suppliers}
    out = {sid: supplier_pb2.Supplier() for sid in by_id}
    for sid, entry in out.items():
        entry.CopyFrom(by_id[sid])
    for listing in population.listings:
        site = out[listing.supplier_id].sites[0]
        field = site.green_factory if listing.kind == "green-factory" else site.zero_carbon_factory
        field.CopyFrom(
            supplier_pb2.Designation(
                level=LEVEL_BY_NAME[listing.level],
                year=listing.year,
                list_reference=f"{listing.year} {LEVEL_WORDS[listing.level]}绿色制造名单",
                status=supplier_pb2.DESIGNATION_STATUS_ACTIVE,
            )
        )
    return list(out.values())


def write_lists(population: Population, folder: Path, others: int = 30) -> list[Path]:
    """The sample's published lists as provinces publish them (CSV, Chinese headers): every
    listed supplier, plus ``others`` listed factories that supply none of the chains (a real
    list is mostly factories outside one's chain: they are reported as unmatched)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_id = {s.supplier_id: s for s in population.suppliers}
    paths = []
    for kind, name in (("green-factory", "green-factories"), ("zero-carbon", "zero-carbon")):
        rows = [
            {
                "企业名称": by_id[listing.supplier_id].name,
                "统一社会信用代码": by_id[listing.supplier_id].credit_code,
                "省份": by_id[listing.supplier_id].region,
                "级别": LEVEL_WORDS[listing.level],
                "年份": listing.year,
                "批次": f"{listing.year} {LEVEL_WORDS[listing.level]}绿色制造名单",
            }
            for listing in population.listings
            if listing.kind == kind
        ]
        if kind == "green-factory":
            rows += [
                {
                    "企业名称": f"Other Factory {i}",
                    "统一社会信用代码": credit_code("zhejiang", 8_000_000 + i),
                    "省份": "zhejiang",
                    "级别": "省级",
                    "年份": 2024,
                    "批次": "2024 省级绿色制造名单",
                }
                for i in range(others)
            ]
        if rows:
            path = folder / f"{name}.csv"
            pl.DataFrame(rows).write_csv(path)
            paths.append(path)
    return paths


# Export flavours ------------------------------------------------------------------------------

EXPORT_FIELDS = {
    "emissions": [
        "scope1_tco2e",
        "scope2_location_tco2e",
        "scope2_market_tco2e",
        "output_value_cny",
        "production_volume",
    ],
    "energy": [
        "electricity_kwh",
        "renewable_onsite_kwh",
        "renewable_certificates_kwh",
        "renewable_ppa_kwh",
        "natural_gas_m3",
        "coal_t",
        "gasoline_t",
        "diesel_t",
        "fuel_oil_t",
        "oil_products_t",
        "purchased_heat_gj",
    ],
    "circularity": [f.name for f in declaration_pb2.CircularityBody.DESCRIPTOR.fields],
}
SUFFIX = {"sap": ".csv", "kingdee": ".parquet", "generic": ".ndjson"}
ENVELOPE = {
    "sap": ("LIFNR", "WERKS", "MONAT", "UNIT"),
    "kingdee": ("gys", "gc", "qj", "dw"),
    "generic": ("supplier_id", "site_id", "period", "production_unit"),
}
# SAP-like exports report electricity in MWh and output value in 10k CNY.
SAP_UNITS = {
    "electricity_kwh": ("STROM_MWH", "MWh", 1e-3),
    "output_value_cny": ("UMSATZ_TCNY", "10k CNY", 1e-4),
}


def _header(flavour: str, field: str) -> str:
    return {"sap": field.upper(), "kingdee": f"zb_{field}", "generic": field}[flavour]


def _flavour_frame(frame: pl.DataFrame, flavour: str) -> tuple[pl.DataFrame, dict[str, object]]:
    """The export of ``frame`` in ERP flavour ``flavour``, and its mapping."""
    supplier, site, period, unit = ENVELOPE[flavour]
    columns: dict[str, object] = {"supplier_id": supplier, "site_id": site, "period": period}
    exprs = [
        pl.col("supplier_id").alias(supplier),
        pl.col("site_id").alias(site),
        pl.format("{}-{}", pl.col("year"), pl.col("month").cast(pl.Utf8).str.zfill(2)).alias(
            period
        ),
    ]
    for body, names in EXPORT_FIELDS.items():
        for field in names:
            if flavour == "sap" and field in SAP_UNITS:
                header, unit_name, factor = SAP_UNITS[field]
                exprs.append((pl.col(field) * factor).alias(header))
                columns[f"{body}.{field}"] = {"column": header, "unit": unit_name}
            else:
                exprs.append(pl.col(field).alias(_header(flavour, field)))
                columns[f"{body}.{field}"] = _header(flavour, field)
    exprs.append(pl.lit("t").alias(unit))
    columns["emissions.production_unit"] = unit
    return frame.select(exprs), {"source": f"{flavour}-export", "columns": columns}


def write_exports(
    population: Population, out: Path, suppliers_per_file: int = 100
) -> dict[str, list[Path]]:
    """Writes the registry, the mapping files and the exports; returns the export files by flavour.

    Layout: ``suppliers.ndjson``, ``chains.ndjson``, ``lists/<list>.csv``,
    ``mappings/<flavour>[-verified].yaml``, ``exports/<flavour>/<batch>[-verified].<ext>``,
    ``pact/<supplier>-v2.json|-v3.json``.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "suppliers.ndjson").write_text(
        "".join(json_format.MessageToJson(s, indent=None) + "\n" for s in population.suppliers)
    )
    (out / "chains.ndjson").write_text(
        "".join(json_format.MessageToJson(c, indent=None) + "\n" for c in population.chains)
    )
    write_lists(population, out / "lists")
    ids = [s.supplier_id for s in population.suppliers]
    flavour_names = ("sap", "kingdee", "generic")
    files: dict[str, list[Path]] = {f: [] for f in flavour_names}
    frame = population.monthly
    mappings_dir = out / "mappings"
    mappings_dir.mkdir(exist_ok=True)
    for batch_no, start in enumerate(range(0, len(ids), suppliers_per_file)):
        batch = ids[start : start + suppliers_per_file]
        flavour = flavour_names[batch_no % 3]
        part = frame.filter(pl.col("supplier_id").is_in(batch))
        for verified in (False, True):
            rows = part.filter(pl.col("verified") == verified)
            if rows.is_empty():
                continue
            export, mapping = _flavour_frame(rows, flavour)
            suffix = SUFFIX[flavour]
            tag = "-verified" if verified else ""
            if verified:
                mapping = {
                    **mapping,
                    "assurance": "third_party_verified",
                    "verifier": "China Quality Certification Centre",
                }
            (mappings_dir / f"{flavour}{tag}.yaml").write_text(
                yaml.safe_dump(mapping, sort_keys=False)
            )
            folder = out / "exports" / flavour
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"batch-{batch_no:03d}{tag}{suffix}"
            if suffix == ".csv":
                export.write_csv(path)
            elif suffix == ".parquet":
                export.write_parquet(path)
            else:
                export.write_ndjson(path)
            files[flavour].append(path)
    _write_pact_examples(population, out / "pact")
    return files


def _write_pact_examples(population: Population, folder: Path) -> None:
    """PACT 2.3 and 3.0 ProductFootprints for every tenth supplier (the green-products category),
    as a PACT exchange sends them: the properties greenchain reads, per the specs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    for supplier in population.suppliers[::10]:
        pcf = rng.uniform(1.0, 20.0)
        common = {
            "created": "2026-01-15T00:00:00Z",
            "status": "Active",
            "companyName": supplier.name,
            "companyIds": [f"urn:greenchain:{supplier.supplier_id}"],
            "productDescription": "Main product",
            "productIds": [f"urn:greenchain:{supplier.supplier_id}:product:1"],
            "productNameCompany": "Main product",
        }
        share = round(rng.uniform(0.2, 0.9), 2)
        v2 = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"greenchain:{supplier.supplier_id}:v2")),
            "specVersion": "2.3.0",
            "version": 1,
            **common,
            "pcf": {
                "declaredUnit": "kilogram",
                "unitaryProductAmount": "1.0",
                "pCfExcludingBiogenic": f"{pcf:.3f}",
                "pCfIncludingBiogenic": f"{pcf * 0.98:.3f}",
                "primaryDataShare": round(rng.uniform(10, 90), 1),
                # spec 2.2: dqi is required for reference periods from 2025 on
                "dqi": {
                    "coveragePercent": 80,
                    "technologicalDQR": 1.8,
                    "temporalDQR": 1.5,
                    "geographicalDQR": 2.0,
                    "completenessDQR": 1.7,
                    "reliabilityDQR": 2.1,
                },
                "referencePeriodStart": "2025-01-01T00:00:00Z",
                "referencePeriodEnd": "2025-07-01T00:00:00Z",
            },
        }
        v3 = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"greenchain:{supplier.supplier_id}:v3")),
            "specVersion": "3.0.0",
            **common,
            "pcf": {
                "declaredUnitOfMeasurement": "kilogram",
                "declaredUnitAmount": "1.0",
                "productMassPerDeclaredUnit": "1.0",
                "pcfExcludingBiogenicUptake": f"{pcf * 0.95:.3f}",
                "pcfIncludingBiogenicUptake": f"{pcf * 0.93:.3f}",
                "primaryDataShare": f"{rng.uniform(10, 90):.1f}",
                "referencePeriodStart": "2025-07-01T00:00:00Z",
                "referencePeriodEnd": "2026-01-01T00:00:00Z",
            },
        }
        (folder / f"{supplier.supplier_id}-v2.json").write_text(json.dumps(v2, indent=2))
        (folder / f"{supplier.supplier_id}-v3.json").write_text(json.dumps(v3, indent=2))
        (folder / f"{supplier.supplier_id}.share").write_text(f"{share}\n")
