"""The web console in a real browser (Debian's chromium + chromium-driver, Selenium) against a
real ledger process on real Kafka with ratings the real scoring model computed. Screenshots of
the main pages go to the test's output folder."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import grpc
import polars as pl
import pytest
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from greenchain.common import topics as topic_names
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.common.grades import tier_label
from greenchain.common.topics import ensure_topics
from greenchain.testing.browser import chromium, full_page_screenshot
from greenchain.testing.flows import offline_ratings, produce, sample_declarations
from greenchain.testing.grpc_clients import bearer
from greenchain.testing.kafka_broker import free_port, isolated_settings
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2, supplier_pb2

CHAIN = "chain-ev"
LEADER = supplier_pb2.Chain(
    chain_id=CHAIN,
    name="Shanghai New Energy Vehicles Co.",
    green_supply_chain=supplier_pb2.Designation(
        level=supplier_pb2.DESIGNATION_LEVEL_NATIONAL,
        year=2024,
        status=supplier_pb2.DESIGNATION_STATUS_ACTIVE,
    ),
)


@dataclass
class Site:
    url: str
    settings: Settings
    tokens: dict[str, str]
    ratings: dict[str, rating_pb2.SupplierRating]

    def ledger(self) -> ledger_pb2_grpc.LedgerServiceStub:
        return ledger_pb2_grpc.LedgerServiceStub(
            grpc.insecure_channel(self.settings.ledger_address)
        )


def wait_until(what: str, check: object, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, grpc.RpcError):
            pass
        time.sleep(0.3)
    raise TimeoutError(what)


@pytest.fixture(scope="module")
def site(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("console")
    suppliers, decls = sample_declarations(suppliers=90, months=6, seed=7)
    ratings = offline_ratings(suppliers, decls)
    in_chain = sorted(sid for sid, r in ratings.items() if CHAIN in r.chain_ids)
    me, other = in_chain[0], in_chain[1]
    tokens = {"admin": "t-admin", f"chain:{CHAIN}": "t-chain", f"supplier:{me}": "t-me"}
    tokens_file = folder / "tokens.yaml"
    tokens_file.write_text(
        yaml.safe_dump(
            {"tokens": [{"sha256": hash_token(t), "principal": p} for p, t in tokens.items()]}
        )
    )
    settings = isolated_settings(kafka_bootstrap, folder).with_(
        tokens_file=str(tokens_file),
        ledger_listen=f"127.0.0.1:{free_port()}",
        console_listen=f"127.0.0.1:{free_port()}",
    )
    ensure_topics(settings)
    # two ratings of "me" (a history), then everyone's
    first = rating_pb2.SupplierRating()
    first.CopyFrom(ratings[me])
    first.total_score = max(0.0, first.total_score - 7.5)
    first.revision = 1
    ratings[me].revision = 2
    ratings[me].score_change = 7.5
    produce(settings, topic_names.CHAINS, [(CHAIN.encode(), LEADER.SerializeToString())])
    produce(
        settings,
        topic_names.RATINGS,
        [(me.encode(), first.SerializeToString())]
        + [(sid.encode(), r.SerializeToString()) for sid, r in sorted(ratings.items())],
    )
    ledger = ServiceProcess("ledger", settings, folder / "ledger.log").start()
    console = ServiceProcess("console", settings, folder / "console.log").start()
    try:
        ledger.wait_for_log("LedgerServer started")
        stub = ledger_pb2_grpc.LedgerServiceStub(grpc.insecure_channel(settings.ledger_address))
        wait_until(
            "every rating in the ledger",
            lambda: (
                stub.ListRatings(
                    ledger_pb2.ListRatingsRequest(page_size=1), metadata=bearer("t-admin")
                ).total_size
                == len(ratings)
            ),
        )
        url = f"http://{settings.console_listen}"
        wait_until("the console", lambda: get(url, "/healthz").status == 200)
        yield Site(url, settings, tokens | {"me": me, "other": other}, ratings)
    finally:
        console.stop()
        ledger.stop()


def get(url: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    host = url.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request("GET", path, headers=headers or {})
    return connection.getresponse()


def post(
    url: str, path: str, form: dict[str, str], headers: dict[str, str]
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    connection.request(
        "POST",
        path,
        body=urlencode(form),
        headers={"content-type": "application/x-www-form-urlencoded", **headers},
    )
    return connection.getresponse()


def shots(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: its own output folder."""
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    chrome = chromium(tmp_path / "profile", tmp_path / "downloads")
    try:
        yield chrome
    finally:
        chrome.quit()


def sign_in(browser: WebDriver, site: Site, token: str, path: str = "/") -> None:
    browser.get(site.url + path)
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "token")))
    assert "/signin" in browser.current_url  # not signed in: sent to the sign-in page
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "signin").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "principal")))


