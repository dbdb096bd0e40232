"""The ledger's checks of a request, before any query (issue 19, item 7): pure, no server."""

from __future__ import annotations

import base64

import pytest

from greenchain.ledger.server import (
    ID_RULE,
    MAX_FILTER_VALUES,
    MAX_PAGE_TOKEN,
    id_violations,
    list_violations,
)
from greenchain.v1 import ledger_pb2, rating_pb2


def fields(request: ledger_pb2.ListRatingsRequest) -> set[str]:
    return {path for path, _ in list_violations(request)}


def test_a_plain_request_is_valid() -> None:
    request = ledger_pb2.ListRatingsRequest(chain_id="c1", grades=[rating_pb2.GRADE_A])
    assert list_violations(request) == []


def test_a_deeply_nested_page_token_is_a_violation_not_a_recursion_error() -> None:
    nested = base64.urlsafe_b64encode(b"[" * 10_000 + b"]" * 10_000).decode()
    request = ledger_pb2.ListRatingsRequest(chain_id="c1", page_token=nested)
    assert fields(request) == {"page_token"}


def test_a_page_token_is_bounded_before_it_is_decoded() -> None:
    request = ledger_pb2.ListRatingsRequest(chain_id="c1", page_token="A" * (MAX_PAGE_TOKEN + 4))
    [(path, description)] = list_violations(request)
    assert path == "page_token" and str(MAX_PAGE_TOKEN) in description


@pytest.mark.parametrize("name", ["grades", "tiers"])
def test_a_filter_with_too_many_values_is_a_violation(name: str) -> None:
    request = ledger_pb2.ListRatingsRequest(chain_id="c1")
    getattr(request, name).extend([1] * (MAX_FILTER_VALUES + 1))
    assert fields(request) == {name}
    big = ledger_pb2.ListRatingsRequest(chain_id="c1")
    getattr(big, name).extend([1] * 40_000)  # past SQLite's 32,766 parameters
    assert fields(big) == {name}


@pytest.mark.parametrize("chain_id", ["c1\n", "c1 ", "x" * 65, "c\u00e91"])
def test_a_chain_id_must_match_whole(chain_id: str) -> None:
    assert fields(ledger_pb2.ListRatingsRequest(chain_id=chain_id)) == {"chain_id"}


def test_id_violations() -> None:
    assert id_violations("supplier_id", "sup-001") == []
    assert id_violations("supplier_id", "sup-001\n") == [("supplier_id", ID_RULE)]
    assert id_violations("supplier_id", "") == [("supplier_id", ID_RULE)]
    assert id_violations("chain_id", "", required=False) == []
