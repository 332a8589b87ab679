"""The console's pages through the local gateway over the API fixture lake: the fixture's numbers on the pages,
the token (header, or the cookie set once from ?token=) required, unknown runs a 404."""

from __future__ import annotations

import re

from tests.api.support import FULL, QUALITY_1, READ, RUN_1, TOKEN, ServedApi

RUN_2 = "20240106-20240106-bbbbbbbbbb"


def page(api: ServedApi, path: str, headers: dict[str, str] | None = FULL) -> tuple[int, str]:
    response = api.client.get(path, headers=headers or {})
    return response.status_code, response.get_data(as_text=True)


def cells(html: str, row_marker: str) -> list[str]:
    """The text of the <td>s of the table row that contains `row_marker`."""
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S) if row_marker in r)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_console_refuses_requests_without_the_token(api: ServedApi) -> None:
    for path in ("/", f"/console/runs/{RUN_1}", "/console/datasets", "/console/lineage", "/console/marts"):
        status, body = page(api, path, headers=None)
        assert status == 401 and "missing bearer token" in body, path
        assert page(api, path, headers={"Authorization": "Bearer wrong"})[0] == 401, path
        assert page(api, path, headers=READ)[0] == 200, path  # the read token is enough


def test_runs_list_newest_first_with_trigger_and_the_failing_step(api: ServedApi) -> None:
    status, html = page(api, "/")
    assert status == 200
    assert html.index(RUN_1) < html.index(RUN_2)  # run 1 was re-run last
    first = cells(html, f'data-run-id="{RUN_1}"')
    assert first[2:4] == ["schedule", "SUCCEEDED"] and first[5:7] == ["9", "8"]  # rows in and out of the re-run
    failed = cells(html, f'data-run-id="{RUN_2}"')
    assert failed[2:4] == ["unknown", "FAILED"]  # no timeline record: the trigger is not known
    assert failed[7:] == ["Standardize", "boom"]  # from the audit record's error_step and error


def test_run_detail_shows_timeline_conservation_quarantine_and_assertions(api: ServedApi) -> None:
    status, html = page(api, f"/console/runs/{RUN_1}")
    assert status == 200
    standardize = ["sales", "Standardize2", "sales", "10.0", "1 min 20 s", "SUCCEEDED"]
    assert cells(html, 'data-step="Standardize2"') == standardize
    assert re.search(r'data-lane="sales".*?left: 0\.0%; width: 10\.0%', html, re.S)  # 10 s of a 100 s run
    sales = html[html.index('data-dataset="sales"') :]
    assert re.search(r'class="raw-rows">6<.*class="curated-rows">5<.*class="quarantined-rows">1<', sales, re.S)
    assert "✓ balanced" in sales
    assert cells(html, "<td>price:non_negative</td>") == ["price:non_negative", "2"]
    assert cells(html, "<td>price:cast</td>") == ["price:cast", "1"]
    for result in QUALITY_1["results"]:
        expected = "passed" if not result["violations"] else "warning"
        assert cells(html, f'data-assertion="{result["name"]}"')[2:] == [str(result["violations"]), expected]


def test_a_failed_run_names_its_failing_step(api: ServedApi) -> None:
    status, html = page(api, f"/console/runs/{RUN_2}")
    assert status == 200
    assert re.search(r'id="failure">.*class="failing-step">Standardize</strong>.*boom', html, re.S)
    assert "The run ended before its assertions were checked" in html


def test_pages_are_not_cached_and_load_nothing_from_elsewhere(api: ServedApi) -> None:
    response = api.client.get("/console/marts", headers=FULL)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', response.get_data(as_text=True))
    assert policy and "default-src 'none'" in policy.group(1)
    assert not re.search(r'(src|href)="(https?:)?//', response.get_data(as_text=True))  # no CDN, no remote asset


def test_unknown_run_is_404_and_a_malformed_id_400(api: ServedApi) -> None:
    status, html = page(api, "/console/runs/20990101-20990101-0000000000")
    assert status == 404 and "no run &#39;20990101-20990101-0000000000&#39; in the audit table" in html
    assert page(api, "/console/runs/..%2F..%2Fetc")[0] in (400, 404)


def test_token_in_the_url_becomes_a_cookie_for_console_pages_only(api: ServedApi) -> None:
    response = api.client.get(f"/console/marts?token={TOKEN}")
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/marts")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert page(api, "/console/marts", headers=None)[0] == 200  # the test client keeps the cookie
    assert api.client.get("/runs").status_code == 401  # JSON routes take the header only
    assert api.client.get("/?token=wrong").status_code == 401
    api.client.delete_cookie("dataplatform_token")


def test_lineage_and_marts_pages(api: ServedApi) -> None:
    _, lineage = page(api, "/console/lineage")
    for node in ("source:sales", "raw:sales", "curated:sales", "marts:sales_reporting", "marts:kpi_summary"):
        assert f'data-node="{node}"' in lineage
    assert 'data-edge="curated:exchange_rates->curated:sales"' in lineage
    _, marts = page(api, "/console/marts")
    assert 'id="kpi-table"' in marts and 'id="daily-table"' in marts and 'id="segments-table"' in marts
    assert re.findall(r'<figure data-chart="(\w+)" data-height="\d+" id="([\w-]+)"', marts) == [
        ("line", "daily-revenue"),
        ("bars", "segments"),
    ]
