"""The campaign's schedule: a pure function of the seed, so a failing schedule can be replayed
(``GREENCHAIN_CAMPAIGN_SEED``)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from greenchain.common import topics

SERVICES = ("ingest", "scoring", "ledger")
POISON_TOPICS = (topics.DECLARATIONS, topics.SUPPLIERS, topics.CHAINS, topics.RATINGS)


class FaultKind(StrEnum):
    """What a fault does (the target says to which process or topic)."""

    SIGKILL = "sigkill"
    """SIGKILL of a service's process group, then a restart (its supervisor's job)."""
    SIGSTOP = "sigstop"
    """SIGSTOP, ``hold`` seconds frozen, SIGCONT: a long GC pause or a throttled container."""
    BROKER_RESTART = "broker-restart"
    """SIGKILL of the broker's JVM, ``hold`` seconds down, then started again."""
    DISK_FULL = "disk-full"
    """The ledger's filesystem filled to the last block for ``hold`` seconds, then freed."""
    POISON = "poison"
    """One undecodable record on a topic."""


@dataclass(frozen=True)
class Fault:
    """One fault: ``at`` seconds after the load started, of ``kind`` on ``target``."""

    at: float
    kind: FaultKind
    target: str
    hold: float = 0.0

    def __str__(self) -> str:
        hold = f" for {self.hold:.1f}s" if self.hold else ""
        return f"t+{self.at:5.1f}s {self.kind} {self.target}{hold}"


@dataclass(frozen=True)
class Plan:
    """How many faults of the kinds that are slow to recover from, over ``span`` seconds."""

    faults: int = 24
    span: float = 90.0
    broker_restarts: int = 1
    disk_fills: int = 2
    max_hold: float = 2.0
    poison_topics: tuple[str, ...] = POISON_TOPICS


def schedule(seed: int, plan: Plan) -> list[Fault]:
    """``plan.faults`` faults in time order over ``plan.span`` seconds: one poison record on
    each of ``plan.poison_topics`` (all four by default), the broker restarts and disk fills
    asked for, the rest SIGKILL or SIGSTOP of the three services (every service and both
    signals at least once when there is room)."""
    rng = random.Random(seed)
    kinds: list[tuple[FaultKind, str]] = [(FaultKind.POISON, t) for t in plan.poison_topics]
    kinds += [(FaultKind.BROKER_RESTART, "kafka")] * plan.broker_restarts
    kinds += [(FaultKind.DISK_FULL, "ledger")] * plan.disk_fills
    signals = [(k, s) for k in (FaultKind.SIGKILL, FaultKind.SIGSTOP) for s in SERVICES]
    rest = plan.faults - len(kinds)
    if rest < 0:
        raise ValueError(f"{plan.faults} faults cannot hold the {len(kinds)} of fixed kinds")
    kinds += signals[:rest] + [rng.choice(signals) for _ in range(rest - len(signals))]
    rng.shuffle(kinds)
    # evenly spread with jitter, so faults land all through the load, never all at its start
    slot = plan.span / len(kinds)
    faults = []
    for i, (kind, target) in enumerate(kinds):
        hold = 0.0
        if kind in (FaultKind.SIGSTOP, FaultKind.BROKER_RESTART, FaultKind.DISK_FULL):
            hold = round(rng.uniform(0.3, plan.max_hold), 1)
        faults.append(Fault(round(slot * (i + rng.random() * 0.8), 1), kind, target, hold))
    return faults
