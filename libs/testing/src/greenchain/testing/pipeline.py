"""The whole pipeline for tests that break it: ingest, scoring and ledger as real processes on
one broker, the connector in the test's own event loop, the ledger read back through gRPC and
its SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from greenchain.client.ledger import LedgerClient
from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import client_security
from greenchain.common.ratings import rating_fingerprint
from greenchain.ledger.store import LedgerStore
from greenchain.testing.kafka_broker import free_port
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import ledger_pb2, rating_pb2

SERVICES = ("ingest", "scoring", "ledger")
READY_LOG = {"ingest": "IngestServer started", "scoring": "scoring ready", "ledger": "started"}


class Pipeline:
    """The three services as processes with ``settings`` (auth off), logs under ``workdir``;
    ``scoring_workers`` scoring processes in one group (``scoring``, ``scoring-2``, ...), each
    with its own data folder."""

    def __init__(self, settings: Settings, workdir: Path, scoring_workers: int = 1) -> None:
        self.settings = settings.with_(
            ingest_listen=f"127.0.0.1:{free_port()}",
            ledger_listen=f"127.0.0.1:{free_port()}",
            ingest_metrics_port=free_port(),
            scoring_metrics_port=free_port(),
            ledger_metrics_port=free_port(),
        )
        workdir.mkdir(parents=True, exist_ok=True)
        self.killed: set[str] = set()  # stopped on purpose (kill), not expected to run
        self.services = {
            name: ServiceProcess(name, self.settings, workdir / f"{name}.log") for name in SERVICES
        }
        for n in range(2, scoring_workers + 1):
            own = self.settings.with_(
                scoring_data_dir=f"{self.settings.scoring_data_dir}-{n}",
                scoring_metrics_port=free_port(),
            )
            self.services[f"scoring-{n}"] = ServiceProcess(
                "scoring", own, workdir / f"scoring-{n}.log"
            )

    def start(self, *names: str) -> None:
        for name in names or self.services:
            self.killed.discard(name)
            self.services[name].start()
        for name in names or self.services:
            service = self.services[name]
            service.wait_for_log(READY_LOG[service.service], within=90)

    def metrics_url(self, name: str) -> str:
        """Where service ``name`` serves its Prometheus metrics."""
        return f"http://127.0.0.1:{self.settings.metrics_port(name)}/metrics"

    def kill(self, name: str) -> None:
        self.killed.add(name)
        self.services[name].kill()

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()

    def check_running(self) -> None:
        for name, service in self.services.items():
            if name not in self.killed and not service.running:
                raise RuntimeError(f"{name} exited:\n{service.log_text()[-3000:]}")

    async def ledger_ratings(self) -> dict[str, rating_pb2.SupplierRating]:
        """The current rating of every supplier as LedgerService serves it."""
        client = LedgerClient(self.settings.ledger_listen)
        return {
            r.supplier_id: r
            async for r in client.all_ratings("", ledger_pb2.RATING_ORDER_SUPPLIER_ID, 1000)
        }

    def scoring_lag(self) -> int:
        """Declarations not yet committed by the scoring group (all partitions)."""
        topic = self.settings.topic(topics.DECLARATIONS)
        consumer = KafkaConsumer(  # never joins the group: reads its committed offsets only
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.settings.group("scoring"),
            enable_auto_commit=False,
            **client_security(self.settings),
        )
        try:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            ends = consumer.end_offsets(partitions)
            return sum(end - (consumer.committed(tp) or 0) for tp, end in ends.items())
        finally:
            consumer.close()

    async def settled_ledger(
        self, expected: int, quiet: float = 8.0, within: float = 240.0
    ) -> dict[str, rating_pb2.SupplierRating]:
        """The ledger's ratings once it serves ``expected`` suppliers, scoring has committed
        every declaration and nothing changed for ``quiet`` seconds."""
        deadline = time.monotonic() + within
        last: tuple[int, str] = (-1, "")
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            self.check_running()
            ratings = await self.ledger_ratings()
            state = (len(ratings), "".join(sorted(rating_fingerprint(r) for r in ratings.values())))
            if await asyncio.to_thread(self.scoring_lag) > 0:
                # scoring is behind: not settled whatever the ledger says, however long
                last, last_change = (-1, ""), time.monotonic()
            elif state != last:
                last, last_change = state, time.monotonic()
            elif len(ratings) >= expected and time.monotonic() - last_change >= quiet:
                return ratings
            await asyncio.sleep(1.0)
        raise TimeoutError(f"the ledger serves {last[0]} of {expected} suppliers")

    def ledger_fingerprints(self) -> dict[str, list[str]]:
        """Every ledger entry's rating fingerprint, per supplier in sequence order."""
        out: dict[str, list[str]] = {}
        with sqlite3.connect(self.settings.ledger_db) as db:
            for sid, fingerprint in db.execute(
                "SELECT supplier_id, fingerprint FROM entries ORDER BY supplier_id, sequence"
            ):
                out.setdefault(sid, []).append(fingerprint)
        return out

    def broken_chains(self) -> list[str]:
        """Suppliers whose hash chain does not verify."""
        store = LedgerStore(self.settings.ledger_db)
        try:
            return [sid for sid in self.ledger_fingerprints() if not store.verify(sid).intact]
        finally:
            store.close()


@contextmanager
def pipeline(settings: Settings, workdir: Path, scoring_workers: int = 1) -> Iterator[Pipeline]:
    running = Pipeline(settings, workdir, scoring_workers)
    try:
        running.start()
        yield running
    finally:
        running.stop()
