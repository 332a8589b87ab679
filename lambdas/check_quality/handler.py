"""check_quality: count violations of the DQ assertion queries; raise QualityError on error severity."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from dataplatform.observability import Observability
from dataplatform.settings import RuntimeSettings
from dataplatform.workflow.events import CheckQualityEvent
from dataplatform.workflow.quality import QualityError, check_quality

__all__ = ["QualityError", "handler"]

observe = Observability()


@observe.handler(CheckQualityEvent)
def handler(event: CheckQualityEvent, context: LambdaContext) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    refs = [ref.model_dump() for ref in event.query_execution_ids]
    verdict = check_quality(boto3.client("athena"), boto3.client("s3"), settings.lake, event.run_id, refs)
    observe.logger.info("quality", extra={"errors": verdict["errors"], "warnings": verdict["warnings"]})
    return verdict
