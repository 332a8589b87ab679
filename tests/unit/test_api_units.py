"""Small parts of the HTTP API: execution parameters on the local engine, the api: config block, next tokens,
upload keys and the presigned POST's policy (moto stores POST uploads without checking the policy, so the policy
document itself is what is tested here; S3 enforces it on AWS)."""

from __future__ import annotations

import base64
import json

import pytest
from sqlglot import exp

from dataplatform.api import pagination, uploads
from dataplatform.api.errors import InvalidToken, NotUploadable
from dataplatform.config import ConfigError, parse_config
from dataplatform.local.athena import dialect
from dataplatform.local.athena.parameters import ParameterError, bind
from tests.api.support import CONFIG, ROOT, local_s3

SQL = "SELECT * FROM (SELECT a FROM t WHERE x = ?) WHERE y > ? AND z <= CAST(? AS date)"


def test_parameters_bind_in_textual_order_as_literals() -> None:
    (statement,) = dialect.parse(SQL)
    bound = bind(statement, ["'in'", "5", "'2024-01-01'"], dialect.AthenaV3)
    literals = [n.this for n in bound.walk(bfs=False) if isinstance(n, exp.Literal)]
    assert literals == ["in", "5", "2024-01-01"]
    assert not list(bound.find_all(exp.Placeholder))


@pytest.mark.parametrize("value", ["'a' OR 1=1", "1; DROP TABLE t", "x", "(SELECT 1)", "'a', 'b'", "-'a'"])
def test_a_parameter_must_be_one_literal(value: str) -> None:
    (statement,) = dialect.parse("SELECT 1 FROM t WHERE x = ?")
    with pytest.raises(ParameterError, match="not a single SQL literal"):
        bind(statement, [value], dialect.AthenaV3)


def test_parameters_only_in_where_and_counted() -> None:
    with pytest.raises(ParameterError, match="outside a WHERE clause"):
        bind(dialect.parse("SELECT a FROM t LIMIT ?")[0], ["1"], dialect.AthenaV3)
    with pytest.raises(ParameterError, match="2 '\\?' placeholders but 1"):
        bind(dialect.parse("SELECT a FROM t WHERE a = ? AND b = ?")[0], ["1"], dialect.AthenaV3)


def test_a_quoted_string_parameter_stays_one_value() -> None:
    (statement,) = dialect.parse("SELECT 1 FROM t WHERE x = ?")
    bound = bind(statement, ["'it''s'' OR ''1''=''1'"], dialect.AthenaV3)
    assert bound.find(exp.EQ).expression == exp.Literal.string("it's' OR '1'='1")


def test_next_tokens_round_trip_and_refuse_other_marts() -> None:
    token = pagination.encode("daily_revenue", 200)
    assert pagination.decode(token, "daily_revenue") == 200
    with pytest.raises(InvalidToken, match="another mart"):
        pagination.decode(token, "kpi_summary")
    forged = base64.urlsafe_b64encode(json.dumps({"m": "daily_revenue", "o": True}).encode()).decode()
    with pytest.raises(InvalidToken):
        pagination.decode(forged, "daily_revenue")  # strict: a boolean is not an offset


def test_upload_keys_stay_under_the_landing_prefix() -> None:
    key = uploads.upload_key("landing/sales/", "../../etc/passwd.csv")
    assert key.startswith("landing/sales/api-") and "/" not in key.removeprefix("landing/sales/") and ".." not in key


def policy_of(ticket) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(base64.b64decode(ticket.fields["policy"]))


def test_presigned_post_policy_pins_key_type_and_size() -> None:
    config = parse_config(
        (ROOT / "pipeline.yaml").read_text() + "\napi: {uploads: {max_mb: 50, per_dataset_max_mb: {sales: 3}}}\n",
        file="p.yaml",
    )
    ticket = uploads.presigned_upload(local_s3(), config, "raw-bucket", "sales", "day1.csv")
    conditions = policy_of(ticket)["conditions"]
    assert {"Content-Type": "text/csv"} in conditions
    assert ["content-length-range", 1, 3 * 1024 * 1024] in conditions
    assert {"bucket": "raw-bucket"} in conditions and {"key": ticket.key} in conditions
    assert ticket.key.startswith("landing/sales/api-") and ticket.key.endswith("-day1.csv")
    assert ticket.fields["Content-Type"] == "text/csv" and ticket.max_bytes == 3 * 1024 * 1024
    assert policy_of(uploads.presigned_upload(local_s3(), CONFIG, "raw", "sales", None))["conditions"][1] == [
        "content-length-range", 1, 100 * 1024 * 1024
    ]  # fmt: skip
    with pytest.raises(NotUploadable):
        uploads.presigned_upload(local_s3(), CONFIG, "raw-bucket", "products", None)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("{auth: {mode: jwt}}", "api.auth.issuer: jwt mode needs the OIDC issuer"),
        ("{auth: {mode: jwt, issuer: 'https://i.example.com'}}", "api.auth.audience"),
        ("{uploads: {per_dataset_max_mb: {products: 5}}}", "api.uploads.per_dataset_max_mb.products"),
        ("{cors_origins: ['*']}", "api.cors_origins"),
        ("{auth: {read_scope: a, upload_scope: a}}", "must differ"),
    ],
)
def test_api_config_errors_name_the_field(block: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config((ROOT / "pipeline.yaml").read_text() + f"\napi: {block}\n", file="p.yaml")
    assert message in "\n".join(error.value.messages)