def column(browser: WebDriver, index: int) -> list[str]:
    return [
        row.find_elements(By.TAG_NAME, "td")[index].text
        for row in browser.find_elements(By.CSS_SELECTOR, "#supplier-table tbody tr")
    ]


def test_chain_leader_sees_the_goal_sorts_filters_downloads_and_gets_live_alerts(
    site: Site, browser: WebDriver, tmp_path: Path
) -> None:
    sign_in(browser, site, "t-chain", f"/chains/{CHAIN}")
    assert browser.current_url.endswith(f"/chains/{CHAIN}")
    progress = site.ledger().GetChainProgress(
        ledger_pb2.GetChainProgressRequest(chain_id=CHAIN), metadata=bearer("t-chain")
    )
    shown = browser.find_element(By.ID, "designated-share").text
    assert shown == f"{progress.designated_share:.1%}" and progress.designated_share > 0
    assert browser.find_element(By.ID, "goal-share").text == "40%"
    assert browser.find_element(By.ID, "goal-marker").is_displayed()  # the goal on the bar
    assert "goal 40% by 2030" in browser.find_element(By.ID, "goal-line").text  # and the trend
    assert "Shanghai New Energy Vehicles Co." in browser.page_source
    leverage = browser.find_elements(By.CSS_SELECTOR, "#leverage tbody tr")
    assert len(leverage) == min(10, len(progress.leverage)) > 0
    full_page_screenshot(browser, shots(tmp_path) / "chain-leader-progress.png")

    chain_ratings = [r for r in site.ratings.values() if CHAIN in r.chain_ids]
    assert (
        browser.find_element(By.ID, "matching").text
        == f"{len(chain_ratings)} of {len(chain_ratings)}"
    )
    by_score = sorted(chain_ratings, key=lambda r: (-r.total_score, r.supplier_id))
    assert column(browser, 0) == [r.supplier_id for r in by_score[:25]]  # default: best first
    browser.find_element(By.ID, "sort-score").click()  # ascending
    WebDriverWait(browser, 10).until(lambda b: "▲" in b.find_element(By.ID, "sort-score").text)
    scores = [float(s) for s in column(browser, 3)]
    assert scores == sorted(scores) and scores[0] == pytest.approx(
        min(r.total_score for r in chain_ratings), abs=0.05
    )
    browser.find_element(By.ID, "sort-name").click()  # by name, descending first
    WebDriverWait(browser, 10).until(lambda b: "▼" in b.find_element(By.ID, "sort-name").text)
    names = column(browser, 1)
    assert (
        names == sorted((r.supplier_name for r in chain_ratings), key=str.lower, reverse=True)[:25]
    )
    browser.find_element(By.ID, "page-next").click()  # paging keeps the order
    WebDriverWait(browser, 10).until(lambda b: "page 2 of" in b.find_element(By.ID, "page-of").text)
    assert (
        column(browser, 1)[0]
        == sorted((r.supplier_name for r in chain_ratings), key=str.lower, reverse=True)[25]
    )

    tier = tier_label(by_score[0].readiness_tier)
    Select(browser.find_element(By.ID, "filter-tier")).select_by_value(tier)
    browser.find_element(By.ID, "apply-filters").click()
    WebDriverWait(browser, 10).until(lambda b: "tier=" in b.current_url)
    expected = sum(tier_label(r.readiness_tier) == tier for r in chain_ratings)
    assert browser.find_element(By.ID, "matching").text == f"{expected} of {len(chain_ratings)}"
    assert set(column(browser, 5)) == {tier}
    full_page_screenshot(browser, shots(tmp_path) / "chain-leader-suppliers-filtered.png")

    browser.get(f"{site.url}/chains/{CHAIN}")
    browser.find_element(By.ID, "report-xlsx").click()
    downloads = tmp_path / "downloads"
    wait_until("the Excel report", lambda: list(downloads.glob("*.xlsx")), within=30)
    report = next(downloads.glob("*.xlsx"))
    sheets = pl.read_excel(report, sheet_id=0)
    assert list(sheets) == ["progress", "suppliers", "leverage", "methodology version"]
    assert sorted(sheets["suppliers"]["supplier_id"].to_list()) == sorted(
        r.supplier_id for r in chain_ratings
    )

    # a tier drop recorded while the page is open appears in the alerts feed (WatchRatings)
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.ID, "live-status").text.startswith("live")
    )
    victim = next(r for r in by_score if r.readiness_tier > rating_pb2.READINESS_TIER_NOT_YET)
    dropped = rating_pb2.SupplierRating()
    dropped.CopyFrom(victim)
    dropped.revision = victim.revision + 1
    dropped.previous_tier = victim.readiness_tier
    dropped.readiness_tier = rating_pb2.READINESS_TIER_NOT_YET
    dropped.total_score = 10.0
    produce(
        site.settings,
        topic_names.RATINGS,
        [(victim.supplier_id.encode(), dropped.SerializeToString())],
    )
    WebDriverWait(browser, 30).until(
        lambda b: any(
            victim.supplier_id in li.text and "dropped" in li.text
            for li in b.find_elements(By.CSS_SELECTOR, "#alerts li.new")
        )
    )
    full_page_screenshot(browser, shots(tmp_path) / "chain-leader-live-alert.png")


