"""Postgres table or query -> typed Parquet parts, streamed with ADBC (binary COPY into Arrow).

One extract runs inside one REPEATABLE READ, READ ONLY transaction, so every row comes from the same snapshot.
Incremental loads read `lower < cursor <= upper`: `lower` is the committed watermark and `upper` is captured once
at the start (now() - lag_seconds for time columns, held below the start of any transaction still open, see
`_upper_bound`; max(cursor) otherwise) and becomes the proposed watermark. Only contract columns are read unless
the contract's schema_drift is `evolve`; numeric columns are stored as their exact text.
Rows are ordered by (cursor column, key) or, for full loads, by the key; after every stored part the position
(the last row's ordering values) is remembered, so a dropped connection or the next Lambda call resumes right
after it with a keyset predicate: no duplicate, no gap. Parts hold exactly `part_max_rows` rows and row groups
exactly `batch_rows` rows, so a continued extract writes the same files as a single pass.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataplatform.config.models import Contract, Dataset, PostgresSource
from dataplatform.ingest.base import IngestError, Progress, SourceJob, SourceServices, contract_column_test
from dataplatform.ingest.postgres_connection import (
    connection_uri,
    is_retryable,
    quote_ident,
    sql_literal,
    sqlstate,
)
from dataplatform.ingest.prefetch import prefetch
from dataplatform.ingest.secrets import SecretReader
from dataplatform.manifest import SchemaField
from dataplatform.settings import running_on_aws

__all__ = ["PostgresExtractor", "PostgresSourceError", "connection_uri", "is_retryable", "sql_literal"]

TIME_TYPES = ("timestamptz", "timestamp", "date")
BATCH_HINT_BYTES = 16 * 1024 * 1024


class PostgresSourceError(IngestError):
    """The table, query or cursor column is unusable, or the database kept failing."""


class PostgresExtractor:
    def __init__(
        self,
        source: PostgresSource,
        contract: Contract,
        secrets: SecretReader,
        *,
        connect: Callable[[str], Any] | None = None,
        max_reconnects: int = 3,
        reconnect_backoff_s: float = 1.0,
        batch_hint_bytes: int = BATCH_HINT_BYTES,
        tmp_dir: str | None = None,
    ) -> None:
        self.source, self.contract, self.secrets = source, contract, secrets
        self._connect_fn = connect
        self.max_reconnects = max_reconnects
        self.reconnect_backoff_s = reconnect_backoff_s
        self.batch_hint_bytes = batch_hint_bytes
        self.tmp_dir = tmp_dir

    @classmethod
    def for_dataset(cls, dataset: Dataset, services: SourceServices) -> PostgresExtractor:
        if not isinstance(dataset.source, PostgresSource):
            raise TypeError(f"PostgresExtractor cannot ingest a {dataset.source.kind} source")
        return cls(dataset.source, dataset.contract, services.secrets)

    # ------------------------------------------------------------------ connection
    def _connect(self) -> Any:
        name = self.source.connection_secret
        uri = connection_uri(name, self.secrets(name), self.source, on_aws=running_on_aws())
        if self._connect_fn is not None:
            return self._connect_fn(uri)
        import adbc_driver_postgresql.dbapi as dbapi

        return dbapi.connect(uri, autocommit=True)

    @property
    def relation(self) -> str:
        if self.source.query is not None:
            return f"({self.source.query}) AS src"
        assert self.source.table is not None
        return ".".join(quote_ident(p) for p in self.source.table.split("."))

    @property
    def label(self) -> str:
        return f"table '{self.source.table}'" if self.source.table else "the configured query"

    # ------------------------------------------------------------------ run with reconnects
    def run(self, job: SourceJob) -> Progress:
        pos: dict[str, Any] = dict(job.position or {})
        attempt = 0
        while True:
            try:
                return self._run_once(job, pos)
            except IngestError:
                raise
            except Exception as exc:
                if not is_retryable(exc) or attempt >= self.max_reconnects:
                    raise self._translate(exc) from exc
                attempt += 1
                time.sleep(self.reconnect_backoff_s * attempt)

    def _translate(self, exc: Exception) -> PostgresSourceError:
        state = sqlstate(exc)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if state == "42P01":
            return PostgresSourceError(f"{self.label} does not exist (SQLSTATE 42P01): {first_line}")
        if state == "42703":
            return PostgresSourceError(f"{self.label}: unknown column (SQLSTATE 42703): {first_line}")
        suffix = f" (SQLSTATE {state})" if state else ""
        return PostgresSourceError(f"extracting {self.label} failed{suffix}: {first_line}")

    def _run_once(self, job: SourceJob, pos: dict[str, Any]) -> Progress:
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if "plan" not in pos:
                pos["plan"] = self._plan(cur, job)
            # Read-only: closing the connection ends the transaction, also when stopping mid-stream.
            return self._extract(cur, job, pos)
        finally:
            with contextlib.suppress(Exception):  # closing a dead connection may fail; the first error matters
                conn.close()

    # ------------------------------------------------------------------ planning (first call only)
    def _plan(self, cur: Any, job: SourceJob) -> dict[str, Any]:
        cur.execute(f"SELECT * FROM {self.relation} LIMIT 0")
        schema: pa.Schema = cur.fetch_arrow_table().schema
        types = {f.name: (f.metadata or {}).get(b"POSTGRESQL:type", b"text").decode() for f in schema}
        key = [c.source_name for c in self.contract.columns if c.name in self.contract.key]
        missing_key = [k for k in key if k not in types]
        if missing_key:
            raise PostgresSourceError(
                f"{self.label}: key column(s) {', '.join(missing_key)} from the contract are not in its columns "
                f"({', '.join(types)})"
            )
        columns = self._selected(types)
        order = list(key)
        lower = upper = held_back = None
        if self.source.load == "incremental":
            column = self.source.cursor_column
            assert column is not None
            if column not in types:
                raise PostgresSourceError(
                    f"{self.label}: cursor column '{column}' does not exist (columns: {', '.join(types)})"
                )
            if column not in columns:
                raise PostgresSourceError(
                    f"{self.label}: cursor column '{column}' is not a contract column; schema_drift "
                    f"'{self.contract.schema_drift}' extracts only contract columns, so add it to the contract"
                )
            lower = job.previous_watermark or self.source.initial_value
            upper, held_back = self._upper_bound(cur, column, types[column], lower)
            order = [column, *[k for k in key if k != column]]
        return {
            "types": types,
            "columns": columns,
            "numeric": [c for c in columns if types[c] == "numeric"],
            "order": order,
            "lower": lower,
            "upper": upper,
            "held_back_by_transaction_since": held_back,
        }

    def _selected(self, types: dict[str, str]) -> list[str]:
        """All columns with schema_drift evolve, else only the contract's: an unreviewed column never leaves the
        database."""
        if self.contract.schema_drift == "evolve":
            return list(types)
        wanted = contract_column_test(self.contract)
        return [c for c in types if wanted(c)]

    def _upper_bound(self, cur: Any, column: str, pg_type: str, lower: str) -> tuple[str | None, str | None]:
        """(upper bound, start of the oldest open transaction when it held the bound back).

        Time cursors: now() - lag_seconds, but never at or after the start of a transaction still open in this
        database: a row it writes carries a cursor value from its start (now() is the transaction's start time)
        and becomes visible only when it commits, after this extract. The bound never goes below `lower`.
        Other cursors: max(cursor).
        """
        if pg_type not in TIME_TYPES:
            cur.execute(f"SELECT max({quote_ident(column)})::text FROM {self.relation}")
            return cur.fetchone()[0], None
        cur.execute(
            "SELECT min(xact_start)::text FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND backend_type = 'client backend'"
        )
        oldest = cur.fetchone()[0]
        clock = f"(now() - make_interval(secs => {int(self.source.lag_seconds)}))::{pg_type}"
        open_bound = (
            "NULL"
            if oldest is None
            else f"({sql_literal(oldest, 'timestamptz')} - interval '1 microsecond')::{pg_type}"
        )
        cur.execute(
            f"SELECT greatest(least({clock}, {open_bound}), {sql_literal(lower, pg_type)})::text,"
            f" {open_bound} < {clock}"
        )
        upper, held = cur.fetchone()
        return upper, oldest if held else None

    def _query(self, pos: dict[str, Any]) -> str:
        plan = pos["plan"]
        types, order = plan["types"], plan["order"]
        where: list[str] = []
        if self.source.load == "incremental":
            column = quote_ident(self.source.cursor_column or "")
            pg_type = types[self.source.cursor_column or ""]
            if plan["upper"] is None:  # an empty table: nothing to read
                where.append("false")
            else:
                where.append(f"{column} > {sql_literal(plan['lower'], pg_type)}")
                where.append(f"{column} <= {sql_literal(plan['upper'], pg_type)}")
        if pos.get("last") is not None:
            cols = ", ".join(quote_ident(c) for c in order)
            vals = ", ".join(sql_literal(pos["last"][c], types[c]) for c in order)
            where.append(f"({cols}) > ({vals})")
        # numeric travels as its exact text (stored as a string): NaN, Infinity and values wider than any
        # decimal128 arrive as written, and the standardize cast to the contract's decimal quarantines them instead
        # of crashing the extract. It is also cheaper: ADBC's binary numeric decoding costs about as much client
        # CPU as all other columns together (bench/ingest_postgres.py).
        select = ", ".join(
            f"{quote_ident(c)}::text AS {quote_ident(c)}" if c in plan["numeric"] else quote_ident(c)
            for c in plan["columns"]
        )
        sql = f"SELECT {select} FROM {self.relation}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql + " ORDER BY " + ", ".join(quote_ident(c) for c in order)

    # ------------------------------------------------------------------ types
    @staticmethod
    def _target_schema(schema: pa.Schema) -> pa.Schema:
        """Arrow types to store: opaque Postgres types (and numeric, selected as text) -> string."""
        fields = []
        for f in schema:
            typ = pa.string() if isinstance(f.type, pa.BaseExtensionType) else f.type
            fields.append(pa.field(f.name, typ))
        return pa.schema(fields)

    @staticmethod
    def _convert(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
        columns = []
        for col, field in zip(batch.columns, target, strict=True):
            if isinstance(col.type, pa.BaseExtensionType):
                col = col.storage
            if col.type != field.type:
                col = pc.cast(col, field.type)
            columns.append(col)
        return pa.RecordBatch.from_arrays(columns, schema=target)

    # ------------------------------------------------------------------ streaming
    def _extract(self, cur: Any, job: SourceJob, pos: dict[str, Any]) -> Progress:
        part_max, group_rows = self.source.part_max_rows, min(self.source.batch_rows, self.source.part_max_rows)
        order = pos["plan"]["order"]
        cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(self.batch_hint_bytes)})
        cur.execute(self._query(pos))
        reader = cur.fetch_record_batch()
        target = self._target_schema(reader.schema)
        pos["schema"] = [[f.name, str(f.type)] for f in target]
        tmp = Path(tempfile.mkdtemp(prefix="pg-parts-", dir=self.tmp_dir))
        writer: pq.ParquetWriter | None = None
        path = tmp / "part.parquet"
        buffered: list[pa.RecordBatch] = []
        buffered_rows = part_rows = 0
        last_head: pa.Table | None = None

        def write_rows(n: int) -> pa.Table:
            nonlocal buffered, buffered_rows, writer, part_rows, last_head
            table = pa.Table.from_batches(buffered, schema=target)
            head, rest = table.slice(0, n), table.slice(n)
            buffered, buffered_rows = rest.to_batches(), rest.num_rows
            if writer is None:
                # Dictionary-encode text only: on ids, amounts and timestamps it costs ~2/3 of the write CPU and
                # makes files larger (bench/ingest_postgres.py).
                text = [f.name for f in target if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
                writer = pq.ParquetWriter(path, target, compression="snappy", use_dictionary=text or False)
            writer.write_table(head, row_group_size=n)
            part_rows += n
            last_head = head
            return head

        def close_part(last_rows: pa.Table) -> None:
            nonlocal writer, part_rows
            assert writer is not None
            writer.close()
            writer = None
            raw_file = job.writer.put_file_part(job.next_part, path, part_rows, "application/vnd.apache.parquet")
            last = last_rows.slice(last_rows.num_rows - 1).to_pylist()[0]
            pos["last"] = {c: _jsonable(last[c]) for c in order}
            pos["rows"] = pos.get("rows", 0) + part_rows
            part_rows = 0
            path.unlink()
            job.part_written(raw_file)

        batches = prefetch(reader)
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                buffered.append(self._convert(batch, target))
                buffered_rows += batch.num_rows
                while buffered_rows >= min(group_rows, part_max - part_rows):
                    head = write_rows(min(group_rows, part_max - part_rows))
                    if part_rows == part_max:
                        close_part(head)
                        if job.budget.exhausted():
                            return Progress(done=False, position=pos)
            while buffered_rows:
                head = write_rows(min(group_rows, buffered_rows, part_max - part_rows))
                if part_rows == part_max:
                    close_part(head)
            if part_rows:
                assert last_head is not None
                close_part(last_head)
        finally:
            batches.close()  # joins the prefetch thread before the connection is closed
            if writer is not None:
                writer.close()
            shutil.rmtree(tmp, ignore_errors=True)
        return self._done(job, pos)

    def _done(self, job: SourceJob, pos: dict[str, Any]) -> Progress:
        plan = pos["plan"]
        proposed = plan["upper"] if self.source.load == "incremental" else None
        if self.source.load == "incremental" and proposed is None:
            proposed = job.previous_watermark  # empty table: keep the watermark
        return Progress(
            done=True,
            proposed_watermark=proposed,
            schema=[SchemaField(name=n, type=t) for n, t in pos.get("schema", [])],
            source_info={
                "kind": "postgres",
                "table": self.source.table,
                "query": self.source.query,
                "load": self.source.load,
                "cursor_column": self.source.cursor_column,
                "range": {"lower": plan["lower"], "upper": plan["upper"]},
                "held_back_by_transaction_since": plan.get("held_back_by_transaction_since"),
                "columns": plan["columns"],
                "order": plan["order"],
            },
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
