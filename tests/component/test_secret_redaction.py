"""A canary secret never leaves an ingest Lambda: not in logs, errors, results or anything written to S3.

Every failure path of the REST and Postgres sources runs through the real handler with a canary credential in
moto's Secrets Manager, and every output is searched for the canary in the forms it travels in: raw,
URL-encoded, and base64 (alone and as Basic auth's "user:password"). CSV sources hold no credentials.
The whole workflow (Step Functions history, SNS message, audit record) is covered by
tests/e2e/test_secret_canary.py.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from ingest_support import LAKE, ROOT, aws_module, s3_fixture  # noqa: F401
from test_ingest_handlers_component import Context, event, load_handler

from dataplatform.ingest import lambda_support
from dataplatform.local.apis import CustomerApi, sample_customers
from tests.secret_canary import CANARY, USER, echo, find_canary

pytestmark = pytest.mark.faults


@pytest.fixture
def handler_env(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("RAW_BUCKET", LAKE.raw_bucket)
    monkeypatch.setenv("CURATED_BUCKET", LAKE.curated_bucket)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "retail-ingest")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "retail")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    lambda_support._clients.cache_clear()
    lambda_support._config.cache_clear()
    yield boto3.client("secretsmanager", region_name="us-east-1")
    lambda_support._clients.cache_clear()
    lambda_support._config.cache_clear()


def write_config(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, source: dict[str, Any]) -> None:
    import yaml

    sample = yaml.safe_load((ROOT / "pipeline.yaml").read_text())
    kind = source["kind"]
    name = "customers" if kind == "rest" else "products"
    ds = sample["datasets"][name]
    ds["source"] = source
    cfg = {k: v for k, v in sample.items() if k != "datasets"}
    cfg["datasets"] = {name: ds}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("PIPELINE_CONFIG", str(path))


def every_output(s3: Any, caught: BaseException | None, output: Any, captured: str) -> str:
    texts = [captured, json.dumps(output, default=str)]
    if caught is not None:
        texts.append("".join(traceback.format_exception(caught)))
        texts.append(repr(caught))
    for bucket in (LAKE.raw_bucket, LAKE.curated_bucket):
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            texts.append(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode("latin-1"))
    return "\n".join(texts)


def call(kind: str, dataset: str) -> tuple[BaseException | None, Any]:
    try:
        return None, load_handler(f"ingest_{kind}").handler(event(dataset), Context())
    except Exception as exc:  # the failure path is what is under test
        return exc, None


Echo = Callable[[str, dict[str, str], dict[str, str]], Any]


REST_CASES: list[tuple[str, dict[str, Any], dict[str, Any], Echo | None]] = [
    ("bearer token echoed in a 400 body", {"type": "bearer", "secret": "crm"}, {"token": CANARY}, echo(400)),
    (
        "bearer token echoed by 500s until retries run out",
        {"type": "bearer", "secret": "crm"},
        {"token": CANARY},
        echo(500),
    ),
    (
        "api key in the query, echoed in a 422 body",
        {"type": "api_key", "secret": "crm", "name": "apikey", "location": "query"},
        {"api_key": CANARY},
        echo(422),
    ),
    (
        "api key header echoed in a 404 body",
        {"type": "api_key", "secret": "crm", "name": "X-Key"},
        {"api_key": CANARY},
        echo(404),
    ),
    (
        "basic auth echoed in a 400 body",
        {"type": "basic", "secret": "crm"},
        {"username": USER, "password": CANARY},
        echo(400),
    ),
    (
        "api key in the query of an unreachable API",
        {"type": "api_key", "secret": "crm", "name": "apikey", "location": "query"},
        {"api_key": CANARY},
        None,
    ),
]


@pytest.mark.parametrize(("name", "auth", "secret", "echo"), REST_CASES, ids=[c[0] for c in REST_CASES])
def test_rest_failures_never_show_the_secret(
    name: str,
    auth: dict[str, Any],
    secret: dict[str, Any],
    echo: Echo | None,
    handler_env: Any,
    s3: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    fault: Any,
) -> None:
    handler_env.create_secret(Name="crm", SecretString=json.dumps(secret))
    capsys.readouterr()
    caplog.clear()
    caplog.set_level(logging.DEBUG)  # botocore and urllib3 log requests and responses at DEBUG
    with CustomerApi(sample_customers(3), "unused") as api:
        if echo is not None:
            api.handle = echo  # type: ignore[method-assign]
        url = api.url if echo is not None else "http://127.0.0.1:9"  # nothing listens on port 9
        source = {
            "kind": "rest",
            "base_url": url,
            "path": "/customers",
            "auth": auth,
            "max_retries": 1,
            "backoff_s": 0.01,
            "records_path": "data",
        }
        write_config(tmp_path, monkeypatch, source)
        caught, output = call("rest", "customers")
        reached = api.requests
    assert caught is not None, "the failure path must fail"
    if echo is not None:
        assert reached and find_canary(json.dumps(reached)), "the API must have received the secret"
    captured = capsys.readouterr()
    text = every_output(s3, caught, output, captured.out + captured.err + caplog.text)
    assert "ingest failed" in text  # the failure was logged
    assert find_canary(text) == [], f"{name}: secret leaked"
    fault.bad_input(f"secret canary: rest {name}")


PG_CASES = [
    (
        "connection uri with the password, server unreachable",
        {"uri": f"postgresql://{USER}:{quote(CANARY, safe='')}@127.0.0.1:9/shop"},
    ),
    (
        "password field, server unreachable",
        {"host": "127.0.0.1", "port": 9, "dbname": "shop", "username": USER, "password": CANARY},
    ),
    (
        "password field, bad port value",
        {"host": "127.0.0.1", "port": "9x", "dbname": "shop", "username": USER, "password": CANARY},
    ),
]


@pytest.mark.parametrize(("name", "secret"), PG_CASES, ids=[c[0] for c in PG_CASES])
def test_postgres_failures_never_show_the_secret(
    name: str,
    secret: dict[str, Any],
    handler_env: Any,
    s3: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    fault: Any,
) -> None:
    handler_env.create_secret(Name="shop/pg", SecretString=json.dumps(secret))
    capsys.readouterr()
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    write_config(tmp_path, monkeypatch, {"kind": "postgres", "connection_secret": "shop/pg", "table": "products"})
    monkeypatch.setattr(
        "dataplatform.ingest.postgres_source.PostgresExtractor.reconnect_backoff_s", 0.01, raising=False
    )
    caught, output = call("postgres", "products")
    assert caught is not None
    captured = capsys.readouterr()
    text = every_output(s3, caught, output, captured.out + captured.err + caplog.text)
    assert "ingest failed" in text
    assert find_canary(text) == [], f"{name}: secret leaked"
    fault.bad_input(f"secret canary: postgres {name}")
