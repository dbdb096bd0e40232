"""The LedgerService over a real gRPC server on 127.0.0.1 and a real SQLite file, without Kafka:
UNAVAILABLE until ready, the lag in every answer, and answers while a batch is being appended."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from greenchain.ledger.server import LAG_KEY, LedgerServicer
from greenchain.ledger.store import LedgerStore, Record
from greenchain.testing.builders import rating
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2

MUN = rating_pb2.READINESS_TIER_MUNICIPAL


@pytest.fixture
async def served(
    tmp_path: Path,
) -> AsyncIterator[tuple[LedgerServicer, ledger_pb2_grpc.LedgerServiceAsyncStub]]:
    store = LedgerStore(tmp_path / "ledger.sqlite3")
    store.append([Record("seq", 0, 0, rating("s0", 10.0, MUN, 1.0, ("c",)), (0, 0))])
    servicer = LedgerServicer(store, None, lag=lambda: 7, ready=False)
    server = grpc.aio.server()
    ledger_pb2_grpc.add_LedgerServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub: ledger_pb2_grpc.LedgerServiceAsyncStub = ledger_pb2_grpc.LedgerServiceStub(channel)
        yield servicer, stub
    await server.stop(None)
    servicer.close()
    store.close()


async def test_unavailable_until_ready_and_every_answer_says_the_lag(
    served: tuple[LedgerServicer, ledger_pb2_grpc.LedgerServiceAsyncStub],
) -> None:
    servicer, stub = served
    call = stub.GetRating(ledger_pb2.GetRatingRequest(supplier_id="s0"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE and "7 records" in str(
        err.value.details()
    )
    assert dict(await call.initial_metadata())[LAG_KEY] == "7"
    servicer.ready = True
    servicer.lag = lambda: None  # not measured yet
    call = stub.GetRating(ledger_pb2.GetRatingRequest(supplier_id="s0"))
    assert (await call).rating.supplier_id == "s0"
    assert dict(await call.initial_metadata())[LAG_KEY] == "unknown"
    listed = stub.ListRatings(ledger_pb2.ListRatingsRequest(chain_id="c"))
    assert (await listed).total_size == 1
    assert LAG_KEY in dict(await listed.initial_metadata())


class Gate(list[Record]):
    """A batch whose iteration stops half-way until the gate opens: the append is provably in
    progress (inside its transaction, holding the writer lock)."""

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


async def test_rpcs_answer_while_a_batch_is_being_appended(
    served: tuple[LedgerServicer, ledger_pb2_grpc.LedgerServiceAsyncStub],
) -> None:
    servicer, stub = served
    servicer.ready = True
    batch = Gate(
        [
            Record("seq", 0, i, rating(f"n{i}", 50.0, MUN, 1.0, ("c",)), (0, i))
            for i in range(1, 200)
        ]
    )
    appending = asyncio.create_task(asyncio.to_thread(servicer.store.append, batch))
    try:
        assert await asyncio.to_thread(batch.halfway.wait, 30)
        entry = await stub.GetRating(ledger_pb2.GetRatingRequest(supplier_id="s0"))
        page = await stub.ListRatings(ledger_pb2.ListRatingsRequest(chain_id="c"))
        checkpoint = await stub.GetCheckpoint(ledger_pb2.GetCheckpointRequest())
        assert not appending.done()  # all answered while the batch was being appended
        assert entry.rating.supplier_id == "s0"
        assert page.total_size == 1 and checkpoint.size == 1  # the last committed state
    finally:
        batch.open.set()
        await appending
    assert (await stub.GetCheckpoint(ledger_pb2.GetCheckpointRequest())).size == 200
