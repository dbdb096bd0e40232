"""Services as real processes (``python -m greenchain.<service>``), for tests that kill them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from greenchain.common.config import Settings


class ServiceProcess:
    """One ``python -m greenchain.<service>`` process (or ``python -m <module>``) with ``settings``,
    logging to ``log``."""

    def __init__(
        self, service: str, settings: Settings, log: Path, module: str = "", **env: str
    ) -> None:
        self.service = service
        self.argv = (
            [sys.executable, "-m", module]
            if module
            else [sys.executable, "-m", f"greenchain.{service}"]
        )
        self.settings = settings
        self.log = log
        self.env = {**os.environ, **settings.to_env(), **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_offset = 0

    def start(self) -> ServiceProcess:
        """Starts (or restarts) the process; :meth:`wait_for_log` then reads only what it logs."""
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to flush, commit or close anything."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_for_log(self, text: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.log.exists() and text in self.log_text():
                return
            if self.process and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.service} exited with code {self.process.returncode}:\n"
                    f"{self.log.read_text()[-3000:]}"
                )
            time.sleep(0.2)
        raise TimeoutError(f"{self.service}: no {text!r} in {self.log} within {within}s")

    def log_text(self) -> str:
        """What the current process (since the last :meth:`start`) logged."""
        with self.log.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
