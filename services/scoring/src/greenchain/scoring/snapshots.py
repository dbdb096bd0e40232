"""Population snapshots shared by every scoring worker: their wire form, and the benchmark stage
that builds them.

Benchmarks (sector medians) and ranks (percentile bands, green-code places) depend on the whole
population, while each worker owns only the suppliers of its partitions. So every worker
publishes the indicators behind each rating it emits (topic ``greenchain.indicators.v1``,
compacted), one worker (faust's leader) builds a snapshot of the whole population from that
topic on a timer and publishes it (``greenchain.benchmarks.v1``) when it changed and the
population stood still for a timer interval (or at most :data:`SNAPSHOT_MAX_DELAY` after it
began to move), and every worker rates against the latest snapshot. A rating is then a
function of (the supplier's state, its registry entry, the snapshot), whichever worker owns the
supplier.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable

import polars as pl

from greenchain.scoring.model import Methodology, Snapshot, snapshot
from greenchain.scoring.model.rating import POPULATION_COLUMNS, RANKS_SCHEMA
from greenchain.v1 import benchmark_pb2 as b

log = logging.getLogger(__name__)

SNAPSHOT_KEY = b"snapshot"

SNAPSHOT_MAX_DELAY = 30.0
"""Longest a moving population waits for its snapshot, s (greenchain default). Every snapshot
makes every worker re-score its whole population and re-emit the ratings it changed; while a
burst of indicators arrives (a backfill's ratings, every worker restarting), a snapshot per
timer interval would re-rate the population against figures about to change again."""


def snapshot_message(snap: Snapshot, m: Methodology, suppliers: int) -> b.BenchmarkSnapshot:
    """The wire form of ``snap``, its id the SHA-256 of everything else in it."""
    message = b.BenchmarkSnapshot(methodology_version=m.version, suppliers=suppliers)
    if snap.stats is not None:
        for row in snap.stats.iter_rows(named=True):
            sector = row["sector_code"]
            stats = message.stats.add(sector_code=sector or "", pooled=sector is None)
            for ind in m.indicators:
                entry = stats.indicators[ind.name]
                entry.n = int(row[f"{ind.name}__pop_n"] or 0)
                for part in ("benchmark", "leading"):
                    value = row[f"{ind.name}__pop_{part}"]
                    if value is not None and not math.isnan(value):
                        setattr(entry, part, value)
    for row in snap.sector_ranks.iter_rows(named=True):
        message.ranks.add(**row)
    message.snapshot_id = hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()
    return message


def snapshot_of(message: b.BenchmarkSnapshot, m: Methodology) -> Snapshot:
    """The model's snapshot from its wire form."""
    stats_rows: list[dict[str, object]] = []
    for stats in message.stats:
        row: dict[str, object] = {"sector_code": None if stats.pooled else stats.sector_code}
        for ind in m.indicators:
            entry = stats.indicators.get(ind.name, b.IndicatorStats())
            row[f"{ind.name}__pop_benchmark"] = (
                entry.benchmark if entry.HasField("benchmark") else None
            )
            row[f"{ind.name}__pop_leading"] = entry.leading if entry.HasField("leading") else None
            row[f"{ind.name}__pop_n"] = entry.n
        stats_rows.append(row)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {"sector_code": pl.Utf8}
    for ind in m.indicators:
        schema |= {
            f"{ind.name}__pop_benchmark": pl.Float64,
            f"{ind.name}__pop_leading": pl.Float64,
            f"{ind.name}__pop_n": pl.Int64,
        }
    ranks = pl.DataFrame(
        [
            {
                "sector_code": r.sector_code,
                "rated": r.rated,
                "percentile_bounds": list(r.percentile_bounds),
                "national": r.national,
                "a_plus_min_total": r.a_plus_min_total,
                "a_min_total": r.a_min_total,
            }
            for r in message.ranks
        ],
        schema=RANKS_SCHEMA,
    )
    return Snapshot(pl.DataFrame(stats_rows, schema=schema), ranks)


class BenchmarkStage:
    """Builds population snapshots from the indicators topic (run by one worker: the leader).

    ``on_record`` takes the indicators topic's records (from a reader of every partition);
    :meth:`build` folds those received since the last call into the population and returns the
    snapshot message when it differs from the last one built, once the population stands
    still (no record between two calls) or ``max_delay`` seconds after it began to move. Its
    cost follows the population, which is why it runs on a timer and not per batch.
    """

    def __init__(self, m: Methodology, max_delay: float = SNAPSHOT_MAX_DELAY) -> None:
        self.m = m
        self.max_delay = max_delay
        self.population: pl.DataFrame | None = None
        self._changes: dict[str, dict[str, object] | None] = {}
        self._moving_since: float | None = None  # the first change not in a snapshot yet
        # supplier -> the values a snapshot takes from its last record: a record that only says
        # a rating was re-emitted (same indicators) does not move the population
        self._known: dict[str, tuple[object, ...]] = {}
        self.last_id = ""
        self._schema: dict[str, pl.DataType | type[pl.DataType]] = {
            "supplier_id": pl.Utf8,
            "sector_code": pl.Utf8,
            "insufficient": pl.Boolean,
            "green_factory_level": pl.Utf8,
            **{i.name: pl.Float64 for i in m.indicators},
        }
        assert set(POPULATION_COLUMNS) <= set(self._schema)

    def on_record(self, key: bytes, value: bytes | None) -> None:
        sid = key.decode()
        if value is None:
            if self._known.pop(sid, None) is not None:
                self._changes[sid] = None
            return
        message = b.SupplierIndicators.FromString(value)
        row: dict[str, object] = {
            "supplier_id": sid,
            "sector_code": message.sector_code or None,
            "insufficient": message.insufficient,
            "green_factory_level": message.green_factory_level or None,
            **{i.name: message.values.get(i.name) for i in self.m.indicators},
        }
        values = tuple(row.values())
        if self._known.get(sid) != values:
            self._known[sid] = values
            self._changes[sid] = row

    def build(self, now: float) -> b.BenchmarkSnapshot | None:
        """The new snapshot, or None when nothing changed it or the population is still moving
        (``now``: a monotonic time, s)."""
        if self._changes:
            if self._moving_since is None:
                self._moving_since = now
            moving = now - self._moving_since < self.max_delay
            changes, self._changes = self._changes, {}
            fresh = pl.DataFrame(
                [row for row in changes.values() if row is not None], schema=self._schema
            )
            kept = self.population
            if kept is not None:
                kept = kept.filter(~pl.col("supplier_id").is_in(list(changes)))
            self.population = fresh if kept is None else pl.concat([kept, fresh])
            if moving:
                return None
        if self.population is None or self._moving_since is None:
            return None
        self._moving_since = None
        message = snapshot_message(
            snapshot(self.population, self.m), self.m, self.population.height
        )
        if message.snapshot_id == self.last_id:
            return None
        self.last_id = message.snapshot_id
        return message


def follow_snapshots(
    m: Methodology, on_snapshot: Callable[[str, Snapshot], None]
) -> Callable[[bytes, bytes | None], None]:
    """A reader callback for the benchmarks topic: decodes and hands over each snapshot."""

    def on_record(key: bytes, value: bytes | None) -> None:
        if value is None:
            return
        message = b.BenchmarkSnapshot.FromString(value)
        if message.methodology_version != m.version:
            log.warning(
                "ignoring benchmark snapshot %s of methodology %s (this worker runs %s)",
                message.snapshot_id[:12],
                message.methodology_version,
                m.version,
            )
            return
        on_snapshot(message.snapshot_id, snapshot_of(message, m))

    return on_record
