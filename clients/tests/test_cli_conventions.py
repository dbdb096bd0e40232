"""The CLI's conventions without a server: where the token comes from, one-line usage errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from greenchain.client.cli import UsageError, main, read_token_file, resolve_token


def test_token_from_the_environment_or_a_token_file(tmp_path: Path) -> None:
    single = tmp_path / "token"
    single.write_text("abc\n")
    minted = tmp_path / "access-tokens.txt"
    minted.write_text("# note\nadmin t1\nchain:chain-ev t2\n")
    ns = argparse.Namespace
    assert resolve_token(ns(token=None, token_file=None, principal=None), {}) == ""
    env = {"GREENCHAIN_TOKEN": "from-env"}
    assert resolve_token(ns(token=None, token_file=None, principal=None), env) == "from-env"
    assert resolve_token(ns(token=None, token_file=str(single), principal=None), env) == "abc"
    assert read_token_file(minted, "chain:chain-ev") == "t2"
    with pytest.raises(UsageError, match="--principal"):
        read_token_file(minted, None)
    with pytest.raises(UsageError, match="no token for supplier:x"):
        read_token_file(minted, "supplier:x")
    with pytest.raises(UsageError, match="give the file"):
        resolve_token(ns(token=None, token_file=None, principal="admin"), {})


def test_usage_errors_are_one_line_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--chain" in err
    assert main(["ratings", "--output", "yaml"]) == 2
    assert main(["ratings", "--token-file", "/nonexistent/file"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and "cannot read the token file" in lines[1]
