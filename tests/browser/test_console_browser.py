"""The run console in Chromium over the demo lake: every number checked against a source the page does not use
(the local run's own result, the SQL files, the marts queried directly)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.config import load_config
from dataplatform.console.lineage import derive_lineage
from dataplatform.local.athena.engine import LocalAthena
from dataplatform.local.serve import LocalApiServer
from tests.browser.conftest import Page
from tests.browser.demo_lake import ROOT, DemoLake

pytestmark = pytest.mark.browser
CONFIG = load_config(ROOT / "pipeline.yaml")


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def test_runs_list_then_the_newest_run_and_the_demo_run(page: Page, demo: DemoLake) -> None:
    page.open("/")
    page.shot("runs")
    rows = page.page.locator("#runs tbody tr")
    ids = [rows.nth(i).get_attribute("data-run-id") for i in range(rows.count())]
    assert ids == [demo.failed["run_id"], demo.demo["run_id"]]  # newest first
    demo_row = page.page.locator(f'tr[data-run-id="{demo.demo["run_id"]}"] td')
    assert demo_row.nth(2).inner_text() == "backfill" and demo_row.nth(3).inner_text() == "SUCCEEDED"
    raw = sum(d["raw_rows"] for d in demo.demo["datasets"].values())
    curated = sum(d["curated_rows"] for d in demo.demo["datasets"].values())
    assert (number(demo_row.nth(5).inner_text()), number(demo_row.nth(6).inner_text())) == (raw, curated)

    page.page.click(f'a:text("{demo.failed["run_id"]}")')  # the newest run
    page.page.wait_for_url(f"**/console/runs/{demo.failed['run_id']}")
    assert page.page.locator("#failure .failing-step").inner_text() == "IngestRest (customers)"

    page.open(f"/console/runs/{demo.demo['run_id']}")
    page.shot("run-demo")
    for name, counts in demo.demo["datasets"].items():
        lane = page.page.locator(f'.lane[data-lane="{name}"] .bar')
        assert lane.count() >= 2, name  # at least one ingest call and its Glue job
        steps = page.page.locator(f'#steps tr[data-subject="{name}"]')
        assert {steps.nth(i).get_attribute("data-step")[:5] for i in range(steps.count())} == {"Inges", "Stand"}
        section = page.page.locator(f'#datasets .dataset[data-dataset="{name}"]')
        shown = {part: number(section.locator(f".{part}-rows").inner_text()) for part in ("raw", "curated")}
        shown |= {"quarantined": number(section.locator(".quarantined-rows").inner_text())}
        shown |= {"duplicates": number(section.locator(".duplicates-rows").inner_text())}
        assert shown == {
            "raw": counts["raw_rows"],
            "curated": counts["curated_rows"],
            "quarantined": counts["quarantined_rows"],
            "duplicates": counts["duplicate_rows"],
        }, name
        assert section.locator(".balance").inner_text() == "✓ balanced"
        reasons = section.locator(".quarantine-reasons tbody tr td.num")
        assert sum(number(reasons.nth(i).inner_text()) for i in range(reasons.count())) == counts["quarantined_rows"]
    assert demo.demo["datasets"]["sales"]["quarantined_rows"] > 0  # the demo data has rows to quarantine


def test_every_assertion_with_its_severity(page: Page, demo: DemoLake) -> None:
    page.open(f"/console/runs/{demo.demo['run_id']}")
    expected = {f.name: f.severity for f in load_sql_files(SAMPLE_SQL_DIR) if f.kind == "assertion"}
    rows = page.page.locator("#assertions tbody tr")
    shown = {rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(1).inner_text()
             for i in range(rows.count())}  # fmt: skip
    assert shown == expected
    outcomes = {rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())}
    assert "failed" not in outcomes  # the demo run succeeded: no error-severity assertion fired


def test_a_failed_run_names_its_failing_step(page: Page, demo: DemoLake) -> None:
    response = page.open(f"/console/runs/{demo.failed['run_id']}")
    assert response.status == 200
    page.shot("run-failed")
    assert page.page.locator("#failure .failing-step").inner_text() == "IngestRest (customers)"
    message = page.page.locator("#failure p.error").inner_text()
    assert "HTTP 400" in message and "stackTrace" not in message  # the message, not the error document
    assert demo.failed["failure"]["step"] == "Ingest"  # what the run itself reported
    failed_bar = page.page.locator('.lane[data-lane="customers"] .bar.FAILED')
    assert failed_bar.count() == 1


def test_lineage_graph_is_derived_from_config_and_sql(page: Page) -> None:
    page.open("/console/lineage")
    page.shot("lineage")
    lineage = derive_lineage(CONFIG, load_sql_files(SAMPLE_SQL_DIR))
    nodes = page.page.locator("svg.lineage g[data-node]")
    assert {nodes.nth(i).get_attribute("data-node") for i in range(nodes.count())} == {n.id for n in lineage.nodes}
    edges = page.page.locator("svg.lineage path[data-edge]")
    shown = {tuple(edges.nth(i).get_attribute("data-edge").split("->")) for i in range(edges.count())}
    assert shown == set(lineage.edges)
    assert ("curated:sales", "marts:sales_reporting") in shown and len(shown) > len(CONFIG.datasets) * 2


def test_marts_charts_have_their_numbers_in_tables(page: Page, demo: DemoLake, console: LocalApiServer) -> None:
    page.open("/console/marts")
    page.page.wait_for_selector("figure[data-drawn='true'] canvas")
    page.shot("marts")
    assert page.page.locator("figure[data-drawn='true']").count() == 2
    with LocalAthena.from_lake_dir(demo.lake_dir, CONFIG) as engine:
        segments = engine.execute("SELECT segment, count(*) FROM marts.customer_segments GROUP BY segment")
        days = engine.execute("SELECT count(*) FROM marts.daily_revenue").rows[0][0]
        total = engine.execute("SELECT total_revenue FROM marts.kpi_summary").rows[0][0]
    rows = page.page.locator("#segments-table tbody tr")
    shown = {rows.nth(i).get_attribute("data-segment"): number(rows.nth(i).locator("td").nth(1).inner_text())
             for i in range(rows.count())}  # fmt: skip
    assert shown == dict(segments.rows)
    assert page.page.locator("#daily-table tbody tr").count() == days
    assert f"{total} USD" in page.page.locator("#kpi-table").inner_text()


def test_datasets_freshness_and_rows_per_run(page: Page, demo: DemoLake) -> None:
    page.open("/console/datasets")
    page.page.wait_for_selector("figure[data-drawn='true']")
    page.shot("datasets")
    for name in CONFIG.datasets:
        row = page.page.locator(f'#datasets tr[data-dataset="{name}"]')
        assert row.locator("a").inner_text() == demo.demo["run_id"], name  # the failed run is not a success
        assert re.fullmatch(r".+ ago", row.locator(".freshness").inner_text())
    assert page.page.locator("figure[data-drawn='true']").count() == len(CONFIG.datasets)
    customers = page.page.locator('.dataset-history[data-dataset="customers"] table.history tbody tr')
    assert customers.count() == 2  # the demo run and the failed run


def test_the_console_refuses_a_browser_without_the_token(browser: Any, console: LocalApiServer) -> None:
    anonymous = Page(browser, console.url, None)
    try:
        assert anonymous.open("/").status == 401
        assert anonymous.open("/?token=wrong").status == 401
        assert anonymous.open("/?token=console-browser-test-token").status == 200  # then the cookie carries it
        assert anonymous.page.url == console.url + "/"
        assert anonymous.open("/console/lineage").status == 200
    finally:
        anonymous.context.close()


def test_report_opens_offline_without_any_request(browser: Any, demo: DemoLake, tmp_path: Path) -> None:
    from dataplatform.local.report import write_report

    run_id, path = write_report(ROOT / "pipeline.yaml", demo.lake_dir, tmp_path / "report.html", demo.demo["run_id"])
    context = browser.new_context(offline=True)
    blocked: list[str] = []

    def network(route: Any) -> None:  # the file itself may load; anything else would be a network request
        if route.request.url == path.as_uri():
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", network)
    try:
        report = context.new_page()
        seen: list[str] = []
        report.on("request", lambda request: seen.append(request.url))
        report.goto(path.as_uri())
        report.screenshot(path=str(_artifact("report")), full_page=True)
        assert report.locator("#run-id").inner_text() == run_id
        sales = demo.demo["datasets"]["sales"]
        section = report.locator('.dataset[data-dataset="sales"]')
        assert number(section.locator(".quarantined-rows").inner_text()) == sales["quarantined_rows"]
        assert report.locator("#timeline .bar").count() > len(CONFIG.datasets)
        assert blocked == [] and seen == [path.as_uri()]  # only the file itself
    finally:
        context.close()


def _artifact(name: str) -> Path:
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_report_command_writes_the_newest_run_and_refuses_an_unknown_one(demo: DemoLake, tmp_path: Path) -> None:
    """The installed script, from another directory (what `make demo` and a user run)."""
    script = Path(sys.executable).parent / "dataplatform"
    common = ["--lake-dir", str(demo.lake_dir), "--config", str(ROOT / "pipeline.yaml")]
    out = tmp_path / "newest.html"
    done = subprocess.run([script, "report", "--out", str(out), *common], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"run {demo.failed['run_id']}: {out}"  # the newest run by default
    assert f'<span id="run-id">{demo.failed["run_id"]}</span>' in out.read_text()
    unknown = subprocess.run([script, "report", "20990101-20990101-0000000000", *common], cwd=tmp_path,
                             capture_output=True, text=True)  # fmt: skip
    assert unknown.returncode == 2 and "no run '20990101-20990101-0000000000'" in unknown.stderr
