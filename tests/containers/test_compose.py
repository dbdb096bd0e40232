"""docker-compose.yml passes docker-compose's own validation, and a broken copy does not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from greenchain.testing import ROOT


def compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is needed (.ci/run installs Debian's docker-compose)"
    return subprocess.run(
        [compose, "-f", str(path), "config", "-q"], capture_output=True, text=True, timeout=60
    )


def test_compose_file_is_valid(tmp_path: Path) -> None:
    result = compose_config(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml")
        .read_text()
        .replace(
            "    image: greenchain-ingest:0.1.0",
            "    image: greenchain-ingest:0.1.0\n    restartt: always",
        )
    )
    (tmp_path / "tokens.yaml").write_text("tokens: []\n")
    assert compose_config(broken).returncode != 0
