"""``greenchain connect``: one export file in, a summary and a rejected-rows file out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from greenchain.connector.client import Connector, Summary
from greenchain.connector.mapping import Mapping
from greenchain.connector.pact import read_pact
from greenchain.connector.readers import Item, declarations_from_table, read_table


@dataclass
class ConnectResult:
    summary: Summary
    items: list[Item]
    rejected_file: Path | None


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


def connect_file(
    path: Path,
    connector: Connector,
    mapping: Mapping | None = None,
    pact_owner: tuple[str, str, float] | None = None,
    console: Console | None = None,
) -> ConnectResult:
    """Reads ``path`` (an ERP export with ``mapping``, or a PACT document with ``pact_owner`` =
    (supplier, site, output share)), sends it, and writes the rejected rows next to it."""
    console = console or Console(stderr=True)
    table: pl.DataFrame | None = None
    if pact_owner is not None:
        items = read_pact(path, *pact_owner)
    elif mapping is not None:
        table = read_table(path)
        items = declarations_from_table(table, mapping)
    else:
        raise ValueError("a mapping file is needed for ERP exports (or --pact-supplier for PACT)")
    summary = asyncio.run(send_with_progress(connector, items, path.name, console))
    return ConnectResult(summary, items, write_rejected(path, table, summary))
