"""The data-access interface of the API: typed answers from the lake, over any engine that runs Athena SQL.

`QueryEngine` is what differs between AWS and a laptop: `athena_engine.AthenaQueryEngine` (Athena through
awswrangler) and `dataplatform.local.serve_engine.LocalQueryEngine` (the local Athena engine on DuckDB). Both get
the same `queries.Statement` (SQL text plus execution parameters). `LakeData` holds everything else, so routes,
and pages added later (the run console), ask it and never see SQL or an engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from dataplatform.api import models, pagination, queries
from dataplatform.api.errors import NotFound
from dataplatform.api.run_records import RunRecords
from dataplatform.config import PipelineConfig
from dataplatform.naming import Zone

Row = dict[str, Any]


class QueryEngine(Protocol):
    def query(self, statement: queries.Statement) -> list[Row]:
        """Rows as dicts of Python values (Decimal, date, datetime, int, float, str, bool, None). Raises
        errors.QueryTimeout when the answer would take longer than the API may wait, errors.QueryFailed when
        the engine refuses the query."""
        ...

    def columns(self, zone: Zone, table: str) -> list[tuple[str, str]] | None:
        """(name, type) of a catalog table or view, partition keys included; None when it does not exist."""
        ...


def json_scalar(value: Any) -> models.Scalar:
    """A row value as JSON: decimals as exact strings, dates and timestamps as ISO strings, NaN as null."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return str(value)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class LakeData:
    engine: QueryEngine
    config: PipelineConfig
    marts: tuple[str, ...]
    """The allow-list of `GET /marts/{name}` (pipeline.yaml `api.marts`, default every mart of sql/marts)."""
    records: RunRecords | None = None
    """The workflow's run records (steps, assertions) that the console shows beside the audit table."""

    @property
    def project(self) -> str:
        return self.config.project

    def money(self, amount: Any, row: Row | None = None) -> models.Money:
        currency = (row or {}).get("currency") or self.config.reporting_currency
        return models.Money(amount=str(Decimal(str(amount))), currency=str(currency))

    # ------------------------------------------------------------ KPIs
    def kpi_summary(self) -> models.KpiSummary:
        rows = self.engine.query(queries.kpi_summary(self.project))
        if not rows:
            raise NotFound("marts.kpi_summary has no row yet: run the pipeline first")
        row = rows[0]
        average = row.get("avg_order_value")
        return models.KpiSummary(
            total_revenue=self.money(row.get("total_revenue") or 0, row),
            avg_order_value=None if average is None else self.money(average, row),
            orders=_int(row.get("orders")),
            customers=_int(row.get("customers")),
            products=_int(row.get("products")),
            total_quantity=_int(row.get("total_quantity")),
            vip_customers=_int(row.get("vip_customers")),
            first_order_date=row.get("first_order_date"),
            last_order_date=row.get("last_order_date"),
        )

    def revenue_by_category(self) -> models.RevenueByCategory:
        rows = self.engine.query(queries.revenue_by_category(self.project))
        return models.RevenueByCategory(
            categories=[
                models.CategoryRevenue(
                    category=_text(r["category"]),
                    revenue=self.money(r["revenue"] or 0, r),
                    orders=_int(r["orders"]),
                    quantity=_int(r["quantity"]),
                )
                for r in rows
            ]
        )

    def daily_revenue(self, start: date, end: date) -> models.DailyRevenue:
        rows = self.engine.query(queries.daily_revenue(self.project, start, end))
        return models.DailyRevenue(
            days=[
                models.DailyRevenueDay(
                    order_date=r["order_date"],
                    revenue=self.money(r.get("revenue") or 0, r),
                    orders=_int(r.get("orders")),
                    quantity=_int(r.get("quantity")),
                    customers=_int(r.get("customers")),
                )
                for r in rows
            ]
        )

    # ------------------------------------------------------------ marts
    def mart_page(self, name: str, limit: int, token: str | None) -> models.MartPage:
        if name not in self.marts:
            raise NotFound(f"no mart '{name}' is served here (marts: {', '.join(self.marts) or 'none'})")
        mart = self.marts[self.marts.index(name)]  # the allow-listed name, not the request's string
        offset = pagination.decode(token, mart) if token else 0
        columns = self.engine.columns("marts", mart)
        if columns is None:
            raise NotFound(f"marts.{mart} does not exist yet: run the pipeline first")
        rows = self.engine.query(queries.mart_page(self.project, mart, columns, offset, limit))
        more = len(rows) > limit
        names = [name for name, _ in columns]
        return models.MartPage(
            mart=mart,
            columns=[models.MartColumn(name=n, type=t) for n, t in columns],
            rows=[{n: json_scalar(r.get(n)) for n in names} for r in rows[:limit]],
            next=pagination.encode(mart, offset + limit) if more else None,
        )

    # ------------------------------------------------------------ runs (audit.runs)
    def _audit_exists(self) -> bool:
        return self.engine.columns("audit", "runs") is not None

    def runs(self, limit: int) -> models.RunList:
        if not self._audit_exists():  # no run has finished yet
            return models.RunList(runs=[])
        return models.RunList(runs=[_run_summary(r) for r in self.engine.query(queries.runs(self.project, limit))])

    def run(self, run_id: str) -> models.RunDetail:
        summary = self.engine.query(queries.run_summary(self.project, run_id)) if self._audit_exists() else []
        if not summary:
            raise NotFound(f"no run '{run_id}' in the audit table")
        datasets = self.engine.query(queries.run_datasets(self.project, run_id))
        return models.RunDetail(run=_run_summary(summary[0]), datasets=[_run_dataset(r) for r in datasets])

    def dataset_runs(self, runs: int) -> list[models.RunDataset]:
        """Every dataset's record in the latest `runs` runs, newest run first."""
        if not self._audit_exists():
            return []
        return [_run_dataset(r) for r in self.engine.query(queries.dataset_runs(self.project, runs))]

    def customer_segments(self) -> models.CustomerSegments:
        rows = self.engine.query(queries.customer_segments(self.project))
        return models.CustomerSegments(
            segments=[
                models.SegmentSummary(
                    segment=_text(r["segment"]),
                    customers=_int(r["customers"]),
                    lifetime_value=self.money(r["lifetime_value"] or 0, r),
                )
                for r in rows
            ]
        )

    # ------------------------------------------------------------ datasets
    def datasets(self) -> models.DatasetList:
        uploadable = self.config.uploadable_datasets()
        return models.DatasetList(
            datasets=[
                models.DatasetInfo(
                    name=name,
                    kind=ds.source.kind,
                    description=ds.description,
                    uploadable=name in uploadable,
                    max_upload_bytes=self.config.api.uploads.max_bytes(name) if name in uploadable else None,
                )
                for name, ds in self.config.datasets.items()
            ]
        )

    def dataset_name(self, name: str) -> str:
        """The configured dataset called `name` (its own string, not the request's); NotFound otherwise."""
        for known in self.config.datasets:
            if known == name:
                return known
        raise NotFound(f"no dataset '{name}' (datasets: {', '.join(self.config.datasets)})")

    def quarantine(self, name: str, run_id: str | None) -> models.QuarantineSummary:
        dataset = self.dataset_name(name)
        columns = self.engine.columns("curated", f"{dataset}_quarantine")
        if columns is None:  # nothing was ever quarantined for this dataset
            return models.QuarantineSummary(dataset=dataset, run_id=run_id, total_rows=0, reasons=[], samples=[])
        reasons = self.engine.query(queries.quarantine_reasons(self.project, dataset, run_id))
        scalar = [n for n, kind in columns if queries.ORDERABLE.match(kind)]
        samples = (
            self.engine.query(queries.quarantine_samples(self.project, dataset, run_id, scalar)) if reasons else []
        )
        return models.QuarantineSummary(
            dataset=dataset,
            run_id=run_id,
            total_rows=sum(_int(r["rows"]) for r in reasons),
            reasons=[models.ReasonCount(reason=_text(r["reason"]), rows=_int(r["rows"])) for r in reasons],
            samples=[{n: json_scalar(r.get(n)) for n in scalar} for r in samples],
        )


