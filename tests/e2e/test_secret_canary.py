"""A canary secret stays out of everything a failed workflow run leaves behind.

The synthesized state machine runs locally (moto, the real handlers in-process) with one REST source whose API
fails with HTTP 400 and echoes the bearer token back in its error body. The run fails, notifies and audits; the
canary, in its raw, URL-encoded and base64 forms, must appear in none of: the execution's history and output,
the SNS notification, the audit record, any object in the lake, or the log.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from dataplatform.ingest import lambda_support
from dataplatform.local.apis import CustomerApi
from dataplatform.local.local_secrets import secret_env_var
from dataplatform.local.platform import LocalOptions, LocalPlatform
from tests.secret_canary import CANARY, echo, find_canary

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]


def lake_text(platform: LocalPlatform) -> str:
    s3 = platform.client("s3")
    texts = []
    for bucket in (platform.lake.raw_bucket, platform.lake.curated_bucket):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                texts.append(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode("latin-1"))
    return "\n".join(texts)


def test_a_failed_run_never_shows_the_secret(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    fault: Any,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="dataplatform-canary-"))
    try:
        with CustomerApi([], "unused") as api:
            api.handle = echo(400)  # type: ignore[method-assign]
            (work / "pipeline.yaml").write_text(
                textwrap.dedent(
                    f"""\
                    project: canary-shop
                    schedule: {{cron: "0 4 * * ? *"}}
                    datasets:
                      orders:
                        source:
                          kind: rest
                          base_url: {api.url}
                          path: /orders
                          auth: {{type: bearer, secret: canary/orders-api}}
                          records_path: data
                          max_retries: 1
                          backoff_s: 0.01
                        contract:
                          key: [order_id]
                          partition_column: order_date
                          columns:
                            - {{name: order_id, type: string, nullable: false}}
                            - {{name: order_date, type: date, nullable: false}}
                    """
                )
            )
            monkeypatch.setenv(secret_env_var("canary/orders-api"), json.dumps({"token": CANARY}))
            options = LocalOptions(root=ROOT, config=work / "pipeline.yaml", lake_dir=work / "lake", fresh=True)
            # Handlers run in this process: clients cached by an earlier platform point at its stopped moto.
            lambda_support._clients.cache_clear()
            lambda_support._config.cache_clear()
            caplog.set_level(logging.DEBUG)
            with LocalPlatform(options) as platform:
                capsys.readouterr()
                caplog.clear()  # setup stored the secret on purpose; what the run emits is under test
                result = platform.run(window=("2024-01-01", "2024-01-01"))
                assert result.status == "FAILED" and result.failure and result.failure["step"] == "Ingest"
                assert "HTTP 400" in (result.cause or "")
                assert find_canary(json.dumps(api.requests)), "the API must have received the token"
                history = json.dumps(platform.history(result.execution_arn), default=str)
                notifications = platform.published_notifications()
                assert notifications and "HTTP 400" in json.dumps(notifications)
                lake = lake_text(platform)
                assert '"status": "FAILED"' in lake  # the audit record is in there
                outputs = {
                    "execution history": history,
                    "execution result": json.dumps(result.__dict__, default=str),
                    "SNS notification": json.dumps(notifications),
                    "audit record and every other lake object": lake,
                }
        captured = capsys.readouterr()
        outputs["log"] = captured.out + captured.err + caplog.text
        assert {where: find_canary(text) for where, text in outputs.items()} == {where: [] for where in outputs}
        fault.bad_input("secret canary: whole workflow, API echoing the token")
    finally:
        shutil.rmtree(work, ignore_errors=True)
