"""The API's QueryEngine for `dataplatform serve`: the same statements on the local Athena engine (DuckDB).

The statement's SQL and execution parameters go to `LocalAthena.execute` unchanged (the engine binds the
parameters into the parsed statement, `athena/parameters.py`). The engine is rebuilt when a local run has
rewritten the lake's catalog since it was built, so `serve` shows a run that finished while it was up. DuckDB
connections are not for concurrent use: one lock serializes the queries of the server's threads.
"""

from __future__ import annotations

import threading
from pathlib import Path

from dataplatform.api.data_access import Row
from dataplatform.api.errors import QueryFailed
from dataplatform.api.queries import Statement
from dataplatform.config import PipelineConfig
from dataplatform.local.athena.engine import AthenaQueryError, LocalAthena
from dataplatform.naming import Zone, glue_database


def catalog_version(lake_dir: Path) -> int:
    """Changes whenever a local run rewrites the catalog (it replaces `<lake>/glue/` on every dump)."""
    glue = lake_dir / "glue"
    if not glue.is_dir():
        return 0
    return max((p.stat().st_mtime_ns for p in [glue, *glue.rglob("*")]), default=0)


class LocalQueryEngine:
    def __init__(self, lake_dir: Path, config: PipelineConfig, curated_bucket: str | None = None) -> None:
        self.lake_dir = lake_dir
        self.config = config
        self.curated_bucket = curated_bucket
        self._lock = threading.Lock()
        self._version = -1
        self._athena: LocalAthena | None = None

    def _engine(self) -> LocalAthena:
        version = catalog_version(self.lake_dir)
        if self._athena is None or version != self._version:
            if self._athena is not None:
                self._athena.close()
            self._athena = LocalAthena.from_lake_dir(self.lake_dir, self.config, curated_bucket=self.curated_bucket)
            self._version = version
        return self._athena

    def query(self, statement: Statement) -> list[Row]:
        with self._lock:
            try:
                return self._engine().execute(statement.sql, parameters=statement.parameters).as_dicts()
            except AthenaQueryError as exc:
                raise QueryFailed(f"the local engine refused the query: {str(exc).splitlines()[0]}") from exc

    def columns(self, zone: Zone, table: str) -> list[tuple[str, str]] | None:
        with self._lock:
            found = self._engine().catalog.get_table(glue_database(self.config.project, zone), table)
        if found is None:
            return None
        columns = (found.get("StorageDescriptor") or {}).get("Columns", []) + found.get("PartitionKeys", [])
        return [(c["Name"], c["Type"]) for c in columns]

    def close(self) -> None:
        with self._lock:
            if self._athena is not None:
                self._athena.close()
                self._athena = None
