"""commit_state: advance each dataset's watermark to what this run's manifest proposes (conditional puts)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger

from dataplatform.settings import RuntimeSettings
from dataplatform.state import commit

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    committed = commit(boto3.client("s3"), settings.lake, event["run_id"], list(event["datasets"]))
    logger.info("committed", extra={"run_id": event["run_id"], "committed": committed})
    return {"committed": committed}
