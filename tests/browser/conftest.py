"""Browser tests of the run console: Debian's Chromium driven by Playwright (no browser download), over a demo
lake built once per session by the real local workflow (demo_lake.py). Screenshots go to
build/test-artifacts/console/. Run only these: `pytest tests/browser -m browser`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dataplatform.local.serve import LocalApiServer, ServeOptions
from infra.java_home import java_home
from tests.browser.demo_lake import ROOT, DemoLake, build_demo_lake

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "console-browser-test-token"
ARTIFACTS = ROOT / "build" / "test-artifacts" / "console"


@pytest.fixture(scope="session")
def demo() -> Iterator[DemoLake]:
    reused = os.environ.get("CONSOLE_TEST_LAKE")
    # Not tmp_path_factory: another pytest process on the machine may prune its base directory (tests/e2e).
    lake_dir = Path(reused) if reused else Path(tempfile.mkdtemp(prefix="dataplatform-console-"))
    if not os.environ.get("JAVA_HOME") and (home := java_home()):
        os.environ["JAVA_HOME"] = str(home)
    try:
        yield build_demo_lake(lake_dir)
    finally:
        if not reused:
            shutil.rmtree(lake_dir, ignore_errors=True)


# Module scope: its teardown syncs the local S3, which must happen before other modules reset moto.
@pytest.fixture(scope="module")
def console(demo: DemoLake) -> Iterator[LocalApiServer]:
    options = ServeOptions(config_file=ROOT / "pipeline.yaml", lake_dir=demo.lake_dir, port=0, token=TOKEN)
    with LocalApiServer(options) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """A page with the token header, that fails the test on any script error and screenshots what it shows."""

    def __init__(self, browser: Any, base_url: str, headers: dict[str, str] | None) -> None:
        self.context = browser.new_context(extra_http_headers=headers or {}, viewport={"width": 1300, "height": 900})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        return response

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser: Any, console: LocalApiServer) -> Iterator[Page]:
    opened = Page(browser, console.url, {"Authorization": f"Bearer {TOKEN}"})
    yield opened
    opened.context.close()
    assert opened.errors == [], "the page logged errors"
