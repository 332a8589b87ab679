"""prepare_audit: the CREATE OR REPLACE VIEW statements of the staged views over this run's unpublished snapshots."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from dataplatform.observability import Observability
from dataplatform.settings import RuntimeSettings
from dataplatform.workflow.events import PrepareAuditEvent
from dataplatform.workflow.staging import staged_view_statements

observe = Observability()


@observe.handler(PrepareAuditEvent)
def handler(event: PrepareAuditEvent, context: LambdaContext) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    statements = staged_view_statements(
        settings.config, settings.lake, boto3.client("s3"), event.run_id, event.datasets, event.extra_tables
    )
    observe.logger.info("staged views", extra={"run_id": event.run_id, "views": [s["name"] for s in statements]})
    return {"statements": statements}
