"""write_audit: one audit JSON line per dataset for a finished (succeeded or failed) run, and the run's timeline
from its execution history (runs/<run_id>/_run/timeline.json)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from dataplatform.observability import Observability
from dataplatform.settings import RuntimeSettings
from dataplatform.workflow.audit import write_audit
from dataplatform.workflow.events import WriteAuditEvent
from dataplatform.workflow.run import parse_started_at
from dataplatform.workflow.timeline import record_timeline

observe = Observability()


@observe.handler(WriteAuditEvent)
def handler(event: WriteAuditEvent, context: LambdaContext) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    s3 = boto3.client("s3")
    if event.execution:  # before the audit lines: a run that has an audit record also has its timeline
        record_timeline(
            s3, boto3.client("stepfunctions"), settings.lake, settings.lake.curated_bucket, event.run_id,
            event.execution,
        )  # fmt: skip
    uris = write_audit(
        s3,
        settings.lake,
        run_id=event.run_id,
        datasets=event.datasets,
        window=event.window.model_dump(),
        status=event.status,
        started_at=parse_started_at(event.started_at),
        error=event.error.model_dump() if event.error else None,
        owner=event.owner,
    )
    observe.logger.info("audit written", extra={"run_id": event.run_id, "status": event.status, "uris": uris})
    return {"audit_uris": uris}
