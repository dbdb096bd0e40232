"""PACT ProductFootprint JSON (Technical Specifications v2 and v3) -> ProductFootprint declarations.

A PACT document is a single footprint, a list of them, or an API page ``{"data": [...]}``. The
field names changed between versions; both are read:

| contract field                  | PACT v2 (pcf.)          | PACT v3 (pcf.)               |
|---------------------------------|-------------------------|------------------------------|
| declared_unit                   | declaredUnit            | declaredUnitOfMeasurement    |
| declared_unit_amount            | unitaryProductAmount    | declaredUnitAmount           |
| pcf_excluding_biogenic_kgco2e   | pCfExcludingBiogenic    | pcfExcludingBiogenicUptake   |
| pcf_including_biogenic_kgco2e   | pCfIncludingBiogenic    | pcfIncludingBiogenicUptake   |
| primary_data_share (0..1)       | primaryDataShare (%)    | primaryDataShare (%) if given|

The PACT document does not say which supplier site made the product or what share of the site's
output value it covers; the caller supplies those (``--supplier``, ``--site``, ``--output-share``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.connector.readers import Item, declaration_id, now_timestamp
from greenchain.v1 import declaration_pb2 as d

_NAMES = {
    2: {
        "unit": "declaredUnit",
        "amount": "unitaryProductAmount",
        "excluding": "pCfExcludingBiogenic",
        "including": "pCfIncludingBiogenic",
    },
    3: {
        "unit": "declaredUnitOfMeasurement",
        "amount": "declaredUnitAmount",
        "excluding": "pcfExcludingBiogenicUptake",
        "including": "pcfIncludingBiogenicUptake",
    },
}


def _timestamp(text: str) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return stamp


def _number(value: Any) -> float:
    try:
        return float(value)  # PACT encodes decimals as strings
    except (TypeError, ValueError):
        return float("nan")


def footprints(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        return list(document["data"])
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        return [document]
    raise ValueError("not a PACT ProductFootprint document")


def declaration_from_pact(
    footprint: dict[str, Any], supplier_id: str, site_id: str, output_share: float, source: str
) -> d.Declaration:
    version = str(footprint.get("specVersion", "2"))
    names = _NAMES[3 if version.startswith("3") else 2]
    pcf = footprint.get("pcf") or {}
    body = d.ProductFootprintBody(
        product_id=str((footprint.get("productIds") or [""])[0]),
        product_name=str(footprint.get("productNameCompany", "")),
        declared_unit=str(pcf.get(names["unit"], "")),
        declared_unit_amount=_number(pcf.get(names["amount"])),
        pcf_excluding_biogenic_kgco2e=_number(pcf.get(names["excluding"])),
        pcf_including_biogenic_kgco2e=_number(pcf.get(names["including"])),
        primary_data_share=_number(pcf.get("primaryDataShare", 0)) / 100.0,
        output_value_share=output_share,
        pact_footprint_id=str(footprint.get("id", "")),
        pact_spec_version=version,
    )
    for key, target in (
        ("referencePeriodStart", body.reference_period_start),
        ("referencePeriodEnd", body.reference_period_end),
    ):
        if pcf.get(key):
            target.CopyFrom(_timestamp(str(pcf[key])))
    # The reporting month is the month the reference period ends in (the end is exclusive in
    # some exports, 2024-01-01T00:00:00Z, inclusive in others, 2023-12-31T23:59:59Z).
    end = (
        body.reference_period_end.ToDatetime() - timedelta(seconds=1)
        if body.HasField("reference_period_end")
        else None
    )
    verification = pcf.get("assurance") or {}
    verified = bool(verification.get("assurance") or verification.get("coverage"))
    decl = d.Declaration(
        supplier_id=supplier_id,
        site_id=site_id,
        period=d.Period(year=end.year, month=end.month) if end else d.Period(),
        source=source,
        assurance=d.Assurance(
            level=d.ASSURANCE_LEVEL_THIRD_PARTY_VERIFIED
            if verified
            else d.ASSURANCE_LEVEL_SELF_DECLARED,
            verifier=str(verification.get("providerName", "")),
        ),
        product_footprint=body,
    )
    decl.submitted_at.CopyFrom(now_timestamp())
    decl.declaration_id = declaration_id(decl)
    return decl


def read_pact(
    path: str | Path, supplier_id: str, site_id: str, output_share: float, source: str = "pact"
) -> list[Item]:
    document = json.loads(Path(path).read_text())
    return [
        Item(declaration_from_pact(fp, supplier_id, site_id, output_share, source), i)
        for i, fp in enumerate(footprints(document))
    ]
