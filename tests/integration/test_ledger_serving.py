"""The ledger tells the truth about itself (issues #18 and #19): real Kafka, real gRPC servers on
127.0.0.1, real SQLite files.

- it answers only once caught up to the end offsets taken at start, and says its lag in every
  answer;
- queries and health checks answer while a batch is being appended;
- a store that fails turns health NOT_SERVING, and the process exits non-zero;
- its positions are in a consumer group that the standard lag tool reads;
- a chain sees a supplier's history only from its membership periods.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.ledger.server import LAG_KEY, LedgerServer
from greenchain.ledger.store import Record
from greenchain.testing.builders import rating
from greenchain.testing.flows import produce
from greenchain.testing.grpc_clients import bearer, channel
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2

MUN = rating_pb2.READINESS_TIER_MUNICIPAL
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
ROOT = Path(__file__).resolve().parents[2]
KAFKA_LIB = ROOT / ".cache/kafka/lib"
FAIL_EVERY_INSERT = (
    "CREATE TRIGGER injected_failure BEFORE INSERT ON entries "
    "BEGIN SELECT RAISE(ABORT, 'injected store failure'); END;"
)
"""A store error on the next append: what a full disk or a broken file is to the consumer (an
exception from the SQLite transaction). Root ignores file modes, so a read-only file would not
fail here; a trigger does, on the real file."""


def publish(settings: Settings, ratings: list[rating_pb2.SupplierRating]) -> None:
    produce(
        settings,
        topic_names.RATINGS,
        ((r.supplier_id.encode(), r.SerializeToString()) for r in ratings),
    )


def with_tokens(settings: Settings, folder: Path) -> Settings:
    tokens = folder / "tokens.yaml"
    principals = {"admin": "admin", "c1": "chain:c1", "s": "supplier:S"}
    tokens.write_text(
        yaml.safe_dump(
            {"tokens": [{"sha256": hash_token(t), "principal": p} for t, p in principals.items()]}
        )
    )
    return settings.with_(tokens_file=str(tokens))


async def health(port: int) -> int:
    async with channel(port) as ch:
        answer = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
    return int(answer.status)


def lag_of(metadata: Any) -> str:
    found = [value for key, value in metadata or () if key == LAG_KEY]
    assert len(found) == 1, metadata
    return str(found[0])


@pytest.fixture
async def serving(topics: Settings, tmp_path: Path) -> AsyncIterator[LedgerServer]:
    settings = with_tokens(topics, tmp_path)
    publish(settings, [rating(f"s{i}", float(i), MUN, 1.0, ("c1",)) for i in range(20)])
    async with LedgerServer(settings, listen="127.0.0.1:0") as server:
        yield server


async def test_not_serving_until_caught_up_then_everything_is_there_with_its_lag(
    topics: Settings, tmp_path: Path
) -> None:
    settings = with_tokens(topics, tmp_path)
    count = 500
    publish(settings, [rating(f"s{i:03d}", float(i % 90), MUN, 1.0, ("c1",)) for i in range(count)])
    server = LedgerServer(settings, listen="127.0.0.1:0")
    # the test holds the file's write lock: the consumer can read Kafka but append nothing
    holder = sqlite3.connect(settings.ledger_db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    starting = asyncio.create_task(server.start())
    try:
        async with channel(server.port) as ch:
            stub = ledger_pb2_grpc.LedgerServiceStub(ch)
            lag = "unknown"
            async with asyncio.timeout(30):
                while lag == "unknown":  # until the consumer has measured its lag
                    call = stub.GetRating(
                        ledger_pb2.GetRatingRequest(supplier_id="s000"), metadata=bearer("admin")
                    )
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await call
                    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
                    lag = lag_of(await call.initial_metadata())
                    await asyncio.sleep(0.05)
            assert int(lag) >= count  # nothing of it is in the log yet
            assert await health(server.port) == NOT_SERVING
            assert not starting.done()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    try:
        async with asyncio.timeout(60):
            await starting
        # start returned: caught up to the end offsets taken at start, so nothing is missing
        assert await health(server.port) == SERVING
        async with channel(server.port) as ch:
            stub = ledger_pb2_grpc.LedgerServiceStub(ch)
            last = stub.GetRating(
                ledger_pb2.GetRatingRequest(supplier_id=f"s{count - 1:03d}"),
                metadata=bearer("admin"),
            )
            assert (await last).rating.supplier_id == f"s{count - 1:03d}"
            assert int(lag_of(await last.initial_metadata())) >= 0
            listed = stub.ListRatings(
                ledger_pb2.ListRatingsRequest(chain_id="c1"), metadata=bearer("c1")
            )
            assert (await listed).total_size == count
            history = stub.GetRatingHistory(
                ledger_pb2.GetRatingHistoryRequest(supplier_id="s001"), metadata=bearer("admin")
            )
            assert len((await history).entries) == 1
            missing = stub.GetRating(
                ledger_pb2.GetRatingRequest(supplier_id="nobody"), metadata=bearer("admin")
            )
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await missing
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            answers: list[Any] = [listed, history, missing]
            for answer in answers:  # every answer, errors too, says its lag
                assert int(lag_of(await answer.initial_metadata())) >= 0
            async with asyncio.timeout(30):  # measured again every second: all in, lag 0
                while True:
                    checkpoint = stub.GetCheckpoint(
                        ledger_pb2.GetCheckpointRequest(), metadata=bearer("admin")
                    )
                    assert (await checkpoint).size == count
                    if lag_of(await checkpoint.initial_metadata()) == "0":
                        break
                    await asyncio.sleep(0.2)
    finally:
        await server.stop()


class Gate(list[Record]):
    """A batch whose iteration stops half-way until the test opens the gate: the append is
    provably in progress (inside its SQLite transaction, holding the writer lock)."""

    def __init__(self, items: list[Record]) -> None:
        super().__init__(items)
        self.halfway = threading.Event()
        self.open = threading.Event()

    def __iter__(self) -> Iterator[Record]:
        items = list(super().__iter__())
        yield from items[: len(items) // 2]
        self.halfway.set()
        assert self.open.wait(20), "the gate was never opened"
        yield from items[len(items) // 2 :]


async def test_queries_and_health_answer_while_a_batch_is_being_appended(
    serving: LedgerServer,
) -> None:
    # a batch appended through the ledger's own store, as its consumer does, held half-way
    batch = Gate(
        [
            Record("rebuild", 0, i, rating(f"n{i:04d}", 50.0, MUN, 1.0, ("c1",)), (99, i))
            for i in range(2000)
        ]
    )
    appending = asyncio.create_task(asyncio.to_thread(serving.store.append, batch))
    try:
        assert await asyncio.to_thread(batch.halfway.wait, 30)
        async with channel(serving.port) as ch:
            stub = ledger_pb2_grpc.LedgerServiceStub(ch)
            entry = await stub.GetRating(
                ledger_pb2.GetRatingRequest(supplier_id="s5"), metadata=bearer("admin")
            )
            page = await stub.ListRatings(
                ledger_pb2.ListRatingsRequest(chain_id="c1", page_size=50), metadata=bearer("c1")
            )
            status = await health(serving.port)
        # answered while the batch was still being appended: nothing waited for the writer
        assert not appending.done()
        assert entry.rating.supplier_id == "s5" and status == SERVING
        assert page.total_size == 20  # the committed state, none of the batch in progress
    finally:
        batch.open.set()
        appended = await appending
    assert len(appended) == 2000
    assert serving.store.size() == 2020


async def test_a_failing_store_turns_health_not_serving(
    serving: LedgerServer, topics: Settings
) -> None:
    assert await health(serving.port) == SERVING
    with sqlite3.connect(serving.store.path) as db:
        db.execute(FAIL_EVERY_INSERT)
    publish(serving.settings, [rating("late", 10.0, MUN, 1.0, ("c1",))])
    async with asyncio.timeout(30):
        await serving.failed.wait()
    assert await health(serving.port) == NOT_SERVING
    async with channel(serving.port) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await ledger_pb2_grpc.LedgerServiceStub(ch).GetRating(
                ledger_pb2.GetRatingRequest(supplier_id="s1"), metadata=bearer("admin")
            )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_ledger_process_exits_non_zero_when_its_store_fails(
    topics: Settings, tmp_path: Path
) -> None:
    settings = topics.with_(ledger_listen="127.0.0.1:0")
    publish(settings, [rating("first", 10.0, MUN, 1.0, ("c1",))])
    log = tmp_path / "ledger.log"
    ledger = ServiceProcess("ledger", settings, log).start()
    try:
        ledger.wait_for_log("LedgerServer started")
        with sqlite3.connect(settings.ledger_db) as db:
            assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 1
            db.execute(FAIL_EVERY_INSERT)
        publish(settings, [rating("second", 20.0, MUN, 1.0, ("c1",))])
        assert ledger.process is not None
        code = ledger.process.wait(60)
    finally:
        ledger.stop()
    assert code == 1
    text = ledger.log_text()
    assert "injected store failure" in text and "NOT_SERVING" in text, text[-3000:]


async def test_the_standard_lag_tool_sees_the_ledgers_group(serving: LedgerServer) -> None:
    # `make test` fetches the Kafka jars (scripts/kafka.sh fetch): never skipped, fails if absent
    assert KAFKA_LIB.exists(), f"{KAFKA_LIB} missing: run `make setup`"
    group = serving.settings.group("ledger")
    ratings_topic = serving.settings.topic(topic_names.RATINGS)

    def describe() -> dict[tuple[str, int], tuple[str, str]]:
        out = subprocess.run(
            [
                "java",
                "-cp",
                f"{KAFKA_LIB}/*",
                "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                "--bootstrap-server",
                serving.settings.kafka_bootstrap_servers,
                "--describe",
                "--group",
                group,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        rows = {}
        for line in out.splitlines():
            cells = line.split()
            if len(cells) >= 6 and cells[0] == group:  # GROUP TOPIC PARTITION CURRENT END LAG
                rows[(cells[1], int(cells[2]))] = (cells[3], cells[5])
        return rows

    async with asyncio.timeout(60):
        while True:
            rows = await asyncio.to_thread(describe)
            ratings_rows = {k: v for k, v in rows.items() if k[0] == ratings_topic}
            committed = sum(int(c) for c, _ in ratings_rows.values() if c.isdigit())
            if committed == 20:  # the 20 ratings, committed once they were in the log
                break
            await asyncio.sleep(0.5)
    assert all(lag == "0" for _, lag in ratings_rows.values()), ratings_rows
    # the log, not the group, is where the ledger resumes: the offsets it keeps agree
    applied = serving.store.applied_sources()
    assert {p: int(c) for (_, p), (c, _) in ratings_rows.items() if c.isdigit()} == {
        p: o + 1 for p, o in applied.items()
    }


async def test_a_chain_sees_history_only_from_its_membership_periods(
    topics: Settings, tmp_path: Path
) -> None:
    settings = with_tokens(topics, tmp_path)
    memberships = [("c2",), ("c1", "c2"), ("c2",), ("c1",)]  # joins c1, leaves, joins again
    publish(
        settings,
        [
            rating("S", 10.0 + i, MUN, 1.0, chains, revision=i + 1)
            for i, chains in enumerate(memberships)
        ],
    )
    async with LedgerServer(settings, listen="127.0.0.1:0") as server, channel(server.port) as ch:
        stub = ledger_pb2_grpc.LedgerServiceStub(ch)
        request = ledger_pb2.GetRatingHistoryRequest(supplier_id="S")
        own = await stub.GetRatingHistory(request, metadata=bearer("s"))
        chain = await stub.GetRatingHistory(request, metadata=bearer("c1"))
        assert [e.sequence for e in own.entries] == [1, 2, 3, 4]
        assert [e.sequence for e in chain.entries] == [2, 4]  # before joining, after leaving: no
        assert all(list(e.rating.chain_ids) == ["c1"] for e in chain.entries)
        # an inclusion proof of an entry from outside the periods is refused too
        for sequence, allowed in ((1, False), (2, True), (3, False), (4, True)):
            proof = stub.GetInclusionProof(
                ledger_pb2.GetInclusionProofRequest(
                    supplier_entry=ledger_pb2.SupplierEntry(supplier_id="S", sequence=sequence)
                ),
                metadata=bearer("c1"),
            )
            if allowed:
                assert (await proof).entry.sequence == sequence
            else:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await proof
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
