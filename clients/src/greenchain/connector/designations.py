"""Reading a published designation list (CSV or Excel) into rows for ingest's
``ImportDesignations``.

Lists come from MIIT (national green manufacturing list) and provincial or municipal departments
of industry and IT, usually as Excel with Chinese headers; the reader accepts English or Chinese
column names. A list without a level, year or reference column gets them from the command line
(``--level``, ``--year``, ``--list-reference``), since one file is usually one list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from greenchain.v1 import ingest_pb2

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "enterprise", "企业名称", "单位名称", "名称"),
    "credit_code": ("credit_code", "统一社会信用代码", "信用代码"),
    "province": ("province", "省份", "地区", "所在地区"),
    "level": ("level", "级别", "层级"),
    "year": ("year", "年份", "年度"),
    "list_reference": ("list_reference", "list", "batch", "批次", "名单"),
    "site_id": ("site_id",),
    "kind": ("kind", "类型"),
    "status": ("status", "状态"),
}
"""Field -> the column names that may hold it (first match wins, case-insensitive)."""

KINDS = {
    "green-factory": ingest_pb2.DESIGNATION_KIND_GREEN_FACTORY,
    "green_factory": ingest_pb2.DESIGNATION_KIND_GREEN_FACTORY,
    "绿色工厂": ingest_pb2.DESIGNATION_KIND_GREEN_FACTORY,
    "zero-carbon": ingest_pb2.DESIGNATION_KIND_ZERO_CARBON_FACTORY,
    "zero_carbon": ingest_pb2.DESIGNATION_KIND_ZERO_CARBON_FACTORY,
    "零碳工厂": ingest_pb2.DESIGNATION_KIND_ZERO_CARBON_FACTORY,
}

CHUNK_ROWS = 200
"""Rows per request: keeps a request well under the services' message size limit."""


class ListError(ValueError):
    """The file cannot be read as a designation list (one line says why)."""


def _read(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xls"):
            return pl.read_excel(path, infer_schema_length=0)
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ListError(f"{path}: cannot read: {exc}") from None
    raise ListError(
        f"{path}: a designation list must be .csv or .xlsx, not {suffix or 'no suffix'}"
    )


def read_designation_list(
    path: Path,
    kind: str = "green-factory",
    level: str = "",
    year: int = 0,
    list_reference: str = "",
) -> list[ingest_pb2.DesignationRow]:
    """The rows of ``path`` (row 1 = the first data row), every value kept as written so that
    ingest can report what was wrong with it."""
    frame = _read(path)
    lower = {c.strip().lower(): c for c in frame.columns}
    found: dict[str, str] = {}
    for field, names in COLUMNS.items():
        for name in names:
            if name.lower() in lower:
                found[field] = lower[name.lower()]
                break
    missing = [f for f in ("credit_code",) if f not in found]
    missing += [
        f for f, default in (("level", level), ("year", year)) if f not in found and not default
    ]
    if missing:
        raise ListError(
            f"{path}: no column for {', '.join(missing)} (columns: {', '.join(frame.columns)}); "
            "name them as in docs/methodology.md or give --level/--year"
        )
    if kind not in KINDS:
        raise ListError(f"unknown list kind {kind!r}: green-factory or zero-carbon")

    def text(row: dict[str, str | None], field: str, default: str = "") -> str:
        value = row.get(found[field]) if field in found else None
        return default if value is None else str(value).strip()

    rows = []
    for number, row in enumerate(frame.iter_rows(named=True), start=1):
        year_text = text(row, "year", str(year or ""))
        try:
            row_year = int(float(year_text)) if year_text else 0
        except ValueError:
            row_year = 0  # ingest reports it as an invalid year
        kind_text = text(row, "kind", kind).lower()
        rows.append(
            ingest_pb2.DesignationRow(
                row=number,
                name=text(row, "name"),
                credit_code=text(row, "credit_code").upper(),
                province=text(row, "province"),
                level=text(row, "level", level),
                year=row_year,
                list_reference=text(row, "list_reference", list_reference),
                site_id=text(row, "site_id"),
                kind=KINDS.get(kind_text, ingest_pb2.DESIGNATION_KIND_UNSPECIFIED),
                status=text(row, "status"),
            )
        )
    return rows


def chunks(rows: Sequence[ingest_pb2.DesignationRow]) -> list[list[ingest_pb2.DesignationRow]]:
    """Requests of at most about CHUNK_ROWS rows that keep every row of one (credit code, kind)
    together, so ingest sees all the rows that could duplicate or contradict each other."""
    groups: dict[tuple[str, int], list[ingest_pb2.DesignationRow]] = defaultdict(list)
    for row in rows:
        groups[(row.credit_code, row.kind)].append(row)
    out: list[list[ingest_pb2.DesignationRow]] = [[]]
    for group in groups.values():
        if out[-1] and len(out[-1]) + len(group) > CHUNK_ROWS:
            out.append([])
        out[-1].extend(group)
    return [chunk for chunk in out if chunk]
