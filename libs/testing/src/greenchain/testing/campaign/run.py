"""One whole campaign: its own broker and ledger disk, the three services as processes, the load
and the schedule at once, then the settle and the checker. Sized by :class:`CampaignConfig`
(``GREENCHAIN_CAMPAIGN_*``: the CI size by default, ``make soak`` a longer one)."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenchain.common import health, topics
from greenchain.common.batches import UndecodableRecord, decode_record
from greenchain.common.config import Settings
from greenchain.common.ratings import rating_fingerprint
from greenchain.common.topics import ensure_topics
from greenchain.connector.client import Connector
from greenchain.connector.registry import upsert_suppliers
from greenchain.testing.campaign.checker import (
    Verdict,
    check,
    rating_differences,
    read_declarations,
    read_latest_ratings,
    read_ledger,
    read_topic,
)
from greenchain.testing.campaign.injectors import CampaignBroker, Injector, LedgerDisk, ledger_disk
from greenchain.testing.campaign.load import LoadGenerator
from greenchain.testing.campaign.schedule import POISON_TOPICS, Fault, FaultKind, Plan, schedule
from greenchain.testing.flows import offline_ratings, sample_declarations
from greenchain.testing.kafka_broker import isolated_settings
from greenchain.testing.pipeline import Pipeline
from greenchain.v1 import declaration_pb2, rating_pb2, supplier_pb2

log = logging.getLogger(__name__)

DECLARATIONS_PER_SUPPLIER_YEAR = 35
"""About what the sample generator makes (a few declaration kinds a month, some left out)."""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GREENCHAIN_CAMPAIGN_{name}", default)


@dataclass(frozen=True)
class CampaignConfig:
    """A campaign's size. ``rate`` paces the load so it lasts about as long as the schedule."""

    seed: int
    declarations: int = 50_000
    plan: Plan = field(default_factory=Plan)
    rate: float = 700.0
    disk_mb: int = 256

    @classmethod
    def from_env(cls) -> CampaignConfig:
        """``GREENCHAIN_CAMPAIGN_SEED`` (default: a fresh one, printed), ``_DECLARATIONS``,
        ``_FAULTS``, ``_SPAN`` (s the faults are spread over), ``_BROKER_RESTARTS``,
        ``_DISK_FILLS``, ``_POISON_TOPICS`` (comma-separated; all four by default: fewer only to
        confirm what a finding depends on), ``_RATE`` (declarations/s offered), ``_DISK_MB``."""
        seed = int(_env("SEED", str(random.SystemRandom().randrange(1 << 31))))
        plan = Plan(
            faults=int(_env("FAULTS", "24")),
            span=float(_env("SPAN", "75")),
            broker_restarts=int(_env("BROKER_RESTARTS", "1")),
            disk_fills=int(_env("DISK_FILLS", "2")),
            poison_topics=tuple(
                t for t in _env("POISON_TOPICS", ",".join(POISON_TOPICS)).split(",") if t
            ),
        )
        return cls(
            seed=seed,
            declarations=int(_env("DECLARATIONS", "50000")),
            plan=plan,
            rate=float(_env("RATE", "700")),
            disk_mb=int(_env("DISK_MB", "256")),
        )


@dataclass
class CampaignResult:
    """The verdict and what else a reader of a failed run wants: the schedule, the incidents."""

    verdict: Verdict
    faults: list[Fault]
    incidents: list[str]
    supervisor_restarts: Counter[str]
    failed_starts: Counter[str]
    liveness_restarts: Counter[str]
    disk: str
    load_seconds: float
    broken_streams: int
    trail: str = ""  # where the differing ratings stopped (see _trail)

    def report(self) -> str:
        lines = [self.verdict.report()]
        if self.trail:
            lines.append(f"trail: {self.trail}")
        lines.append(
            f"ledger disk: {self.disk}; load lasted {self.load_seconds:.0f} s, "
            f"{self.broken_streams} ingest streams broke and were resent"
        )
        if self.supervisor_restarts:
            lines.append(
                f"services that exited by themselves (restarted): {dict(self.supervisor_restarts)}"
            )
        if self.liveness_restarts:
            lines.append(
                f"killed by their liveness probe (restarted): {dict(self.liveness_restarts)}"
            )
        if self.failed_starts:
            lines.append(
                f"restarts that failed and were retried with backoff: {dict(self.failed_starts)}"
            )
        lines += [f"INCIDENT: {i}" for i in self.incidents]
        lines += ["schedule:", *(f"  {f}" for f in self.faults)]
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.incidents


