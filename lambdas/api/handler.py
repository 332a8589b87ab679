"""Lambda: the HTTP API (API Gateway HTTP API, payload 2.0). Routes and models: dataplatform/api/app.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from dataplatform.api.app import ApiApp, ApiServices
from dataplatform.api.athena_engine import AthenaQueryEngine
from dataplatform.api.data_access import LakeData
from dataplatform.api.run_records import RunRecords, S3RecordStore
from dataplatform.naming import workgroup_name
from dataplatform.observability import Observability
from dataplatform.settings import RuntimeSettings

observe = Observability()
settings = RuntimeSettings()  # type: ignore[call-arg]
config = settings.config
engine = AthenaQueryEngine(
    project=config.project,
    workgroup=workgroup_name(config.project),
    timeout_s=config.api.query_timeout_s,
    reuse_minutes=config.api.result_reuse_minutes,
)
s3 = boto3.client("s3")
records = RunRecords(S3RecordStore(s3, settings.curated_bucket))
marts = tuple(m for m in os.environ.get("API_MARTS", "").split(",") if m)
app = ApiApp(
    ApiServices(
        data=LakeData(engine, config, marts=marts, records=records),
        # Regional, virtual-hosted URLs: the presigned POST goes straight to the raw bucket's own endpoint.
        s3=boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"})),
        raw_bucket=settings.raw_bucket,
        sql_dir=Path(__file__).resolve().parent / "sql",  # bundled beside the handler (infra/api.py)
    )
)


@observe.http_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app(event, context)
