"""``greenchain connect``: one export file in, a summary and a rejected-rows file out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from google.protobuf import json_format
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from greenchain.connector.client import Connector, Summary
from greenchain.connector.mapping import Mapping
from greenchain.connector.pact import OutputShares, PactRead, read_pact
from greenchain.connector.readers import Item, declarations_from_table, read_table
from greenchain.v1 import declaration_pb2 as d


@dataclass(frozen=True)
class PactOwner:
    """What a PACT document does not say: whose site made the products, and their output shares."""

    supplier_id: str
    site_id: str
    shares: OutputShares
    source: str = "pact"


@dataclass
class ReadResult:
    """The declarations read from one file, and what they came from."""

    items: list[Item]
    table: pl.DataFrame | None = None  # an ERP export
    pact: PactRead | None = None  # a PACT document


@dataclass
class ConnectResult:
    summary: Summary
    items: list[Item]
    rejected_file: Path | None
    pact: PactRead | None = None


def progress_bar(console: Console) -> Progress:
    """A transient progress bar (none when the output is not a terminal)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # no bar in logs and CI
    )


async def send_with_progress(
    connector: Connector, items: list[Item], label: str, console: Console
) -> Summary:
    with progress_bar(console) as progress:
        task = progress.add_task(label, total=len(items))
        return await connector.send(items, on_progress=lambda n: progress.advance(task, n))


def write_rejected(path: Path, table: pl.DataFrame | None, summary: Summary) -> Path | None:
    """Rows of ``table`` that were rejected, with an ``error`` column, to fix and resend."""
    if not summary.rejected:
        return None
    if table is None:
        out = path.with_name(path.stem + ".rejected.csv")
        pl.DataFrame(
            {"document_index": list(summary.rejected), "error": list(summary.rejected.values())}
        ).write_csv(out)
        return out
    errors = pl.DataFrame(
        {"__row": list(summary.rejected), "error": list(summary.rejected.values())},
        schema={"__row": pl.UInt32, "error": pl.Utf8},
    )
    rejected = table.with_row_index("__row").join(errors, on="__row", how="inner").drop("__row")
    out = path.with_name(path.stem + ".rejected.csv")
    rejected.write_csv(out)
    return out


def read_file(
    path: Path, mapping: Mapping | None = None, pact_owner: PactOwner | None = None
) -> ReadResult:
    """The declarations in ``path``: an ERP export with ``mapping``, or a PACT document with
    ``pact_owner``. Sends nothing (``greenchain connect --dry-run`` stops here)."""
    if pact_owner is not None:
        pact = read_pact(
            path, pact_owner.supplier_id, pact_owner.site_id, pact_owner.shares, pact_owner.source
        )
        return ReadResult(pact.items, pact=pact)
    if mapping is not None:
        table = read_table(path)
        return ReadResult(declarations_from_table(table, mapping), table=table)
    raise ValueError("a mapping file is needed for ERP exports (or --pact-supplier for PACT)")


def connect_file(
    path: Path,
    connector: Connector,
    mapping: Mapping | None = None,
    pact_owner: PactOwner | None = None,
    console: Console | None = None,
) -> ConnectResult:
    """Reads ``path`` (see :func:`read_file`), sends it, and writes the rejected rows (and the
    PACT footprints that could not be read) next to it."""
    console = console or Console(stderr=True)
    read = read_file(path, mapping, pact_owner)
    summary = asyncio.run(send_with_progress(connector, read.items, path.name, console))
    if read.pact is not None:
        for index, reason in read.pact.rejected.items():  # invalid per the PACT spec
            summary.rejected.setdefault(index, reason)
    return ConnectResult(
        summary, read.items, write_rejected(path, read.table, summary), pact=read.pact
    )


def report_pact(console: Console, path: Path, pact: PactRead | None) -> None:
    """What kind of PACT document ``path`` is, and every footprint not sent as it stands."""
    if pact is None:
        return
    console.print(escape(f"{path.name}: {pact.describe()}"), highlight=False, soft_wrap=True)
    colours = {"invalid": "red", "warning": "yellow"}
    for issue in pact.issues:
        console.print(
            f"  [{colours.get(issue.kind, 'cyan')}]{escape(str(issue))}[/]",
            highlight=False,
            soft_wrap=True,
        )


def print_declarations(items: Sequence[Item], output: str, console: Console | None = None) -> None:
    """The declarations on stdout: one JSON object per line with protobuf JSON field names
    (``output == "json"``), or a table."""
    if output == "json":
        for item in items:
            print(json_format.MessageToJson(item.declaration, indent=None), flush=True)
        return
    table = Table(
        "origin", "supplier/site", "period", "kind", "product", "PCF", "share", "assurance"
    )
    for item in items:
        decl = item.declaration
        kind = decl.WhichOneof("body") or ""
        body = decl.product_footprint
        table.add_row(
            str(item.origin),
            f"{decl.supplier_id}/{decl.site_id}",
            f"{decl.period.year:04d}-{decl.period.month:02d}",
            kind + (" (withdrawal)" if body.pact_deprecated else ""),
            body.product_id,
            _pcf_text(body) if kind == "product_footprint" else "",
            f"{body.output_value_share:g}" if kind == "product_footprint" else "",
            d.AssuranceLevel.Name(decl.assurance.level).removeprefix("ASSURANCE_LEVEL_").lower()
            + (f" ({decl.assurance.verifier})" if decl.assurance.verifier else ""),
        )
    (console or Console()).print(table)


def _pcf_text(body: d.ProductFootprintBody) -> str:
    unit = f"kgCO2e/{body.declared_unit_amount:g} {body.declared_unit}"
    if body.HasField("pcf_excluding_biogenic_emissions_kgco2e"):
        return f"{body.pcf_excluding_biogenic_emissions_kgco2e:g} {unit} excl. biogenic (2.x)"
    if body.HasField("pcf_excluding_biogenic_uptake_kgco2e"):
        return f"{body.pcf_excluding_biogenic_uptake_kgco2e:g} {unit} excl. biogenic uptake (3.x)"
    return ""


def summary_json(path: Path, result: ConnectResult) -> str:
    """One line of JSON for ``greenchain connect --output json``."""
    s = result.summary
    return json.dumps(
        {
            "file": str(path),
            "declarations": len(result.items),
            "accepted": s.accepted,
            "rejected": {str(k): v for k, v in sorted(s.rejected.items())},
        }
    )