def test_supplier_sees_its_scorecard_and_plan_and_nothing_else(
    site: Site, browser: WebDriver, tmp_path: Path
) -> None:
    me, other = site.tokens["me"], site.tokens["other"]
    sign_in(browser, site, "t-me")
    assert browser.current_url.endswith(f"/suppliers/{me}")  # its own page is its home
    rating = site.ratings[me]
    assert me in browser.find_element(By.ID, "supplier-title").text
    assert browser.find_element(By.ID, "total-score").text == f"{rating.total_score:.1f}"
    rows = browser.find_elements(By.CSS_SELECTOR, "#scorecard tbody tr")
    assert [r.get_attribute("data-indicator") for r in rows] == [
        i.indicator for i in rating.indicators
    ]
    summary = browser.find_element(By.ID, "plan-summary").text
    next_tier = tier_label(rating.readiness_tier + 1)
    assert f"to reach the {next_tier} tier" in summary, summary
    assert browser.find_elements(By.CSS_SELECTOR, "#plan-table tbody tr")
    assert browser.find_element(By.CSS_SELECTOR, "#history svg.chart")  # two ratings: a chart
    assert browser.find_elements(By.CSS_SELECTOR, "#coverage tbody tr")
    full_page_screenshot(browser, shots(tmp_path) / "supplier-scorecard.png")

    browser.find_element(By.ID, "verify-button").click()
    WebDriverWait(browser, 20).until(
        lambda b: "hash chain intact: 2 entries" in b.find_element(By.CSS_SELECTOR, ".flash").text
    )

    for forbidden in (f"/suppliers/{other}", f"/chains/{CHAIN}", f"/chains/{CHAIN}/report.xlsx"):
        browser.get(site.url + forbidden)
        assert browser.find_element(By.ID, "error-status").text == "403", forbidden
        assert site.ratings[other].supplier_name not in browser.page_source
        assert not browser.find_elements(By.ID, "scorecard")
    full_page_screenshot(browser, shots(tmp_path) / "supplier-forbidden.png")


def test_cookies_forms_and_headers_are_safe(site: Site) -> None:
    page = get(site.url, "/signin")
    body = page.read().decode()
    signin_cookie = page.getheader("set-cookie") or ""
    assert "HttpOnly" in signin_cookie and "SameSite=strict" in signin_cookie
    csp = page.getheader("content-security-policy") or ""
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "http://" not in body.replace(site.url, "") and "https://" not in body  # no CDN
    csrf = body.split('name="csrf" value="')[1].split('"')[0]
    cookie = signin_cookie.split(";")[0]
    # a sign-in without the form's token (e.g. from another site) is refused
    refused = post(site.url, "/signin", {"token": "t-chain"}, {"cookie": cookie})
    assert refused.status == 403
    other_site = post(
        site.url,
        "/signin",
        {"token": "t-chain", "csrf": csrf},
        {"cookie": cookie, "origin": "http://evil.example"},
    )
    assert other_site.status == 403
    wrong = post(site.url, "/signin", {"token": "nope", "csrf": csrf}, {"cookie": cookie})
    assert wrong.status == 401
    ok = post(site.url, "/signin", {"token": "t-chain", "csrf": csrf}, {"cookie": cookie})
    assert ok.status == 303 and ok.getheader("location") == f"/chains/{CHAIN}"
    session_cookie = ok.getheader("set-cookie") or ""
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert "t-chain" not in session_cookie  # the token stays on the server
    session = session_cookie.split(";")[0]
    signed_in = get(site.url, f"/chains/{CHAIN}", {"cookie": session})
    assert signed_in.status == 200 and signed_in.getheader("cache-control") == "no-store"
    # sign-out needs the session's CSRF token
    assert post(site.url, "/signout", {}, {"cookie": session}).status == 403
    assert get(site.url, f"/chains/{CHAIN}", {"cookie": session}).status == 200
    # every asset is served by the console itself
    for asset in ("/static/console.css", "/static/console.js", "/static/favicon.svg"):
        assert get(site.url, asset).status == 200, asset
