"""write_audit: one audit JSON line per dataset for a finished (succeeded or failed) run."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger

from dataplatform.settings import RuntimeSettings
from dataplatform.workflow.audit import write_audit
from dataplatform.workflow.run import parse_started_at

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    uris = write_audit(
        boto3.client("s3"),
        settings.lake,
        run_id=event["run_id"],
        datasets=list(event["datasets"]),
        window=event["window"],
        status=event["status"],
        started_at=parse_started_at(event["started_at"]),
        error=event.get("error"),
    )
    logger.info("audit written", extra={"run_id": event["run_id"], "status": event["status"], "uris": uris})
    return {"audit_uris": uris}
