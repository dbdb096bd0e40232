"""``python -m greenchain.ledger`` (or ``greenchain-ledger``): run the ledger service until
SIGINT/SIGTERM, with settings from the environment (``greenchain config`` lists them).

Exit status: 0 after a signal; 78 for a half-configured TLS; 1 when the ledger cannot go on
(its consumer died: a store error, a full disk; or start-up failed), after logging why, so that
its supervisor
(Kubernetes, compose, systemd) restarts it and it resumes from its SQLite file."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from greenchain.common.config import Settings
from greenchain.common.runner import service_settings
from greenchain.common.tls import EXIT_TLS_CONFIG, ServerTls, TlsConfigError
from greenchain.ledger.server import LedgerServer

log = logging.getLogger("greenchain.ledger")


async def run(settings: Settings) -> int:
    """Runs the ledger until a signal (0) or until it fails (1)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service = LedgerServer(settings)
    starting = asyncio.create_task(service.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # a signal while catching up
        starting.cancel()
    elif starting.exception() is not None:
        log.error("the ledger did not start", exc_info=starting.exception())
        stopping.cancel()
        await service.stop()
        return 1
    else:
        log.info("LedgerServer started")
        failed = asyncio.create_task(service.failed.wait())
        await asyncio.wait({failed, stopping}, return_when=asyncio.FIRST_COMPLETED)
        failed.cancel()
    stopping.cancel()
    log.info("stopping LedgerServer")
    await service.stop()
    return 1 if service.failed.is_set() else 0


def main() -> int:
    settings = service_settings("ledger")
    try:  # before anything starts: never fall back to plaintext (one line, EX_CONFIG)
        ServerTls.from_settings(settings)
    except TlsConfigError as exc:
        print(f"greenchain-ledger: {exc}", file=sys.stderr)
        return EXIT_TLS_CONFIG
    return asyncio.run(run(settings))


if __name__ == "__main__":
    sys.exit(main())
