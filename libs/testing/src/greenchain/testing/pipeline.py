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

from greenchain.client.ledger import LedgerClient
from greenchain.common.config import Settings
from greenchain.common.ratings import rating_fingerprint
from greenchain.ledger.store import LedgerStore
from greenchain.testing.kafka_broker import free_port
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import ledger_pb2, rating_pb2

SERVICES = ("ingest", "scoring", "ledger")
READY_LOG = {"ingest": "IngestServer started", "scoring": "scoring ready", "ledger": "started"}


class Pipeline:
    """The three services as processes with ``settings`` (auth off), logs under ``workdir``."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings.with_(
            ingest_listen=f"127.0.0.1:{free_port()}",
            ledger_listen=f"127.0.0.1:{free_port()}",
            ingest_metrics_port=free_port(),
            scoring_metrics_port=free_port(),
            ledger_metrics_port=free_port(),
        )
        workdir.mkdir(parents=True, exist_ok=True)
        self.services = {
            name: ServiceProcess(name, self.settings, workdir / f"{name}.log") for name in SERVICES
        }

    def start(self, *names: str) -> None:
        for name in names or SERVICES:
            self.services[name].start()
        for name in names or SERVICES:
            self.services[name].wait_for_log(READY_LOG[name], within=90)

    def metrics_url(self, name: str) -> str:
        """Where service ``name`` serves its Prometheus metrics."""
        return f"http://127.0.0.1:{self.settings.metrics_port(name)}/metrics"

    def kill(self, name: str) -> None:
        self.services[name].kill()

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()

    def check_running(self) -> None:
        for name, service in self.services.items():
            if not service.running:
                raise RuntimeError(f"{name} exited:\n{service.log_text()[-3000:]}")

    async def ledger_ratings(self) -> dict[str, rating_pb2.SupplierRating]:
        """The current rating of every supplier as LedgerService serves it."""
        client = LedgerClient(self.settings.ledger_listen)
        return {
            r.supplier_id: r
            async for r in client.all_ratings("", ledger_pb2.RATING_ORDER_SUPPLIER_ID, 1000)
        }

    async def settled_ledger(
        self, expected: int, quiet: float = 8.0, within: float = 240.0
    ) -> dict[str, rating_pb2.SupplierRating]:
        """The ledger's ratings once it serves ``expected`` suppliers and nothing changed for
        ``quiet`` seconds."""
        deadline = time.monotonic() + within
        last: tuple[int, str] = (-1, "")
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            self.check_running()
            ratings = await self.ledger_ratings()
            state = (len(ratings), "".join(sorted(rating_fingerprint(r) for r in ratings.values())))
            if state != last:
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
def pipeline(settings: Settings, workdir: Path) -> Iterator[Pipeline]:
    running = Pipeline(settings, workdir)
    try:
        running.start()
        yield running
    finally:
        running.stop()
