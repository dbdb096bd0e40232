"""Fixtures shared by the cross-service test suites (``tests/``) and the benchmarks (``bench/``):
a real Kafka broker, services as processes, message builders, sample flows, TLS certificates.

Dev-only: no service or client imports this package.
"""

from __future__ import annotations

from pathlib import Path


def _repo_root() -> Path:
    """The workspace root (the folder with ``uv.lock``): scripts/, docs/ and deploy/ live there."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "uv.lock").exists() and (parent / "scripts").is_dir():
            return parent
    raise RuntimeError("greenchain.testing is used outside a greenchain checkout")


ROOT = _repo_root()
"""The repository checkout this package was installed from (editable, in the workspace)."""
DATA = Path(__file__).resolve().parent / "data"
"""Sample ERP exports, mappings and PACT documents written for the tests."""