def _run_summary(r: Row) -> models.RunSummary:
    return models.RunSummary(
        run_id=str(r["run_id"]),
        status="FAILED" if r["status"] == "FAILED" else "SUCCEEDED",
        window_start=r.get("window_start"),
        window_end=r.get("window_end"),
        started_at=_text(r.get("started_at")),
        finished_at=_text(r.get("finished_at")),
        datasets=_int(r.get("datasets")),
        failed_datasets=_int(r.get("failed_datasets")),
        raw_rows=_int(r.get("raw_rows")),
        curated_rows=_int(r.get("curated_rows")),
        quarantined_rows=_int(r.get("quarantined_rows")),
        duplicate_rows=_int(r.get("duplicate_rows")),
        error_step=_text(r.get("error_step")),
        error=_text(r.get("error")),
    )


def _run_dataset(r: Row) -> models.RunDataset:
    duration = r.get("duration_s")
    return models.RunDataset(
        run_id=str(r["run_id"]),
        dataset=str(r["dataset"]),
        status=str(r["status"]),
        started_at=_text(r.get("started_at")),
        finished_at=_text(r.get("finished_at")),
        duration_s=None if duration is None else float(duration),
        raw_rows=_optional_int(r.get("raw_rows")),
        raw_bytes=_optional_int(r.get("raw_bytes")),
        curated_rows=_optional_int(r.get("curated_rows")),
        quarantined_rows=_optional_int(r.get("quarantined_rows")),
        duplicate_rows=_optional_int(r.get("duplicate_rows")),
        watermark_previous=_text(r.get("watermark_previous")),
        watermark_committed=_text(r.get("watermark_committed")),
        error_step=_text(r.get("error_step")),
        error=_text(r.get("error")),
    )


def defined_marts(sql_files: Sequence[Any]) -> list[str]:
    """The marts a sql/ folder defines: its views created in the marts database (`dataplatform.athena.SqlFile`)."""
    return [f.name for f in sql_files if f.kind == "view" and (f.target or "").startswith("marts.")]


def served_marts(config: PipelineConfig, defined: Sequence[str]) -> tuple[str, ...]:
    """The mart allow-list: `api.marts` if set (each must be defined), else every defined mart, sorted."""
    if config.api.marts is None:
        return tuple(sorted(defined))
    unknown = [m for m in config.api.marts if m not in defined]
    if unknown:
        raise ValueError(f"api.marts: {', '.join(unknown)} not among the marts of sql/marts ({', '.join(defined)})")
    return tuple(config.api.marts)
