"""What the HTTP API answers: one pydantic model per response (they make the OpenAPI document), and the error body.

Money is a decimal string with its currency (`{"amount": "1234.50", "currency": "USD"}`), never a JSON number,
so no client parses it into a float. Dates are ISO strings.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
CURRENCY = r"^[A-Z]{3}$"
NAME = r"^[a-z][a-z0-9_]*$"

Scalar = str | int | float | bool | None


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(ApiModel):
    amount: Annotated[str, Field(pattern=DECIMAL_TEXT, examples=["1234.50"])]
    currency: Annotated[str, Field(pattern=CURRENCY, examples=["USD"])]


class ErrorDetail(ApiModel):
    code: Annotated[str, Field(pattern=r"^[a-z_]+$", examples=["not_found"])]
    message: str


class ErrorBody(ApiModel):
    error: ErrorDetail


class Health(ApiModel):
    status: Literal["ok"] = "ok"
    project: str


class KpiSummary(ApiModel):
    """marts.kpi_summary: headline figures over all sales, in the reporting currency."""

    total_revenue: Money
    avg_order_value: Money | None
    orders: int
    customers: int
    products: int
    total_quantity: int
    vip_customers: int
    first_order_date: date | None
    last_order_date: date | None


class CategoryRevenue(ApiModel):
    category: str | None = Field(description="product category; null for sales of products not in the catalogue")
    revenue: Money
    orders: int
    quantity: int


class RevenueByCategory(ApiModel):
    """Revenue per product category (marts.product_revenue summed), largest first."""

    categories: list[CategoryRevenue]


class DailyRevenueDay(ApiModel):
    order_date: date
    revenue: Money
    orders: int
    quantity: int
    customers: int


class DailyRevenue(ApiModel):
    days: list[DailyRevenueDay]


class MartColumn(ApiModel):
    name: str
    type: str = Field(description="Athena type; decimal values are strings, dates ISO strings")


class MartPage(ApiModel):
    mart: str
    columns: list[MartColumn]
    rows: list[dict[str, Scalar]]
    next: str | None = Field(description="pass as `next` for the following page; null on the last page")


class MartList(ApiModel):
    marts: list[str]


class RunSummary(ApiModel):
    run_id: str
    status: Literal["SUCCEEDED", "FAILED"]
    window_start: date | None
    window_end: date | None
    started_at: str | None
    finished_at: str | None
    datasets: int
    failed_datasets: int
    raw_rows: int
    curated_rows: int
    quarantined_rows: int
    duplicate_rows: int
    error_step: str | None = Field(default=None, description="the step a failed run failed in")
    error: str | None = None


class RunList(ApiModel):
    runs: list[RunSummary]


class RunDataset(ApiModel):
    run_id: str
    dataset: str
    status: str
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    raw_rows: int | None
    raw_bytes: int | None
    curated_rows: int | None
    quarantined_rows: int | None
    duplicate_rows: int | None
    watermark_previous: str | None
    watermark_committed: str | None
    error_step: str | None
    error: str | None


class RunDetail(ApiModel):
    run: RunSummary
    datasets: list[RunDataset]


class SegmentSummary(ApiModel):
    segment: str | None
    customers: int
    lifetime_value: Money


class CustomerSegments(ApiModel):
    """marts.customer_segments per segment: customers and their lifetime value, the most valuable segment first."""

    segments: list[SegmentSummary]


class DatasetInfo(ApiModel):
    name: str
    kind: str
    description: str
    uploadable: bool = Field(description="a CSV dataset reading a landing/ prefix: POST /uploads/{dataset} works")
    max_upload_bytes: int | None


class DatasetList(ApiModel):
    datasets: list[DatasetInfo]


class ReasonCount(ApiModel):
    reason: str | None
    rows: int


class QuarantineSummary(ApiModel):
    dataset: str
    run_id: str | None = Field(description="the run asked for; null: every run")
    total_rows: int
    reasons: list[ReasonCount]
    samples: list[dict[str, Scalar]] = Field(description="a few quarantined rows (original text values)")


class UploadTicket(ApiModel):
    """An S3 presigned POST: send `fields` and then the file as multipart/form-data to `url`."""

    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    content_type: Literal["text/csv"] = "text/csv"
    expires_in_s: int
