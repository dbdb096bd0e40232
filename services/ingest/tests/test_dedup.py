"""The declaration index's memory: window, cap, first copy wins (no Kafka: ``remember``)."""

from __future__ import annotations

import time

import pytest
from aiokafka.structs import ConsumerRecord

from greenchain.common.batches import UndecodableRecord
from greenchain.common.config import Settings
from greenchain.common.idempotency import idempotency_key
from greenchain.ingest.dedup import DeclarationIndex
from greenchain.testing.builders import envelope
from greenchain.testing.clock import ManualClock
from greenchain.v1 import declaration_pb2


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    clock = ManualClock()
    monkeypatch.setattr(time, "monotonic", clock)
    return clock


def index(window: float = 60.0, max_ids: int = 1000) -> DeclarationIndex:
    settings = Settings(ingest_dedup_window_seconds=window, ingest_dedup_max_ids=max_ids)
    return DeclarationIndex(settings, "declarations")


def test_a_key_is_kept_at_least_half_a_window_and_at_most_a_window(clock: ManualClock) -> None:
    ids = index(window=60.0)
    ids.remember("a", (0, 1, 0))
    clock.now += 45  # past half the window: the next key rotates, "a" is in the older half
    ids.remember("b", (0, 2, 0))
    assert ids.find("a") == (0, 1, 0)
    clock.now += 31  # past the window since "a": the next rotation drops it
    ids.remember("c", (0, 3, 0))
    assert ids.find("a") is None
    assert ids.find("b") == (0, 2, 0) and ids.find("c") == (0, 3, 0)


def test_the_first_copy_wins(clock: ManualClock) -> None:
    ids = index()
    ids.remember("a", (2, 10, 3))
    ids.remember("a", (5, 99, 0))  # a second copy written before ingest could know
    assert ids.find("a") == (2, 10, 3)


def test_the_cap_bounds_memory_and_keeps_the_newest(clock: ManualClock) -> None:
    ids = index(window=3600.0, max_ids=10)
    for n in range(100):
        ids.remember(str(n), (0, n, 0))
    assert len(ids) <= 10
    assert ids.find("99") == (0, 99, 0)
    assert ids.find("0") is None


def test_identity_is_supplier_id_and_kind() -> None:
    decl = envelope("emissions", "sup-001", 2024, 1)
    other_supplier = declaration_pb2.Declaration()
    other_supplier.CopyFrom(decl)
    other_supplier.supplier_id = "sup-002"
    verification = declaration_pb2.Declaration(
        declaration_id=decl.declaration_id,
        supplier_id=decl.supplier_id,
        verification=declaration_pb2.Verification(verifier="v"),
    )
    same = declaration_pb2.Declaration()
    same.CopyFrom(decl)
    same.source = "another export of the same figures"
    keys = {idempotency_key(d) for d in (decl, other_supplier, verification)}
    assert len(keys) == 3
    assert idempotency_key(same) == idempotency_key(decl)


def test_a_record_this_process_wrote_is_not_decoded_again(clock: ManualClock) -> None:
    ids = index()
    ids.remember_written("a", (1, 7, 0))

    def record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
        return ConsumerRecord("declarations", 1, offset, 0, 0, b"k", value, None, 1, 1, [])

    ids.take(record(7, b"not a declaration batch"))  # skipped: decoding it would raise
    with pytest.raises(UndecodableRecord):  # one it did not write is decoded
        ids.take(record(8, b"\x0a\xff\xff\xff\x7f"))
    ids.remember_written("b", (1, 5, 0))  # the reader is past offset 5: nothing to skip there
    assert ids._written == {}
    assert ids.find("a") == (1, 7, 0) and ids.find("b") == (1, 5, 0)
