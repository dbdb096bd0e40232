"""What every benchmark shares: the broker, fresh settings, service processes, statistics."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from greenchain.common.config import Settings
from greenchain.common.topics import TopicSpec, ensure_topics
from greenchain.testing.kafka_broker import free_port, isolated_settings
from greenchain.testing.processes import ServiceProcess


def fresh_settings(bootstrap: str, workdir: Path, **changes: Any) -> Settings:
    """Settings in a topic namespace of their own, with free ports and every topic created."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = isolated_settings(
        bootstrap,
        workdir,
        ingest_listen=f"127.0.0.1:{free_port()}",
        ledger_listen=f"127.0.0.1:{free_port()}",
        **changes,
    )
    ensure_topics(settings)
    return settings


def create_topic(settings: Settings, name: str, partitions: int) -> str:
    full = settings.topic(name)
    ensure_topics(settings, [TopicSpec(full, partitions, 1, {})])
    return full


def service(name: str, settings: Settings, workdir: Path) -> ServiceProcess:
    return ServiceProcess(name, settings, workdir / f"{name}.log")


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def peak_of(process: ServiceProcess) -> float:
    assert process.process is not None
    return peak_rss_mib(process.process.pid)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1), linear interpolation."""
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1])


def timed(fn: Any, *args: Any, repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs (s) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024**2, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "java": java.splitlines()[0] if java else "unknown",
    }
