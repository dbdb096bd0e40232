"""A real browser for the console tests: Debian's chromium driven by its chromium-driver
through Selenium, headless, with a fresh profile, talking to 127.0.0.1 only."""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def chromium(profile: Path, downloads: Path) -> webdriver.Chrome:
    """A headless Chromium with its own profile that saves downloads to ``downloads``; fails
    (never skips) when chromium or chromedriver is missing (.ci/run installs both)."""
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    assert browser and driver, "install Debian's chromium and chromium-driver (.ci/run does)"
    downloads.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    return chrome


def full_page_screenshot(chrome: WebDriver, path: Path, width: int = 1400) -> Path:
    """The whole page (not just the window) as a PNG."""
    height = int(chrome.execute_script("return document.documentElement.scrollHeight"))
    chrome.set_window_size(width, min(max(height + 40, 600), 8000))
    chrome.save_screenshot(str(path))
    chrome.set_window_size(width, 1000)
    return path
