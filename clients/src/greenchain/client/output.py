"""How read commands print: ``--output table`` (rich, for people), ``json`` (one JSON document;
``watch``: one JSON object per line) or ``csv`` (a header and one row per item), and errors as
one line on stderr with an exit code from sysexits.h."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

OUTPUTS = ("table", "json", "csv")

EXIT_USAGE, EXIT_DATA, EXIT_UNAVAILABLE, EXIT_SOFTWARE, EXIT_IO, EXIT_PERMISSION = (
    2,
    65,
    69,
    70,
    74,
    77,
)
"""argparse's usage error, then sysexits.h: invalid input data, service unavailable, internal
error, input/output error, permission denied."""


def fail(message: str, code: int) -> int:
    """Print ``message`` as one line on stderr; returns ``code``."""
    print(f"greenchain: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return code


def as_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-ready data: proto field names, enums by name, every field shown."""
    data: dict[str, Any] = json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    return data


def print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2), flush=True)


def print_json_line(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, separators=(",", ":")), flush=True)


def _cell(value: object) -> object:
    return "" if value is None else value


def print_csv(rows: Sequence[Mapping[str, object]], columns: Sequence[str] | None = None) -> None:
    names: list[str] = list(columns or [])
    if not names:
        for row in rows:
            names += [k for k in row if k not in names]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in names])
    sys.stdout.flush()


class CsvStream:
    """CSV rows printed as they come (``watch``): the header with the first row."""

    def __init__(self, columns: Iterable[str]) -> None:
        self.columns = list(columns)
        self.writer = csv.writer(sys.stdout, lineterminator="\n")
        self.writer.writerow(self.columns)

    def row(self, row: Mapping[str, object]) -> None:
        self.writer.writerow([_cell(row.get(name)) for name in self.columns])
        sys.stdout.flush()
