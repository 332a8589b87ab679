"""Lambda: ingest one rest dataset into the raw zone. Event and result: docs/contracts.md (ingest_rest)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dataplatform.ingest.lambda_support import IngestEvent, ingest_event
from dataplatform.observability import Observability

observe = Observability()


@observe.handler(IngestEvent)
def handler(event: IngestEvent, context: LambdaContext) -> dict[str, Any]:
    return ingest_event(event, context, kind="rest", observe=observe)
