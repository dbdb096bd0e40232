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
from greenchain.common.logs import setup_logging
from greenchain.common.metrics import MetricsServer
from greenchain.common.supervision import EXIT_SOFTWARE
from greenchain.common.telemetry import setup_tracing
from greenchain.common.tls import EXIT_TLS_CONFIG, ServerTls, TlsConfigError

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def run_until_signal(make: Callable[[], Service]) -> int:
    """Creates (inside the event loop) and starts a service, waits for SIGINT/SIGTERM, stops it;
    returns the process's exit code: 0, or :data:`EXIT_SOFTWARE` when the service's ``failed``
    event (if it has one, see :class:`~greenchain.common.service.GrpcService`) ended it."""
    service = make()
    stop = asyncio.Event()
    failed: asyncio.Event = getattr(service, "failed", None) or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        if not failed.is_set():
            log.info("%s started", type(service).__name__)
            waits = [asyncio.create_task(stop.wait()), asyncio.create_task(failed.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        log.info("stopping %s", type(service).__name__)
        await service.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if failed.is_set():
        log.critical("%s stopped after a failure: exit %d", type(service).__name__, EXIT_SOFTWARE)
        return EXIT_SOFTWARE
    return 0


def service_settings(name: str) -> Settings:
    """Settings from the environment, then logging, tracing and the Prometheus endpoint
    (``GREENCHAIN_<NAME>_METRICS_PORT``, 0 = none) for the service process ``name``."""
    settings = Settings.from_env()
    setup_logging(settings.log_format)
    setup_tracing(f"greenchain-{name}", settings)
    MetricsServer(settings.metrics_host, settings.metrics_port(name))
    return settings


def serve(name: str, make: Callable[[Settings], Service]) -> int:
    """Runs the asyncio service ``make(settings)`` until a signal; the process's exit code."""
    settings = service_settings(name)
    try:
        ServerTls.from_settings(settings)  # checked before anything starts (bind checks again)
        return asyncio.run(run_until_signal(lambda: make(settings)))
    except TlsConfigError as exc:  # never fall back to plaintext: one line, EX_CONFIG
        print(f"greenchain-{name}: {exc}", file=sys.stderr)
        return EXIT_TLS_CONFIG
