"""``make bench``: every benchmark against its baseline in one run, on a real local broker.

    python -m bench.run [--quick] [--only model,scale,ingest,scoring,latency,latency_scale,
                        ledger,merkle,peers,backfill,restart] [--records batch|single]
                        [--backfill N] [--peers N] [--population N]

Writes bench/results/<date>.json and .png and the table in docs/performance.md. A benchmark
measures; it never fails because the machine was slow (only a broken run fails).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import (
    backfill,
    ingest,
    latency,
    ledger,
    merkle,
    model,
    peers,
    report,
    restart,
    scale,
    scoring,
)
from bench.common import machine
from bench.history import FORMS
from greenchain.testing import ROOT
from greenchain.testing.kafka_broker import kafka_broker

console = Console()
PARTS = (
    "model",
    "scale",
    "ingest",
    "scoring",
    "latency",
    "latency_scale",
    "ledger",
    "merkle",
    "peers",
    "backfill",
    "restart",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument(
        "--records",
        choices=FORMS,
        default="batch",
        help="the form of greenchain's declaration records in peers and backfill",
    )
    parser.add_argument(
        "--backfill",
        type=int,
        default=None,
        help="declarations replayed by the backfill part (default 5,000,000; quick 200,000)",
    )
    parser.add_argument(
        "--peers",
        type=int,
        default=None,
        help="declarations the peers part reads (default 600,000; quick 30,000)",
    )
    parser.add_argument(
        "--backfill-budget",
        type=float,
        default=1800.0,
        help="seconds the backfill worker may take (a slower one is measured on what it did)",
    )
    parser.add_argument(
        "--population",
        type=int,
        default=None,
        help="suppliers rated before the latency_scale level and held by the restarted worker "
        "(default 100,000; quick 10,000)",
    )
    args = parser.parse_args()
    parts = [p for p in args.only.split(",") if p]
    quick = args.quick
    population = args.population or (10_000 if quick else 100_000)
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "quick": quick,
    }
    # kept when a part fails: its services' logs and the figures of the parts before it
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        _run(args, parts, quick, population, results, workdir)
    except BaseException:
        console.print(f"[red]a part failed: logs and the figures so far are in {workdir}")
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    json_path, png_path = report.write(
        results, ROOT / "bench" / "results", ROOT / "docs" / "performance.md"
    )
    console.rule("[bold green]results")
    console.print(report.table(results), markup=False, highlight=False)
    console.print(f"\n{json_path}\n{png_path}\ndocs/performance.md")


def _run(
    args: argparse.Namespace,
    parts: list[str],
    quick: bool,
    population: int,
    results: dict[str, Any],
    workdir: Path,
) -> None:
    with kafka_broker() as bootstrap:
        runs = {
            "model": lambda: model.run(10_000 if quick else 100_000),
            "scale": lambda: scale.run(
                [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
            ),
            "ingest": lambda: ingest.run(bootstrap, workdir, 200 if quick else 1000, 12),
            "scoring": lambda: scoring.run(bootstrap, workdir, 300 if quick else 1000, 24),
            "latency": lambda: latency.run(bootstrap, workdir, [500] if quick else [2000, 10000]),
            "latency_scale": lambda: latency.run_at_scale(
                bootstrap,
                workdir / "at-scale",
                population,
                500 if quick else 2000,
                settle_within=3600,
            ),
            "ledger": lambda: ledger.run(bootstrap, workdir, 2000 if quick else 20_000),
            "merkle": lambda: merkle.run(
                100_000 if quick else 1_000_000, 5_000 if quick else 20_000
            ),
            "peers": lambda: peers.run(
                bootstrap,
                workdir,
                args.peers or (30_000 if quick else 600_000),
                args.records,
                budget=60 if quick else 120,
            ),
            "backfill": lambda: backfill.run(
                bootstrap,
                workdir,
                args.backfill or (200_000 if quick else 5_000_000),
                args.records,
                budget=args.backfill_budget,
            ),
            "restart": lambda: restart.run(bootstrap, workdir, population, budget=3600),
        }
        for part in parts:
            console.rule(f"[bold]{part}")
            started = time.monotonic()
            results[part] = runs[part]()
            if isinstance(figures := results[part].pop("scale", None), dict):
                results.setdefault("scale", {}).update(figures)  # issue #15: one key
            console.print(results[part])
            console.print(f"[dim]{part}: {time.monotonic() - started:.0f} s")
            (workdir / "results-so-far.json").write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
