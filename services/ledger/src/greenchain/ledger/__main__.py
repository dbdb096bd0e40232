"""``python -m greenchain.ledger`` (or ``greenchain-ledger``): run the ledger service until
SIGINT/SIGTERM, with settings from the environment (``greenchain config`` lists them)."""

from __future__ import annotations

import sys

from greenchain.common.runner import serve
from greenchain.ledger.server import LedgerServer


def main() -> int:
    return serve("ledger", LedgerServer)


if __name__ == "__main__":
    sys.exit(main())