def population(
    declarations: int, seed: int
) -> tuple[list[supplier_pb2.Supplier], list[declaration_pb2.Declaration]]:
    """Sample suppliers and at least ``declarations`` valid declarations (a year of months)."""
    suppliers = math.ceil(declarations / DECLARATIONS_PER_SUPPLIER_YEAR * 1.1)
    registry, decls = sample_declarations(suppliers=suppliers, months=12, seed=seed)
    if len(decls) < declarations:
        raise RuntimeError(f"the sample has {len(decls)} declarations, {declarations} asked")
    decls = decls[:declarations]
    rated = {d.supplier_id for d in decls}
    return [s for s in registry if s.supplier_id in rated], decls


async def run_campaign(config: CampaignConfig, workdir: Path) -> CampaignResult:
    """Runs the campaign under ``workdir`` (broker data, ledger disk mount, service logs)."""
    faults = schedule(config.seed, config.plan)
    suppliers, decls = population(config.declarations, config.seed)
    broker = CampaignBroker(workdir / "kafka")
    await asyncio.to_thread(broker.up)
    try:
        with ledger_disk(workdir / "ledger-disk", config.disk_mb) as disk:
            settings = isolated_settings(
                broker.bootstrap,
                workdir,
                ledger_db=str(disk.mountpoint / "ledger.sqlite3"),
                scoring_batch_size=500,
            )
            ensure_topics(settings)
            running = Pipeline(settings, workdir / "logs")
            try:
                await asyncio.to_thread(running.start)
                result = await _campaign(config, running, broker, disk, suppliers, decls, faults)
            finally:
                running.stop()
    finally:
        await asyncio.to_thread(broker.down)
    return result


async def _campaign(
    config: CampaignConfig,
    running: Pipeline,
    broker: CampaignBroker,
    disk: LedgerDisk,
    suppliers: list[supplier_pb2.Supplier],
    decls: list[declaration_pb2.Declaration],
    faults: list[Fault],
) -> CampaignResult:
    settings = running.settings
    await upsert_suppliers(Connector(settings.ingest_address, max_backoff=2), suppliers)
    injector = Injector(running, broker, disk, settings)
    stop_supervising = asyncio.Event()
    supervisor = asyncio.create_task(injector.supervise(stop_supervising))
    load = LoadGenerator(settings.ingest_address, decls, rate=config.rate)
    started = asyncio.get_running_loop().time()
    try:
        loaded, _ = await asyncio.gather(load.run(), injector.run(faults, started))
        by_id = {d.declaration_id: d for d in decls}
        reference = offline_ratings(
            suppliers, [by_id[i] for i in by_id if i in loaded.acknowledged]
        )
        settled = await settle(running, len(reference))
    finally:
        stop_supervising.set()
        await supervisor
    if loaded.rejected:
        example = next(iter(loaded.rejected.items()))
        injector.incidents.append(f"{len(loaded.rejected)} declarations rejected, e.g. {example}")
    if loaded.unacknowledged:
        injector.incidents.append(
            f"{len(loaded.unacknowledged)} declarations never acknowledged (gave up)"
        )
    serving = await asyncio.gather(
        *(
            asyncio.to_thread(health.check, t)
            for t in (settings.ingest_address, settings.ledger_address)
        )
    )
    scoring = running.services["scoring"]
    health_by_service = {
        "ingest": serving[0][0],
        "ledger": serving[1][0],
        # scoring has no gRPC health endpoint yet: its process runs and it said it is ready
        "scoring": scoring.running and "scoring ready" in scoring.log_text(),
    }
    stored, undecodable = await read_declarations(settings)
    try:
        trail = await _trail(running, settled, reference)
    except Exception as exc:  # a diagnosis must never hide the verdict
        trail = f"unavailable: {exc!r}"
    verdict = check(
        seed=config.seed,
        acknowledged=loaded.acknowledged,
        stored_ids=stored,
        undecodable=undecodable,
        settled=settled,
        reference=reference,
        ledger=read_ledger(Path(settings.ledger_db)),
        health=health_by_service,
        faults=injector.done,
        poison_declarations=sum(
            1 for f in faults if f.kind is FaultKind.POISON and f.target == topics.DECLARATIONS
        ),
    )
    return CampaignResult(
        verdict=verdict,
        faults=faults,
        incidents=injector.incidents,
        supervisor_restarts=injector.supervisor_restarts,
        failed_starts=injector.failed_starts,
        liveness_restarts=injector.liveness_restarts,
        disk=disk.kind,
        load_seconds=loaded.seconds,
        broken_streams=loaded.broken_streams,
        trail=trail,
    )


