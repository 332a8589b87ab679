"""The API's QueryEngine on AWS: Athena through awswrangler (from the managed AWS SDK for pandas layer).

Each statement goes to Athena with its values as execution parameters (`paramstyle="qmark"`: awswrangler passes
them unchanged as ExecutionParameters, nothing is formatted client-side) and with Athena's own result reuse on
(awswrangler's client-side cache is not used: it matches on the SQL text only, so it would hand one parameter's
result to another). The request waits at most `api.query_timeout_s`; a query still running then is left running
and the request answers 503 with Retry-After, so the retry finds the finished result through result reuse.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from dataplatform.api.data_access import Row
from dataplatform.api.errors import QueryFailed, QueryTimeout
from dataplatform.api.queries import Statement
from dataplatform.naming import Zone, glue_database

POLL_S = 0.25


def _python(value: Any) -> Any:
    """A pandas/numpy cell as a plain Python value (NA and NaT as None)."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        stamp = value.to_pydatetime()
        return stamp if isinstance(stamp, datetime) else None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, date):  # numpy scalars
        return value.item()
    try:
        if value != value:  # pandas.NA and other missing markers compare unequal to themselves
            return None
    except TypeError:  # pandas.NA raises on bool()
        return None
    return value


class AthenaQueryEngine:
    def __init__(
        self,
        *,
        project: str,
        workgroup: str,
        timeout_s: float,
        reuse_minutes: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.project = project
        self.workgroup = workgroup
        self.timeout_s = timeout_s
        self.reuse_minutes = reuse_minutes
        self.clock = clock
        self.sleep = sleep

    def _reuse(self) -> dict[str, Any] | None:
        if not self.reuse_minutes:
            return None
        return {"ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": self.reuse_minutes}}

    def query(self, statement: Statement) -> list[Row]:
        import awswrangler as wr  # from the layer; imported on first query so /health stays a light cold start

        deadline = self.clock() + self.timeout_s
        query_id = wr.athena.start_query_execution(
            sql=statement.sql,
            params=list(statement.parameters) or None,
            paramstyle="qmark",
            workgroup=self.workgroup,
            result_reuse_configuration=self._reuse(),
            wait=False,
        )
        while True:
            execution = wr.athena.get_query_execution(query_execution_id=query_id)
            state = execution["Status"]["State"]
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED"):
                reason = execution["Status"].get("StateChangeReason", state)
                raise QueryFailed(f"Athena query {query_id} {state.lower()}: {reason}")
            if self.clock() >= deadline:
                raise QueryTimeout(
                    f"the query is still running after {self.timeout_s:g} s; retry shortly (it keeps running, and "
                    "its result is reused)",
                    retry_after_s=max(5, int(self.timeout_s)),
                )
            self.sleep(POLL_S)
        frame = wr.athena.get_query_results(query_execution_id=query_id)
        columns = [str(c) for c in frame.columns]
        return [
            {c: _python(v) for c, v in zip(columns, values, strict=True)}
            for values in frame.itertuples(index=False, name=None)
        ]

    def columns(self, zone: Zone, table: str) -> list[tuple[str, str]] | None:
        import awswrangler as wr

        types = wr.catalog.get_table_types(
            database=glue_database(self.project, zone), table=table, filter_iceberg_current=True
        )
        return None if types is None else list(types.items())
