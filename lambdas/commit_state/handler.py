"""commit_state: advance every dataset's watermark to what this run's manifest proposes, all or none (conditional
puts), then release the execution's (run, dataset) leases."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from dataplatform.lease import UNNAMED_OWNER
from dataplatform.observability import Observability
from dataplatform.settings import RuntimeSettings
from dataplatform.state import commit
from dataplatform.workflow.events import CommitStateEvent

observe = Observability()


@observe.handler(CommitStateEvent)
def handler(event: CommitStateEvent, context: LambdaContext) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    owner = event.owner or UNNAMED_OWNER
    committed = commit(boto3.client("s3"), settings.lake, event.run_id, event.datasets, owner)
    observe.logger.info("committed", extra={"run_id": event.run_id, "committed": committed})
    return {"committed": committed}
