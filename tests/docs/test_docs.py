"""The README's configuration table is the settings object's (no drift)."""

from __future__ import annotations

from greenchain.common.config import ENVIRONMENT
from greenchain.testing import ROOT

README = ROOT / "README.md"


def test_readme_lists_every_setting_with_its_default() -> None:
    text = README.read_text()
    for name, default, _ in ENVIRONMENT:
        shown = f"`{default}`" if default else "(empty)"
        assert f"| `{name}` | {shown} |" in text, name
