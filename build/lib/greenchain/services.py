"""Process entry points: ``greenchain serve ingest|scoring|ledger``.

Each service runs until SIGINT/SIGTERM, then stops gracefully: health turns NOT_SERVING, the
server drains in-flight calls, Kafka clients flush and commit.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Protocol

from greenchain.common.config import Settings

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def run_until_signal(make: Callable[[], Service]) -> None:
    """Creates (inside the event loop) and starts a service, waits for SIGINT/SIGTERM, stops it."""
    service = make()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    log.info("%s started", type(service).__name__)
    await stop.wait()
    log.info("stopping %s", type(service).__name__)
    await service.stop()


def run_service(name: str, settings: Settings) -> int:
    if name == "ingest":
        from greenchain.ingest.server import IngestServer

        asyncio.run(run_until_signal(lambda: IngestServer(settings)))
    elif name == "ledger":
        from greenchain.ledger.server import LedgerServer

        asyncio.run(run_until_signal(lambda: LedgerServer(settings)))
    elif name == "scoring":
        from greenchain.scoring.app import run_worker

        run_worker(settings)  # faust runs its own event loop and signal handling
    else:
        raise ValueError(f"unknown service {name!r}")
    return 0
