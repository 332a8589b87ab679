"""The API's Athena engine (awswrangler) against moto's Athena: values go as ExecutionParameters and the SQL text
is sent unchanged; result reuse is requested; results come back typed; a slow query is a 503 with Retry-After."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from dataplatform.api.athena_engine import AthenaQueryEngine
from dataplatform.api.errors import QueryTimeout
from dataplatform.api.queries import daily_revenue

REGION = "us-east-1"


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="results")
        client = boto3.client("athena")
        client.create_work_group(
            Name="retail", Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/athena/"}}
        )
        yield client


def seed(rows: list[list[str]], types: list[tuple[str, str]]) -> None:
    """moto answers the next query with these rows (header first, as Athena's GetQueryResults does)."""
    result = {
        "account_id": "123456789012",
        "region": REGION,
        "results": [{
            "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
            "column_info": [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n,
                             "Type": t, "Precision": 18, "Scale": 2, "Nullable": "UNKNOWN", "CaseSensitive": False}
                            for n, t in types],
        }],
    }  # fmt: skip
    requests.post("http://motoapi.amazonaws.com/moto-api/static/athena/query-results", json=result, timeout=5)


def test_parameters_and_result_reuse_go_to_athena(athena: Any) -> None:
    from datetime import date

    seed([["order_date", "revenue", "orders"], ["2024-01-05", "12.50", "3"]],
         [("order_date", "date"), ("revenue", "decimal"), ("orders", "bigint")])  # fmt: skip
    engine = AthenaQueryEngine(project="retail", workgroup="retail", timeout_s=5, reuse_minutes=15)
    statement = daily_revenue("retail", date(2024, 1, 5), date(2024, 1, 6))
    rows = engine.query(statement)
    assert rows == [{"order_date": date(2024, 1, 5), "revenue": Decimal("12.50"), "orders": 3}]
    (execution_id,) = athena.list_query_executions(WorkGroup="retail")["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == statement.sql
    assert execution["ExecutionParameters"] == ["'2024-01-05'", "'2024-01-06'"]


def test_reuse_configuration_is_requested(athena: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    sent: dict[str, Any] = {}
    original = wr.athena.start_query_execution

    def spy(**kwargs: Any) -> Any:
        sent.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(wr.athena, "start_query_execution", spy)
    seed([["x"], ["1"]], [("x", "integer")])
    AthenaQueryEngine(project="retail", workgroup="retail", timeout_s=5, reuse_minutes=15).query(
        daily_revenue("retail", __import__("datetime").date(2024, 1, 1), __import__("datetime").date(2024, 1, 2))
    )
    assert sent["result_reuse_configuration"] == {
        "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 15}
    }
    assert sent["paramstyle"] == "qmark" and "athena_cache_settings" not in sent


def test_a_query_past_the_deadline_is_503_with_retry_after(athena: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    monkeypatch.setattr(wr.athena, "get_query_execution", lambda **_: {"Status": {"State": "RUNNING"}})
    now = [0.0]
    engine = AthenaQueryEngine(
        project="retail", workgroup="retail", timeout_s=25, reuse_minutes=15,
        clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
    )  # fmt: skip
    with pytest.raises(QueryTimeout) as error:
        engine.query(
            daily_revenue("retail", __import__("datetime").date(2024, 1, 1), __import__("datetime").date(2024, 1, 2))
        )
    assert error.value.status == 503 and error.value.headers == {"Retry-After": "25"}
    assert 25 <= now[0] < 26
