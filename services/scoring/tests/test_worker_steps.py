"""The scoring worker's steps without faust or a broker: a dict is the table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from greenchain.common.batches import BATCH_FORMAT_HEADER, encode_batch, partition_for
from greenchain.scoring.engine import ScoringEngine
from greenchain.scoring.faust_bridge import Record
from greenchain.scoring.model import Methodology
from greenchain.scoring.worker import ScoringSteps
from greenchain.testing.flows import sample_declarations
from greenchain.v1 import declaration_pb2, rating_pb2, supplier_pb2


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


def steps_of(suppliers: list[supplier_pb2.Supplier]) -> ScoringSteps:
    """Steps with a dict as the table, the registry of ``suppliers`` known."""
    engine = ScoringEngine(Methodology.load())
    for s in suppliers:
        engine.set_supplier(s)
    return ScoringSteps(engine, {})


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

    assert [(d.record.offset, d.reason.split(":")[0]) for d in batch.dead_letters] == [
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


def batch_records(decls: list[declaration_pb2.Declaration], partitions: int = 3) -> list[Record]:
    """The declarations as ingest writes them: one batch record per partition, in order, each
    declaration with its own trace context."""
    by_partition: dict[int, list[declaration_pb2.Declaration]] = {}
    for d in decls:
        by_partition.setdefault(partition_for(d.supplier_id.encode(), partitions), []).append(d)
    return [
        Record(
            None,
            encode_batch((d, {"traceparent": f"trace-of-{d.declaration_id}"}) for d in part),
            [BATCH_FORMAT_HEADER],
            "decls",
            partition,
            0,
        )
        for partition, part in sorted(by_partition.items())
    ]


def engine_for(suppliers: list[Any]) -> ScoringEngine:
    engine = ScoringEngine(Methodology.load())
    for s in suppliers:
        engine.set_supplier(s)
    return engine


def test_batch_records_give_the_state_and_ratings_of_one_record_per_declaration() -> None:
    suppliers, decls = sample_declarations(suppliers=6, months=3, seed=8)
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    single = ScoringSteps(engine_for(suppliers), {})
    old = single.apply([record(d.SerializeToString(), i) for i, d in enumerate(decls)])
    batched = ScoringSteps(engine_for(suppliers), {})
    new = batched.apply(batch_records(decls))

    assert len(batch_records(decls)) < len(decls)  # several declarations per record
    assert new.dead_letters == [] and batched.table == single.table
    assert new.touched == old.touched
    ratings = [e.rating.SerializeToString() for e in batched.rate(new, as_of)]
    assert ratings == [e.rating.SerializeToString() for e in single.rate(old, as_of)]
    # each supplier's rating continues the trace of its latest declaration in the batch
    for sid, entry in new.origins.items():
        last = [d for d in decls if d.supplier_id == sid][-1]
        assert ("traceparent", f"trace-of-{last.declaration_id}".encode()) in entry.headers


def test_one_unacceptable_declaration_of_a_batch_is_dead_lettered_alone() -> None:
    suppliers, decls = sample_declarations(suppliers=2, months=2, seed=9)
    no_body = declaration_pb2.Declaration(declaration_id="x-1", supplier_id=decls[0].supplier_id)
    value = encode_batch([(decls[0], {}), (no_body, {"traceparent": "t-x"}), (decls[1], {})])
    source = Record(b"k", value, [BATCH_FORMAT_HEADER], "decls", 4, 77)
    garbage = Record(b"k", b"\xff\x00", [BATCH_FORMAT_HEADER], "decls", 4, 78)
    steps = ScoringSteps(engine_for(suppliers), {})

    batch = steps.apply([source, garbage])

    bad, whole = batch.dead_letters
    assert (bad.value, bad.key) == (no_body.SerializeToString(), no_body.supplier_id.encode())
    headers = dict(bad.headers)
    assert headers["error"].startswith(b"Unacceptable")
    assert (headers["source.partition"], headers["source.offset"]) == (b"4", b"77")
    assert (headers["source.index"], headers["traceparent"]) == (b"1", b"t-x")
    assert headers["declaration_id"] == b"x-1"
    # a record that cannot be read goes whole, with its format header, and no index
    assert (whole.value, whole.key, whole.entry) == (b"\xff\x00", b"k", None)
    assert dict(whole.headers)["greenchain.format"] == b"declaration-batch.v1"
    assert b"DecodeError" in dict(whole.headers)["error"]
    assert "source.index" not in dict(whole.headers)
    assert set(batch.touched) == {decls[0].supplier_id, decls[1].supplier_id}


def test_owed_ratings_settle_as_rating_every_batch_would_once_per_supplier() -> None:
    """Catching up: batches are applied and their suppliers owed a rating; rating what is owed
    gives every supplier's latest rating of rating each batch, with one rating per supplier,
    each continuing the trace of its last declaration."""
    suppliers, decls = sample_declarations(suppliers=6, months=6, seed=11)
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    records = [
        Record(None, d.SerializeToString(), [("traceparent", f"t{i}".encode())], "decls", 0, i)
        for i, d in enumerate(decls)
    ]
    micro = [records[i : i + 7] for i in range(0, len(records), 7)]

    every = steps_of(suppliers)
    latest: dict[str, bytes] = {}
    emitted_every = 0
    for part in micro:
        emissions = every.rate(every.apply(part), as_of)
        every.confirm(emissions)
        emitted_every += len(emissions)
        latest |= {e.rating.supplier_id: e.rating.SerializeToString() for e in emissions}

    owing = steps_of(suppliers)
    for part in micro:
        owing.apply(part, defer=True)
    assert owing.table == {}  # states wait in memory: one table write per supplier, later
    assert set(owing.unrated) == set(owing.unwritten) == {s.supplier_id for s in suppliers}
    last_trace = {d.supplier_id: f"t{i}".encode() for i, d in enumerate(decls)}
    assert {sid: dict(h or [])["traceparent"] for sid, h in owing.unrated.items()} == last_trace
    emissions = owing.rate_owed(list(owing.unrated), as_of)
    owing.confirm(emissions)
    assert owing.table == every.table and owing.unwritten == {}
    settled = {e.rating.supplier_id: e.rating.SerializeToString() for e in emissions}
    assert len(emissions) == len(suppliers) < emitted_every
    # the same bytes but for the revision (fewer emissions) and the change from the last one
    strip = {"revision", "score_change", "previous_tier"}

    def core(raw: bytes) -> bytes:
        rating = rating_pb2.SupplierRating.FromString(raw)
        for name in strip:
            rating.ClearField(name)
        return rating.SerializeToString(deterministic=True)

    assert {k: core(v) for k, v in settled.items()} == {k: core(v) for k, v in latest.items()}


def test_a_batch_applied_while_ratings_are_owed_supersedes_the_states_waiting() -> None:
    """A worker that caught up rates a batch at once while earlier states still wait to be
    written: the batch builds on them, and writing what waited never undoes it."""
    suppliers, decls = sample_declarations(suppliers=4, months=6, seed=3)
    records = [record(d.SerializeToString(), i) for i, d in enumerate(decls)]
    half = len(records) // 2

    every = steps_of(suppliers)
    every.apply(records)
    owing = steps_of(suppliers)
    owing.apply(records[:half], defer=True)
    later = owing.apply(records[half:])
    assert later.touched and not set(later.touched) & set(owing.unwritten)
    owing.rate_owed(list(owing.unrated), datetime(2026, 1, 1, tzinfo=UTC))
    assert owing.table == every.table
