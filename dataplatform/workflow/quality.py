"""Data-quality verdict: the number of violating rows of each assertion (one value per query, never the rows)."""

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


def violation_count(athena: Any, name: str, query_execution_id: str) -> int:
    """The `violations` value of an assertion's one-row result (see SqlFile.workflow_query): one small read,
    however many rows violate the assertion. Athena repeats the column names as the first row."""
    result = athena.get_query_results(QueryExecutionId=query_execution_id, MaxResults=2)["ResultSet"]
    columns = [c["Name"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
    rows = [[d.get("VarCharValue") for d in r["Data"]] for r in result["Rows"]]
    if rows and rows[0] == columns:
        rows = rows[1:]
    if columns != ["violations"] or len(rows) != 1 or rows[0][0] is None:
        raise ValueError(
            f"assertion {name}: expected one row with the column 'violations' (the workflow counts an assertion's "
            f"rows), got columns {columns} and {len(rows)} row(s)"
        )
    return int(rows[0][0])


def check_quality(athena: Any, s3: Any, lake: Lake, run_id: str, refs: list[dict[str, Any]]) -> dict[str, Any]:
    assertions = [AssertionRef.model_validate(r) for r in refs]
    results = [
        {"name": a.name, "severity": a.severity, "violations": violation_count(athena, a.name, a.query_execution_id)}
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
