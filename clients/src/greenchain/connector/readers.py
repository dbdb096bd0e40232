"""ERP exports (CSV, Excel, Parquet, JSON) -> declarations, with polars.

Unit conversion and period parsing happen column-wise in polars; only building the protobuf
messages is per row. Every declaration keeps the index of the row it came from, so rejected rows
can be written back for the user to fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from google.protobuf.timestamp_pb2 import Timestamp

from greenchain.connector.mapping import Mapping
from greenchain.v1 import declaration_pb2 as d

ROW = "__row"


@dataclass(frozen=True)
class Item:
    """One declaration and where it came from (row index in the export, or a document id)."""

    declaration: d.Declaration
    origin: int


def read_table(path: str | Path) -> pl.DataFrame:
    """An ERP export as a DataFrame, by file extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return pl.read_csv(path, infer_schema_length=10_000, try_parse_dates=False)
    if suffix in (".xlsx", ".xls"):
        return pl.read_excel(path)
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".json":
        return pl.read_json(path)
    if suffix in (".ndjson", ".jsonl"):
        return pl.read_ndjson(path)
    raise ValueError(
        f"{path}: unsupported export format {suffix!r} (csv, xlsx, parquet, json, ndjson)"
    )


def declaration_id(decl: d.Declaration) -> str:
    """Deterministic id from content: the same row always gets the same id, so re-running an
    export is idempotent; a corrected row gets a new id and supersedes the old one downstream."""
    kind = decl.WhichOneof("body") or ""
    body = getattr(decl, kind).SerializeToString(deterministic=True) if kind else b""
    digest = hashlib.sha256()
    for part in (
        decl.supplier_id,
        decl.site_id,
        f"{decl.period.year:04d}-{decl.period.month:02d}",
        kind,
        str(decl.assurance.level),
        decl.assurance.verifier,
    ):
        digest.update(part.encode() + b"\x1f")
    digest.update(body)
    return "d-" + digest.hexdigest()[:40]


def now_timestamp() -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC).replace(microsecond=0))
    return stamp


def _normalise(df: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    missing = [
        c
        for c in [*mapping.envelope.values(), *(m.column for m in mapping.fields)]
        if c not in df.columns
    ]
    missing += [c for c in mapping.text_fields.values() if c not in df.columns]
    if missing:
        raise ValueError(f"the export has no column(s) {sorted(set(missing))}; check the mapping")
    period = (
        pl.col(mapping.envelope["period"]).cast(pl.Utf8).str.extract_groups(r"^(\d{4})\D?(\d{1,2})")
    )
    return df.with_row_index(ROW).select(
        pl.col(ROW),
        pl.col(mapping.envelope["supplier_id"])
        .cast(pl.Utf8)
        .str.strip_chars()
        .alias("supplier_id"),
        pl.col(mapping.envelope["site_id"]).cast(pl.Utf8).str.strip_chars().alias("site_id"),
        period.struct.field("1").cast(pl.Int32, strict=False).alias("year"),
        period.struct.field("2").cast(pl.Int32, strict=False).alias("month"),
        *(
            (pl.col(m.column).cast(pl.Float64, strict=False) * m.factor).alias(m.field)
            for m in mapping.fields
        ),
        *(pl.col(c).cast(pl.Utf8).alias(f) for f, c in mapping.text_fields.items()),
    )


def declarations_from_table(df: pl.DataFrame, mapping: Mapping) -> list[Item]:
    """One declaration per row and mapped body kind. Values that do not parse become NaN, so
    ingest rejects them with the field named, instead of the connector guessing."""
    table = _normalise(df, mapping)
    submitted = now_timestamp()
    items: list[Item] = []
    kinds = mapping.kinds()
    for row in table.iter_rows(named=True):
        for kind in kinds:
            decl = d.Declaration(
                supplier_id=row["supplier_id"] or "",
                site_id=row["site_id"] or "",
                period=d.Period(year=row["year"] or 0, month=row["month"] or 0),
                source=mapping.source,
                assurance=d.Assurance(level=mapping.assurance, verifier=mapping.verifier),  # type: ignore[arg-type]
            )
            decl.submitted_at.CopyFrom(submitted)
            body = getattr(decl, kind)
            body.SetInParent()
            for m in mapping.fields:
                body_kind, _, name = m.field.partition(".")
                if body_kind == kind:
                    value = row[m.field]
                    setattr(body, name, float("nan") if value is None else value)
            for target, _ in mapping.text_fields.items():
                body_kind, _, name = target.partition(".")
                if body_kind == kind and row[target] is not None:
                    setattr(body, name, row[target])
            decl.declaration_id = declaration_id(decl)
            items.append(Item(decl, row[ROW]))
    return items
