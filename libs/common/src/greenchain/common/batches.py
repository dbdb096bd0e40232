"""Records of the declarations topic: one Declaration, or a DeclarationBatch of many.

The topic ``greenchain.declarations.v1`` keeps its name; its message is versioned by a record
header. A record without the header :data:`FORMAT_HEADER` holds one ``Declaration`` (the
original form, written before batching and still read for existing data); a record with
``greenchain.format: declaration-batch.v1`` holds a ``DeclarationBatch``. Every declaration of
a batch belongs to a supplier whose id hashes to the record's partition (:func:`partition_for`,
Kafka's default partitioner), so one supplier's declarations stay in order on one partition and
the scoring worker that owns the partition owns the supplier, as with one record each.

A declaration is addressed by (partition, offset, index): ingest acknowledges that triple and
scoring dead-letters and traces each declaration on its own (:class:`Entry`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from aiokafka.partitioner import murmur2
from google.protobuf.message import DecodeError
from opentelemetry import propagate

from greenchain.v1 import declaration_pb2

FORMAT_HEADER: Final = "greenchain.format"
"""Name of the record header that says which message a record of the topic holds."""
BATCH_FORMAT: Final = b"declaration-batch.v1"
"""Its value for a ``DeclarationBatch`` record."""
BATCH_FORMAT_HEADER: Final = (FORMAT_HEADER, BATCH_FORMAT)
"""The header (name, value) of a batch record, as aiokafka takes headers."""

DECLARATION_ID_HEADER: Final = "declaration_id"
"""Header naming the declaration of a one-declaration record (and of an :class:`Entry`)."""

Headers = list[tuple[str, bytes]]


class UndecodableRecord(ValueError):
    """The record as a whole cannot be read: unknown format, or bytes that do not parse."""


@dataclass(slots=True)
class Entry:
    """One declaration of a record, with what belongs to it alone. Not changed once built
    (not frozen only because one is built for every declaration, and a frozen dataclass's
    ``__init__`` takes twice as long).

    :attr:`headers` are the declaration's own headers: its id and the W3C trace context of the
    request that submitted it (for a one-declaration record, the record's headers). A batch's
    entries build them only when asked (a dead letter, a rating's trace parent): most
    declarations of a backfill never need them.
    """

    index: int
    declaration: declaration_pb2.Declaration
    record_headers: Headers | None = None  # a one-declaration record's headers
    raw: bytes | None = None  # the record's value, for a one-declaration record
    item: declaration_pb2.BatchedDeclaration | None = None  # its place in a batch

    @property
    def headers(self) -> Headers:
        """The declaration's own headers (a new list on each call)."""
        item = self.item
        if item is None:
            return list(self.record_headers or ())
        return [
            (DECLARATION_ID_HEADER, self.declaration.declaration_id.encode()),
            *((k, v.encode()) for k, v in item.trace_context.items()),
        ]

    def payload(self) -> bytes:
        """The declaration's bytes on its own (what a dead letter carries)."""
        return self.raw if self.raw is not None else self.declaration.SerializeToString()


def is_batch(headers: Sequence[tuple[str, bytes]]) -> bool:
    """True when the record's headers mark it as a ``DeclarationBatch``."""
    return any(k == FORMAT_HEADER and v == BATCH_FORMAT for k, v in headers)


def encode_batch(
    entries: Iterable[tuple[declaration_pb2.Declaration, Mapping[str, str]]],
) -> bytes:
    """The value of a batch record: ``(declaration, trace context)`` pairs, in order.
    Produce it with the header :data:`BATCH_FORMAT_HEADER`."""
    batch = declaration_pb2.DeclarationBatch()
    for declaration, trace_context in entries:
        item = batch.declarations.add()
        item.declaration.CopyFrom(declaration)
        item.trace_context.update(trace_context)
    return batch.SerializeToString()


def decode_record(value: bytes, headers: Sequence[tuple[str, bytes]]) -> list[Entry]:
    """The declarations of one record of the declarations topic, in order (index 0, 1, ...).

    A record without the format header decodes as a one-entry list (the original form).
    Raises :class:`UndecodableRecord` when the record cannot be read at all.
    """
    formats = [v for k, v in headers if k == FORMAT_HEADER]
    if not formats:
        try:
            declaration = declaration_pb2.Declaration.FromString(value)
        except DecodeError as exc:
            raise UndecodableRecord(f"DecodeError: {exc}") from exc
        return [Entry(0, declaration, list(headers), raw=value)]
    if formats != [BATCH_FORMAT]:
        raise UndecodableRecord(f"unknown record format {formats!r} in header {FORMAT_HEADER!r}")
    try:
        batch = declaration_pb2.DeclarationBatch.FromString(value)
    except DecodeError as exc:
        raise UndecodableRecord(f"DecodeError: {exc}") from exc
    return [
        Entry(index, item.declaration, None, None, item)
        for index, item in enumerate(batch.declarations)
    ]


def current_trace_context() -> dict[str, str]:
    """The current W3C trace context (``traceparent``, ``tracestate``) for a batch entry."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@lru_cache(maxsize=1 << 16)
def _hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as in the Java client and aiokafka)
    gives ``key`` among ``partitions``: where a record keyed by a supplier id would go."""
    return _hash(key) % partitions