async def _trail(
    running: Pipeline,
    settled: Mapping[str, rating_pb2.SupplierRating],
    reference: Mapping[str, rating_pb2.SupplierRating],
) -> str:
    """Where the ratings that differ from the uninterrupted run stopped: not rated by scoring
    (its last rating on the ratings topic differs too, or there is none) or not copied by the
    ledger (the ratings topic has the right one). Empty when none differ."""
    differing = {line.split(":")[0] for line in rating_differences(settled, reference)}
    if not differing:
        return ""
    emitted = await read_latest_ratings(running.settings)
    wrong_on_topic = {
        line.split(":")[0]
        for line in rating_differences(
            {s: r for s, r in emitted.items() if s in differing},
            {s: r for s, r in reference.items() if s in differing},
        )
    }
    lag = await asyncio.to_thread(running.scoring_lag)
    lines = [
        f"of {len(differing)} suppliers whose rating differs: {len(wrong_on_topic)} differ on the "
        f"ratings topic too (scoring), {len(differing - wrong_on_topic)} are right there but "
        f"not in the ledger; scoring's uncommitted declarations at the end: {lag}"
    ]
    never = sorted(s for s in reference if s not in emitted)[:3]
    if never:
        lines += await _never_rated(running.settings, never)
    return "\n  ".join(lines)


async def _never_rated(settings: Settings, suppliers: list[str]) -> list[str]:
    """For suppliers scoring never rated: where their declarations are, and whether scoring's
    table changelog and its dead-letter topic have anything of theirs."""
    wanted = set(suppliers)
    positions: dict[str, list[str]] = {s: [] for s in suppliers}
    changelog: dict[str, list[int]] = {s: [] for s in suppliers}
    dead: dict[str, list[str]] = {s: [] for s in suppliers}

    def on_declaration(record: Any) -> None:
        try:
            entries = decode_record(record.value or b"", list(record.headers))
        except UndecodableRecord:
            return
        for entry in entries:
            if (sid := entry.declaration.supplier_id) in wanted:
                positions[sid].append(f"{record.partition}:{record.offset}.{entry.index}")

    def on_changelog(record: Any) -> None:
        sid = (record.key or b"").decode(errors="replace").strip('"')
        if sid in wanted:
            changelog[sid].append(record.offset)

    def on_dead(record: Any) -> None:
        sid = (record.key or b"").decode(errors="replace")
        if sid in wanted:
            dead[sid].append(dict(record.headers).get("error", b"").decode()[:80])

    await read_topic(settings, settings.topic(topics.DECLARATIONS), on_declaration)
    await read_topic(settings, topics.scoring_changelog(settings), on_changelog)
    await read_topic(settings, settings.topic(topics.DECLARATIONS_DLQ), on_dead)
    return [
        f"never rated {sid}: declarations at {', '.join(positions[sid][:6])}"
        f"{' ...' if len(positions[sid]) > 6 else ''} ({len(positions[sid])}); changelog "
        f"records {len(changelog[sid])} (last offset {max(changelog[sid], default=None)}); "
        f"dead letters {len(dead[sid])} {dead[sid][:1]}"
        for sid in suppliers
    ]


async def settle(
    running: Pipeline, expected: int, quiet: float = 10.0, within: float = 300.0
) -> dict[str, rating_pb2.SupplierRating]:
    """The ledger's ratings once it serves ``expected`` suppliers and nothing changed for
    ``quiet`` s; what it serves at ``within`` s otherwise (the checker says what is missing)."""
    deadline = time.monotonic() + within
    last: tuple[int, frozenset[str]] = (-1, frozenset())
    ratings: dict[str, rating_pb2.SupplierRating] = {}
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        try:
            ratings = await running.ledger_ratings()
        except Exception as exc:  # ledger restarting: keep asking
            log.info("ledger not answering yet: %s", exc)
            await asyncio.sleep(1.0)
            continue
        state = (len(ratings), frozenset(rating_fingerprint(r) for r in ratings.values()))
        if state != last:
            last, last_change = state, time.monotonic()
        elif len(ratings) >= expected and time.monotonic() - last_change >= quiet:
            break
        await asyncio.sleep(1.0)
    return ratings
