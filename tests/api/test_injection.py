"""Hostile names, dates and tokens: refused with a 4xx, and no request value ever appears in SQL text."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import Client

from dataplatform.api.app import ApiApp, ApiServices
from dataplatform.api.data_access import LakeData
from dataplatform.api.errors import NotFound
from dataplatform.api.queries import Statement
from dataplatform.local.gateway import LocalGateway, Tokens
from tests.api.support import CONFIG, READ_TOKEN, TOKEN, ServedApi

HOSTILE = [
    "daily_revenue; DROP TABLE x", "daily_revenue' OR '1'='1", "../../etc/passwd", "..%2f..%2fsecrets",
    "kpi_summary--", 'x" UNION SELECT * FROM retail_audit.runs --', "a" * 5000, "DAILY_REVENUE", "%00", "daily revenue",
]  # fmt: skip


class Recorder:
    """Wraps the served engine and keeps every statement it runs."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.statements = engine, []
        self.client: Client

    def query(self, statement: Statement) -> list[dict[str, Any]]:
        self.statements.append(statement)
        return self.engine.query(statement)

    def columns(self, zone: str, table: str) -> Any:
        return self.engine.columns(zone, table)


@pytest.fixture
def recorded(api: ServedApi) -> Recorder:
    """The API over the same lake, its engine recording; `recorder.client` calls it through the local gateway."""
    recorder = Recorder(api.engine)
    services = api.app.services
    data = LakeData(recorder, services.data.config, services.data.marts)  # type: ignore[arg-type]
    app = ApiApp(ApiServices(data, s3=services.s3, raw_bucket=services.raw_bucket, local=True))
    recorder.client = Client(LocalGateway(app, Tokens(TOKEN, READ_TOKEN)))
    return recorder


def assert_refused(api: ServedApi, path: str, recorder: Recorder, payload: str, method: str = "GET") -> None:
    response = recorder.client.open(path, method=method, headers={"Authorization": "Bearer full-access-token"})
    assert response.status_code in (400, 404), (path, response.status_code, response.get_data(as_text=True)[:200])
    assert response.get_json()["error"]["code"] in ("invalid_request", "not_found", "invalid_next_token")
    for statement in recorder.statements:
        assert payload not in statement.sql


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_names_in_paths(api: ServedApi, recorded: Recorder, payload: str) -> None:
    quoted = quote(payload, safe="")
    for path in (f"/marts/{quoted}", f"/datasets/{quoted}/quarantine", f"/runs/{quoted}"):
        assert_refused(api, path, recorded, payload)
    assert_refused(api, f"/uploads/{quoted}", recorded, payload, method="POST")


@pytest.mark.parametrize("payload", ["2024-01-01' OR '1'='1", "2024-13-01", "yesterday", "2024-01-01;--", "9" * 400])
def test_hostile_dates(api: ServedApi, recorded: Recorder, payload: str) -> None:
    for parameter in ("from", "to"):
        assert_refused(api, f"/kpi/daily-revenue?{parameter}={quote(payload)}", recorded, payload)


def token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "next_token",
    [
        "not base64 !", token({"m": "daily_revenue", "o": "1; DROP"}), token({"m": "daily_revenue", "o": -1}),
        token({"m": "kpi_summary", "o": 0}), token({"m": "daily_revenue", "o": 10**12}),
        token({"m": "daily_revenue", "o": 0, "sql": "x"}), token(["daily_revenue", 0]), "A" * 300,
        token({"m": "daily_revenue' OR 1=1", "o": 0}),
    ],
)  # fmt: skip
def test_forged_next_tokens(api: ServedApi, recorded: Recorder, next_token: str) -> None:
    assert_refused(api, f"/marts/daily_revenue?next={quote(next_token)}", recorded, next_token)
    assert all(s.sql.count("?") == len(s.parameters) for s in recorded.statements)


def test_oversize_and_hostile_query_values(api: ServedApi, recorded: Recorder) -> None:
    for path in ("/marts/daily_revenue?limit=1001", "/marts/daily_revenue?limit=0", "/marts/daily_revenue?limit=1e3",
                 "/runs?limit=201", "/runs?limit=1%20OR%201=1", "/datasets/sales/quarantine?run_id=x'%20OR%20'1'='1",
                 "/uploads/sales?filename=../../x.csv"):  # fmt: skip
        method = "POST" if path.startswith("/uploads") else "GET"
        assert_refused(api, path, recorded, "OR", method=method)


def test_values_travel_as_parameters_and_a_quote_matches_nothing(api: ServedApi) -> None:
    """Below the route's validation: a run id with SQL in it is bound as one string literal, so it finds no run."""
    data = LakeData(api.engine, CONFIG, ())
    with pytest.raises(NotFound):
        data.run("x' OR '1'='1")
    statement = Recorder(api.engine)
    LakeData(statement, CONFIG, ()).daily_revenue(*[__import__("datetime").date(2024, 1, 5)] * 2)
    (sent,) = statement.statements
    assert "2024-01-05" not in sent.sql and sent.parameters == ("'2024-01-05'", "'2024-01-05'")
