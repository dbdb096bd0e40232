from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from opentelemetry.sdk.trace import TracerProvider

from greenchain.common.batches import (
    BATCH_FORMAT_HEADER,
    FORMAT_HEADER,
    UndecodableRecord,
    current_trace_context,
    decode_record,
    encode_batch,
    is_batch,
    partition_for,
)
from greenchain.common.telemetry import extract_context
from greenchain.testing.builders import envelope


def test_a_batch_decodes_to_its_declarations_in_order_with_their_own_trace_context() -> None:
    tracer = TracerProvider().get_tracer("unit")
    decls = [
        envelope(kind, f"sup-{i}") for i, kind in enumerate(["emissions", "energy", "offsets"])
    ]
    contexts, trace_ids = [], []
    for _ in decls:
        with tracer.start_as_current_span("submit") as span:
            contexts.append(current_trace_context())
            trace_ids.append(span.get_span_context().trace_id)
    value = encode_batch(zip(decls, contexts, strict=True))

    entries = decode_record(value, [BATCH_FORMAT_HEADER, ("traceparent", b"ignored")])

    assert [e.index for e in entries] == [0, 1, 2]
    assert [e.declaration for e in entries] == decls
    assert [e.payload() for e in entries] == [d.SerializeToString() for d in decls]
    for entry, trace_id in zip(entries, trace_ids, strict=True):
        assert ("declaration_id", entry.declaration.declaration_id.encode()) in entry.headers
        parent = extract_context(entry.headers)
        with tracer.start_as_current_span("rate", context=parent) as child:
            assert child.get_span_context().trace_id == trace_id


def test_a_record_without_the_format_header_is_one_declaration_as_before() -> None:
    decl = envelope("energy")
    value = decl.SerializeToString()
    headers = [("declaration_id", decl.declaration_id.encode()), ("traceparent", b"00-ab")]

    (entry,) = decode_record(value, headers)

    assert (entry.index, entry.declaration, entry.headers) == (0, decl, headers)
    assert entry.payload() is value  # dead-lettered byte for byte
    assert not is_batch(headers) and is_batch([BATCH_FORMAT_HEADER])


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (b"\xff\xff\xff", [], "DecodeError"),
        (b"\xff\xff\xff", [BATCH_FORMAT_HEADER], "DecodeError"),
        (b"", [(FORMAT_HEADER, b"declaration-batch.v9")], "unknown record format"),
    ],
)
def test_an_unreadable_record_says_why(
    value: bytes, headers: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(UndecodableRecord, match=reason):
        decode_record(value, headers)


@pytest.mark.parametrize("partitions", [1, 3, 6, 12])
def test_partition_for_is_kafkas_default_partitioner(partitions: int) -> None:
    every = list(range(partitions))
    for i in range(500):
        key = f"sup-{i:05d}".encode()
        assert partition_for(key, partitions) == DefaultPartitioner()(key, every, every)
