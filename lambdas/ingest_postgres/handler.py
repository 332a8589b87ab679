"""Lambda: ingest one postgres dataset into the raw zone. Event and result: docs/contracts.md (ingest_postgres)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from dataplatform.ingest.lambda_support import ingest_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return ingest_event(event, context, kind="postgres", logger=logger, metrics=metrics)
