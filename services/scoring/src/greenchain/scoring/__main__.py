"""``python -m greenchain.scoring`` (or ``greenchain-scoring``): run the scoring worker until
SIGINT/SIGTERM (faust runs its own event loop and signal handling), with settings from the
environment (``greenchain config`` lists them).

``greenchain-scoring --check-methodology FILE`` validates a methodology file and exits: 0 when it
is usable, 2 with one line naming the file and the key when it is not. The worker checks
``GREENCHAIN_METHODOLOGY_FILE`` the same way before it starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from greenchain.scoring.model.methodology import Methodology, MethodologyError

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="greenchain-scoring", description=__doc__)
    parser.add_argument("--check-methodology", metavar="FILE", help="validate FILE and exit")
    args = parser.parse_args(argv)
    if args.check_methodology:
        try:
            methodology = Methodology.load(args.check_methodology)
        except MethodologyError as exc:
            print(f"greenchain-scoring: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(f"{args.check_methodology}: methodology {methodology.version} is valid")
        return 0

    from greenchain.common.runner import service_settings
    from greenchain.scoring.worker import run_worker

    settings = service_settings("scoring")
    try:
        Methodology.load(settings.methodology_file or None)
    except MethodologyError as exc:
        print(f"greenchain-scoring: {exc}", file=sys.stderr)
        return EXIT_USAGE
    run_worker(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
