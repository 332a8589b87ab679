"""resolve_run: execution input -> run_id, window, selected datasets and standardization waves."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dataplatform.observability import Observability
from dataplatform.settings import RuntimeSettings
from dataplatform.workflow.events import ResolveRunEvent
from dataplatform.workflow.run import parse_started_at, resolve_run

observe = Observability()


@observe.handler(ResolveRunEvent)
def handler(event: ResolveRunEvent, context: LambdaContext) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    run = resolve_run(settings.config, settings.lake, event.input, parse_started_at(event.started_at))
    observe.logger.info(
        "resolved run", extra={"run_id": run["run_id"], "window": run["window"], "datasets": run["dataset_names"]}
    )
    return run
