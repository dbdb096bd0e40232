"""The scoring worker's steps without faust or a broker: a dict is the table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.faust_bridge import Record
from greenchain.scoring.model import Methodology
from greenchain.scoring.worker import ScoringSteps
from greenchain.testing.flows import sample_declarations


class CountingTable(dict[str, Any]):
    """A table that counts writes (each is a changelog record in faust)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def record(value: bytes, offset: int) -> Record:
    return Record(None, value, [("traceparent", b"x")], "decls", 0, offset)


def test_a_batch_is_decoded_applied_and_rated_with_one_write_per_supplier() -> None:
    suppliers, decls = sample_declarations(suppliers=5, months=4, seed=5)
    engine = ScoringEngine(Methodology.load())
    for s in suppliers:
        engine.set_supplier(s)
    table = CountingTable()
    entered: list[int] = []

    @contextmanager
    def context(r: Record) -> Iterator[None]:
        entered.append(r.offset)
        yield

    steps = ScoringSteps(engine, table, context)
    records = [record(d.SerializeToString(), i) for i, d in enumerate(decls)]
    records.insert(3, record(b"\xff not protobuf", 999))
    batch = steps.apply(records)

    assert [(r.offset, reason.split(":")[0]) for r, reason in batch.dead_letters] == [
        (999, "DecodeError")
    ]
    assert set(batch.touched) == {s.supplier_id for s in suppliers}
    assert table.writes == len(suppliers)  # not one per declaration
    assert entered  # table reads and writes happened inside the record's context
    ratings = [e.rating for e in steps.rate(batch, datetime(2026, 1, 1, tzinfo=UTC))]
    assert sorted(r.supplier_id for r in ratings) == sorted(batch.touched)

    # the send failed: nothing counts as emitted, and the retry rates the same again
    steps.discard()
    retried = steps.rate(batch, datetime(2026, 1, 1, tzinfo=UTC))
    assert [(e.rating.supplier_id, e.rating.revision) for e in retried] == [
        (r.supplier_id, r.revision) for r in ratings
    ]
    steps.confirm(retried)  # Kafka acknowledged them

    # the same batch again (a redelivery) changes no state and emits nothing, but its
    # suppliers are rated again (in case a crash came between the state and the rating)
    again = steps.apply(records)
    assert again.touched == {}
    assert again.seen == {s.supplier_id for s in suppliers}
    assert steps.rate(again, datetime(2026, 1, 1, tzinfo=UTC)) == []


def test_a_redelivered_batch_rates_what_a_crash_left_unrated() -> None:
    """The state was written (changelog) but the worker died before its ratings were sent:
    the redelivered records change no state, and still their suppliers get rated."""
    suppliers, decls = sample_declarations(suppliers=3, months=4, seed=7)
    table: dict[str, Any] = {}
    crashed = ScoringEngine(Methodology.load())
    for s in suppliers:
        crashed.set_supplier(s)
    records = [record(d.SerializeToString(), i) for i, d in enumerate(decls)]
    ScoringSteps(crashed, table, nullcontext_for).apply(records)  # state written, never rated

    restarted = ScoringEngine(Methodology.load())
    for s in suppliers:
        restarted.set_supplier(s)
    steps = ScoringSteps(restarted, table, nullcontext_for)
    batch = steps.apply(records)
    assert batch.touched == {}
    rated = steps.rate(batch, datetime(2026, 1, 1, tzinfo=UTC))
    assert sorted(e.rating.supplier_id for e in rated) == sorted(s.supplier_id for s in suppliers)


@contextmanager
def nullcontext_for(_: Record) -> Iterator[None]:
    yield
