"""resolve_run: execution input -> run_id, window, selected datasets and standardization waves."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from dataplatform.settings import RuntimeSettings
from dataplatform.workflow.run import parse_started_at, resolve_run

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = RuntimeSettings()  # type: ignore[call-arg]
    run = resolve_run(settings.config, settings.lake, event.get("input") or {}, parse_started_at(event["started_at"]))
    logger.info(
        "resolved run", extra={"run_id": run["run_id"], "window": run["window"], "datasets": run["dataset_names"]}
    )
    return run
