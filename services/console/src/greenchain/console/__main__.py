"""``python -m greenchain.console`` (or ``greenchain-console``): the web console until
SIGINT/SIGTERM, with settings from the environment (``greenchain config`` lists them)."""

from __future__ import annotations

import sys

import uvicorn

from greenchain.common.runner import service_settings
from greenchain.common.tls import listen_address
from greenchain.console.app import create_app


def main() -> int:
    settings = service_settings("console")
    # no tokens file = everyone is admin: loopback only, unless GREENCHAIN_INSECURE_DEV
    host, _, port = listen_address(settings.console_listen, settings).rpartition(":")
    config = uvicorn.Config(
        create_app(settings),
        host=host.strip("[]") or "127.0.0.1",
        port=int(port),
        log_level="info",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=3,  # open alert streams end with the server
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
