"""check_quality: count violations of the DQ assertion queries; raise QualityError on error severity."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger

from dataplatform.settings import RuntimeSettings
from dataplatform.workflow.quality import QualityError, check_quality

logger = Logger()
__all__ = ["QualityError", "handler"]


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    verdict = check_quality(
        boto3.client("athena"), boto3.client("s3"), settings.lake, event["run_id"], event["query_execution_ids"]
    )
    logger.info("quality", extra={"errors": verdict["errors"], "warnings": verdict["warnings"]})
    return verdict
