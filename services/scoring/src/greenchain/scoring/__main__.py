"""``python -m greenchain.scoring`` (or ``greenchain-scoring``): run the scoring worker until
SIGINT/SIGTERM (faust runs its own event loop and signal handling), with settings from the
environment (``greenchain config`` lists them)."""

from __future__ import annotations

import sys

from greenchain.common.runner import service_settings
from greenchain.scoring.worker import run_worker


def main() -> int:
    run_worker(service_settings("scoring"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
