"""How each fault of the schedule is done, to real processes, a real broker and a real disk.

The campaign is also the services' supervisor (what Kubernetes or systemd is in production): a
service process that exited by itself is started again, and counted, since "exits for its
supervisor when it cannot recover" is the behaviour asked of a service.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tenacity import AsyncRetrying, stop_after_delay, wait_exponential_jitter

from greenchain.common.config import Settings
from greenchain.testing.campaign.schedule import Fault, FaultKind
from greenchain.testing.flows import produce
from greenchain.testing.kafka_broker import PrivateBroker
from greenchain.testing.pipeline import SERVICES, Pipeline

log = logging.getLogger(__name__)

POISON = b"\x0a\xff\xff\xff\x7fgreenchain-campaign-poison"
"""A record no protobuf message decodes: field 1, length-delimited, 268 MB long, then 26 bytes."""

CAMPAIGN_PORTS = range(19000, 20000)

LIVENESS_PERIOD, LIVENESS_FAILURES = 5.0, 3
"""Scoring's liveness probe in the campaign: every 5 s, killed after 3 failures in a row (the
manifests probe every 20 s; the campaign's run is shorter)."""

POISON_PATIENCE = 180.0
"""Seconds the poison injector keeps trying while the broker is unreachable."""

TARGET_PATIENCE = 180.0
"""Seconds a signal fault waits for its service to be running again when an earlier fault took
it down (it is being restarted): the fault then hits the restarted process."""


def free_port_in(ports: range) -> int:
    """The first port of ``ports`` on 127.0.0.1 that nothing listens on."""
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}..{ports.stop - 1}")


class CampaignBroker(PrivateBroker):
    """The campaign's own broker (scripts/kafka.sh, own data dir, ports in 19000-19999): the
    campaign kills it, so it is never the shared one."""

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.port = free_port_in(CAMPAIGN_PORTS)
        controller = free_port_in(range(self.port + 1, CAMPAIGN_PORTS.stop))
        self.env.update(KAFKA_PORT=str(self.port), KAFKA_CONTROLLER_PORT=str(controller))
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.pidfile = home / "kafka.pid"

    def kill(self) -> None:
        """SIGKILL of the broker's JVM: no controlled shutdown, no flush."""
        pid = int(self.pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        # as `kafka.sh down` does: a pid left behind may still name a zombie (the JVM's parent
        # is init, which reaps when it gets to it), and `up` would take that for a live broker
        self.pidfile.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped by init, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@dataclass
class LedgerDisk:
    """A small filesystem of the campaign's own for the ledger's SQLite file, so the campaign can
    fill it to the last block: a size-limited tmpfs, or where mounting tmpfs is refused, an ext4
    image on a loop device. Needs root (CAP_SYS_ADMIN)."""

    mountpoint: Path
    size_mb: int
    kind: str = ""
    image: Path | None = None
    filler: Path = field(init=False)

    def __post_init__(self) -> None:
        self.filler = self.mountpoint / "campaign-filler"

    def mount(self) -> None:
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        tmpfs = subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={self.size_mb}m,mode=0755",
                "tmpfs",
                str(self.mountpoint),
            ],
            capture_output=True,
            text=True,
        )
        if tmpfs.returncode == 0:
            self.kind = f"tmpfs, {self.size_mb} MiB"
            return
        log.warning("tmpfs mount refused (%s); using a loop device", tmpfs.stderr.strip())
        self.image = self.mountpoint.with_suffix(".img")
        with self.image.open("wb") as f:
            f.truncate(self.size_mb * 1024 * 1024)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(self.image)], check=True)
        subprocess.run(["mount", "-o", "loop", str(self.image), str(self.mountpoint)], check=True)
        self.kind = f"ext4 image on a loop device, {self.size_mb} MiB"

    def unmount(self) -> None:
        subprocess.run(["umount", "--lazy", str(self.mountpoint)], check=False)
        if self.image is not None:
            self.image.unlink(missing_ok=True)

    def fill(self) -> int:
        """Writes a file until the filesystem has no block left; returns the bytes written."""
        written = 0
        with self.filler.open("wb", buffering=0) as f:
            for block in (1 << 20, 1 << 12, 1):
                try:
                    while True:
                        written += f.write(b"\0" * block)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def usage(self) -> str:
        total, used, _ = shutil.disk_usage(self.mountpoint)
        return f"{used >> 20} of {total >> 20} MiB used"


@contextmanager
def ledger_disk(mountpoint: Path, size_mb: int) -> Iterator[LedgerDisk]:
    disk = LedgerDisk(mountpoint, size_mb)
    disk.mount()
    try:
        yield disk
    finally:
        disk.unmount()


