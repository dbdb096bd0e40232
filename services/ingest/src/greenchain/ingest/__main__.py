"""``python -m greenchain.ingest`` (or ``greenchain-ingest``): run the ingest service until
SIGINT/SIGTERM, with settings from the environment (``greenchain config`` lists them)."""

from __future__ import annotations

import sys

from greenchain.common.runner import serve
from greenchain.ingest.server import IngestServer


def main() -> int:
    return serve("ingest", IngestServer)


if __name__ == "__main__":
    sys.exit(main())
