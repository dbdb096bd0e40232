"""How a service process runs: settings from the environment, tracing, then the service until
SIGINT/SIGTERM. Each service's ``__main__`` calls :func:`serve`.

On a signal the service stops gracefully: health turns NOT_SERVING, the server drains in-flight
calls, Kafka clients flush and commit.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Protocol

from greenchain.common.config import Settings
from greenchain.common.telemetry import setup_tracing
from greenchain.common.tls import EXIT_TLS_CONFIG, ServerTls, TlsConfigError

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


def service_settings(name: str) -> Settings:
    """Logging, settings from the environment and tracing for the service process ``name``."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings.from_env()
    setup_tracing(f"greenchain-{name}", settings)
    return settings


def serve(name: str, make: Callable[[Settings], Service]) -> int:
    """Runs the asyncio service ``make(settings)`` until a signal; the process's exit code."""
    settings = service_settings(name)
    try:
        ServerTls.from_settings(settings)  # checked before anything starts (bind checks again)
        asyncio.run(run_until_signal(lambda: make(settings)))
    except TlsConfigError as exc:  # never fall back to plaintext: one line, EX_CONFIG
        print(f"greenchain-{name}: {exc}", file=sys.stderr)
        return EXIT_TLS_CONFIG
    return 0