@dataclass
class Injector:
    """Does the faults of the schedule to ``pipeline``, ``broker`` and ``disk``, one after the
    other; counts what it did and what went wrong on the way (an incident is a finding: a service
    that did not come back, a fault that could not be done)."""

    pipeline: Pipeline
    broker: CampaignBroker
    disk: LedgerDisk
    settings: Settings
    done: Counter[str] = field(default_factory=Counter)
    supervisor_restarts: Counter[str] = field(default_factory=Counter)
    failed_starts: Counter[str] = field(default_factory=Counter)
    liveness_restarts: Counter[str] = field(default_factory=Counter)
    incidents: list[str] = field(default_factory=list)
    busy: dict[str, asyncio.Lock] = field(
        default_factory=lambda: {name: asyncio.Lock() for name in SERVICES}
    )

    async def run(self, faults: list[Fault], started: float) -> None:
        """Each fault at its time (``started`` + ``at``, loop time), each in a task of its own:
        a service that is slow to come back delays only the next fault on that service (its
        lock), never the schedule."""
        loop = asyncio.get_running_loop()
        running: list[asyncio.Task[None]] = []
        for fault in faults:
            await asyncio.sleep(max(0.0, started + fault.at - loop.time()))
            running.append(asyncio.create_task(self._one(fault)))
        await asyncio.gather(*running)

    async def _one(self, fault: Fault) -> None:
        log.info("fault %s", fault)
        try:
            await self.inject(fault)
        except Exception as exc:  # a finding, not a reason to stop the campaign
            self.incidents.append(f"{fault}: {type(exc).__name__}: {exc}")
        self.done[str(fault.kind)] += 1

    async def inject(self, fault: Fault) -> None:
        if fault.kind is FaultKind.POISON:
            # the broker may be down for a restart of the schedule: the poison goes in later,
            # as a client that must deliver would do it
            async for attempt in AsyncRetrying(
                wait=wait_exponential_jitter(multiplier=0.5, max=5.0),
                stop=stop_after_delay(POISON_PATIENCE),
                reraise=True,
            ):
                with attempt:
                    await asyncio.to_thread(
                        produce, self.settings, fault.target, [(b"campaign-poison", POISON)]
                    )
        elif fault.kind is FaultKind.BROKER_RESTART:
            await asyncio.to_thread(self.broker.kill)
            await asyncio.sleep(fault.hold)
            await asyncio.to_thread(self.broker.up)
        elif fault.kind is FaultKind.DISK_FULL:
            written = await asyncio.to_thread(self.disk.fill)
            log.info("ledger disk full (%d bytes of filler, %s)", written, self.disk.usage())
            await asyncio.sleep(fault.hold)
            self.disk.free()
        else:
            while True:
                await self._until_running(fault.target)
                async with self.busy[fault.target]:
                    if self.pipeline.services[fault.target].running:  # not exited meanwhile
                        await self._signal(fault)
                        return

    async def _until_running(self, name: str) -> None:
        """Waits (outside the service's lock, so :meth:`supervise` can restart it) until the
        service runs; after TARGET_PATIENCE seconds that is an incident."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TARGET_PATIENCE
        while not self.pipeline.services[name].running:
            if loop.time() > deadline:
                raise RuntimeError(f"{name} was not running for {TARGET_PATIENCE:.0f} s")
            await asyncio.sleep(0.5)

    async def _signal(self, fault: Fault) -> None:
        service = self.pipeline.services[fault.target]
        assert service.process is not None
        if fault.kind is FaultKind.SIGSTOP:
            os.killpg(service.process.pid, signal.SIGSTOP)
            await asyncio.sleep(fault.hold)
            os.killpg(service.process.pid, signal.SIGCONT)
            return
        service.kill()
        try:
            await asyncio.to_thread(self.pipeline.start, fault.target)
        except Exception as exc:
            # it exits again while starting (Kafka down, its disk full), as designed: its
            # supervisor starts it again with backoff, as after any exit
            self.failed_starts[fault.target] += 1
            log.warning(
                "%s did not start after %s (%s); its supervisor takes over",
                fault.target,
                fault,
                str(exc).splitlines()[-1] if str(exc) else type(exc).__name__,
            )

    async def _probe_scoring(self, failures: int) -> int:
        """Scoring's liveness probe, as its Kubernetes livenessProbe (``/healthz`` on the
        metrics port): after LIVENESS_FAILURES failures in a row the process is killed, for
        :meth:`supervise` to start it again. Returns the failures in a row so far."""
        service = self.pipeline.services["scoring"]
        if not service.running or self.busy["scoring"].locked():  # down, or stopped on purpose
            return 0
        url = self.pipeline.metrics_url("scoring").removesuffix("/metrics") + "/healthz"
        try:
            await asyncio.to_thread(urllib.request.urlopen, url, timeout=5)
            return 0
        except OSError as exc:  # HTTPError (503: not alive) and connection errors alike
            failures += 1
            log.warning("scoring liveness probe failed (%d in a row): %s", failures, exc)
        if failures < LIVENESS_FAILURES:
            return failures
        async with self.busy["scoring"]:
            self.liveness_restarts["scoring"] += 1
            service.kill()
        return 0

    async def supervise(self, stop: asyncio.Event) -> None:
        """Starts again every service that exited by itself, until ``stop`` is set. A start
        that fails (the service exits again: its disk is still full, Kafka is still down) is
        retried with exponential backoff up to 10 s, as Kubernetes does (CrashLoopBackOff);
        a service that never comes back fails the checker's health verdict."""
        loop = asyncio.get_running_loop()
        failed_starts: Counter[str] = Counter()
        next_try: dict[str, float] = {}
        next_probe, probe_failures = loop.time(), 0
        while not stop.is_set():
            if loop.time() >= next_probe:
                next_probe = loop.time() + LIVENESS_PERIOD
                probe_failures = await self._probe_scoring(probe_failures)
            for name, service in self.pipeline.services.items():
                lock = self.busy[name]
                if service.running or lock.locked() or loop.time() < next_try.get(name, 0.0):
                    continue
                async with lock:
                    self.supervisor_restarts[name] += 1
                    log.warning("%s exited by itself; starting it again", name)
                    try:
                        await asyncio.to_thread(self.pipeline.start, name)
                    except Exception as exc:
                        failed_starts[name] += 1
                        self.failed_starts[name] += 1
                        delay = min(10.0, 0.5 * 2 ** failed_starts[name])
                        next_try[name] = loop.time() + delay
                        log.warning(
                            "%s did not start again (%s); next try in %.1f s",
                            name,
                            str(exc).splitlines()[-1] if str(exc) else type(exc).__name__,
                            delay,
                        )
                    else:
                        failed_starts[name] = 0
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
