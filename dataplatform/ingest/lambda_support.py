"""What the three ingest Lambda handlers share: settings, clients, the time budget, metrics and logs.

The handlers stay thin (decorators + one call); this module turns the contract event into an IngestRequest,
runs it and reports rows, bytes and duration per dataset. Not imported by anything but the handlers.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict

from dataplatform.config import PipelineConfig, load_config
from dataplatform.ingest.base import IngestError, IngestRequest, TimeBudget
from dataplatform.ingest.redaction import REDACTOR, install_log_redaction
from dataplatform.ingest.runner import run_ingest
from dataplatform.ingest.secrets import SecretsManagerReader
from dataplatform.manifest import RawFile
from dataplatform.observability import Observability
from dataplatform.settings import RuntimeSettings

DEFAULT_MARGIN_S = 60.0
"""Stop starting new chunks when less than this is left (INGEST_TIME_MARGIN_S): one chunk must fit in it."""


@lru_cache(maxsize=4)
def _config(path: str) -> PipelineConfig:
    return load_config(path)


@lru_cache(maxsize=1)
def _clients() -> tuple[Any, SecretsManagerReader]:
    return boto3.client("s3"), SecretsManagerReader()


def reset_warm_state() -> None:
    """Forget what a warm Lambda container keeps (clients bound to an endpoint, parsed configs): the local runner
    calls it when a new platform starts, as a new deployment gets new containers."""
    _clients.cache_clear()
    _config.cache_clear()


class IngestEvent(BaseModel):
    """The ingest task's event (docs/contracts.md, ingest_* input); dates and run_id are checked by IngestRequest."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dataset: str
    run_id: str
    window: dict[str, str]
    ingest_date: str
    cursor: dict[str, Any] | None = None
    owner: str | None = None
    """`$$.Execution.Name`: the execution that holds the (run, dataset) lease (dataplatform/lease.py)."""


def ingest_event(event: IngestEvent, context: Any, *, kind: str, observe: Observability) -> dict[str, Any]:
    logger, metrics = observe.logger, observe.metrics
    settings = RuntimeSettings()  # type: ignore[call-arg]
    request = IngestRequest.from_event(event.model_dump())
    logger.append_keys(dataset=request.dataset, run_id=request.run_id)
    margin = float(os.environ.get("INGEST_TIME_MARGIN_S", DEFAULT_MARGIN_S))
    budget = TimeBudget(lambda: context.get_remaining_time_in_millis() / 1000.0, margin)
    s3, secrets = _clients()

    def part_stored(raw_file: RawFile) -> None:
        logger.info("raw part stored", extra={"key": raw_file.key, "rows": raw_file.rows, "bytes": raw_file.bytes})

    # Every invocation: handlers added after the container started (the runtime's, a test's) are covered too.
    install_log_redaction(getattr(logger, "_logger", logger))
    started = time.monotonic()
    try:
        result = run_ingest(
            request,
            config=_config(str(settings.config_path)),
            lake=settings.lake,
            s3=s3,
            budget=budget,
            secrets=secrets,
            expected_kind=kind,
            on_part=part_stored,
        )
    except Exception as exc:
        # The error becomes the Step Functions cause, and from there the SNS message and the audit record.
        REDACTOR.redact_exception(exc)
        logger.exception("ingest failed")
        if REDACTOR.leaks(exc):  # an exception type whose text ignores its args
            raise IngestError(REDACTOR.redact(f"{type(exc).__name__}: {exc}")) from None
        raise
    metrics.add_dimension(name="dataset", value=request.dataset)
    metrics.add_metric(name="IngestedRows", unit=MetricUnit.Count, value=result.rows)
    metrics.add_metric(name="IngestedBytes", unit=MetricUnit.Bytes, value=result.bytes)
    metrics.add_metric(name="IngestDuration", unit=MetricUnit.Seconds, value=round(time.monotonic() - started, 3))
    output = REDACTOR.redact_value(result.to_dict())
    summary = {k: v for k, v in output.items() if k != "cursor"}
    logger.info("ingest call finished", extra=summary)
    return output
