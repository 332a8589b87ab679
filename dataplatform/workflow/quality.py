"""Data-quality verdict: count the violating rows each assertion query returned (Athena GetQueryResults)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from dataplatform.layout import Lake


class QualityError(RuntimeError):
    """An `error`-severity assertion found violating rows: the run fails and state is not advanced."""


class AssertionRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    severity: Literal["error", "warn"]
    query_execution_id: str


def count_result_rows(athena: Any, query_execution_id: str) -> int:
    """Rows of a SELECT's result; Athena repeats the column names as the first row of the first page."""
    rows = 0
    first = True
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_execution_id):
        page_rows = page["ResultSet"]["Rows"]
        if first and page_rows:
            columns = [c["Name"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            header = [d.get("VarCharValue") for d in page_rows[0]["Data"]]
            if header == columns:
                page_rows = page_rows[1:]
        first = False
        rows += len(page_rows)
    return rows


def check_quality(athena: Any, s3: Any, lake: Lake, run_id: str, refs: list[dict[str, Any]]) -> dict[str, Any]:
    assertions = [AssertionRef.model_validate(r) for r in refs]
    results = [
        {"name": a.name, "severity": a.severity, "violations": count_result_rows(athena, a.query_execution_id)}
        for a in assertions
    ]
    errors = [r for r in results if r["severity"] == "error" and r["violations"]]
    warnings = [r for r in results if r["severity"] == "warn" and r["violations"]]
    verdict = {"errors": len(errors), "warnings": len(warnings), "results": results}
    # Recorded before raising, so a failed run still shows which assertions fired and how often.
    s3.put_object(
        Bucket=lake.curated_bucket,
        Key=lake.run_record_key(run_id, "quality"),
        Body=json.dumps(verdict).encode(),
        ContentType="application/json",
    )
    if errors:
        detail = ", ".join(f"{r['name']} ({r['violations']} rows)" for r in errors)
        raise QualityError(f"run {run_id}: data-quality assertions failed: {detail}")
    return verdict
