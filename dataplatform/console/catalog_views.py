"""The datasets and marts pages' views, from the API's data access (`LakeData`) and pipeline.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from dataplatform.api import models
from dataplatform.api.data_access import LakeData
from dataplatform.api.errors import ApiError
from dataplatform.console.lineage import source_detail
from dataplatform.console.run_views import duration_text

HISTORY_RUNS = 30
"""Runs of history per dataset on the datasets page."""


@dataclass(frozen=True)
class DatasetView:
    name: str
    kind: str
    description: str
    source: str
    key: tuple[str, ...]
    partition_column: str
    columns: int
    rules: int
    last_success: models.RunDataset | None
    age: str
    history: tuple[models.RunDataset, ...]
    """This dataset's records in the latest runs, oldest first (the rows-per-run chart)."""


def age_text(finished_at: str | None, now: datetime) -> str:
    if not finished_at:
        return "never"
    finished = datetime.fromisoformat(finished_at)
    finished = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
    return f"{duration_text(max((now - finished).total_seconds(), 0.0))} ago"


def datasets_page(data: LakeData, now: datetime | None = None) -> list[DatasetView]:
    now = now or datetime.now(UTC)
    records = data.dataset_runs(HISTORY_RUNS)
    views = []
    for name, dataset in data.config.datasets.items():
        history = [r for r in records if r.dataset == name]  # newest first
        last = next((r for r in history if r.status == "SUCCEEDED"), None)
        contract = dataset.contract
        views.append(
            DatasetView(
                name=name,
                kind=dataset.source.kind,
                description=dataset.description,
                source=source_detail(data.config, name),
                key=contract.key,
                partition_column=contract.partition_column,
                columns=len(contract.columns),
                rules=sum(len(c.rules) + (not c.nullable) for c in contract.columns),
                last_success=last,
                age=age_text(last.finished_at if last else None, now),
                history=tuple(reversed(history)),
            )
        )
    return views


@dataclass(frozen=True)
class MartsView:
    kpis: models.KpiSummary | None
    daily: models.DailyRevenue | None
    segments: models.CustomerSegments | None
    missing: tuple[str, ...]
    """Why a part is empty (e.g. no run has built the marts yet)."""


def marts_page(data: LakeData) -> MartsView:
    missing: list[str] = []

    def attempt(what: str, read):  # type: ignore[no-untyped-def]
        try:
            return read()
        except ApiError as error:  # a mart not built yet is a message on the page, not a failed page
            missing.append(f"{what}: {error.message}")
            return None

    kpis = attempt("KPI summary", data.kpi_summary)
    daily = attempt("daily revenue", lambda: data.daily_revenue(date(1, 1, 1), date(9999, 12, 31)))
    segments = attempt("customer segments", data.customer_segments)
    return MartsView(kpis, daily, segments, tuple(missing))
