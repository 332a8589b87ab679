"""Ingestion into the raw zone: CSV, REST and Postgres sources, the raw writer and time-budget continuation."""

from dataplatform.ingest.base import IngestError, IngestRequest, IngestResult, TimeBudget
from dataplatform.ingest.runner import run_ingest

__all__ = ["IngestError", "IngestRequest", "IngestResult", "TimeBudget", "run_ingest"]
