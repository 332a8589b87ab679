"""Postgres table or query -> typed Parquet parts, streamed with ADBC (binary COPY into Arrow).

One extract runs inside one REPEATABLE READ, READ ONLY transaction, so every row comes from the same snapshot.
Incremental loads read `lower < cursor <= upper`: `lower` is the committed watermark and `upper` is captured once
at the start (now() - lag_seconds for time columns, max(cursor) otherwise) and becomes the proposed watermark.
Rows are ordered by (cursor column, key) or, for full loads, by the key; after every stored part the position
(the last row's ordering values) is remembered, so a dropped connection or the next Lambda call resumes right
after it with a keyset predicate: no duplicate, no gap. Parts hold exactly `part_max_rows` rows and row groups
exactly `batch_rows` rows, so a continued extract writes the same files as a single pass.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataplatform.config.models import DECIMAL_TYPE, Contract, Dataset, PostgresSource
from dataplatform.ingest.base import IngestError, Progress, SourceJob, SourceServices
from dataplatform.ingest.secrets import SecretReader, require_fields
from dataplatform.manifest import SchemaField

TIME_TYPES = ("timestamptz", "timestamp", "date")
RETRYABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40001")
"""Connection exceptions, admin/crash shutdown, cannot-connect-now, serialization failure."""
BATCH_HINT_BYTES = 16 * 1024 * 1024


class PostgresSourceError(IngestError):
    """The table, query or cursor column is unusable, or the database kept failing."""


def connection_uri(name: str, secret: dict[str, Any]) -> str:
    if secret.get("uri"):
        return str(secret["uri"])
    host, user, password, dbname = require_fields(name, secret, "host", "username", "password", "dbname")
    port = secret.get("port", 5432)
    user, password, dbname = (quote(str(v), safe="") for v in (user, password, dbname))
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any, pg_type: str) -> str:
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal | int | float):
        text = str(value)
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'::" + pg_type


def _sqlstate(exc: BaseException) -> str:
    return str(getattr(exc, "sqlstate", None) or "")


def is_retryable(exc: BaseException) -> bool:
    """A dropped connection or server shutdown (worth reconnecting), not a SQL mistake."""
    state = _sqlstate(exc)
    if state:
        return state.startswith(RETRYABLE_SQLSTATES)
    text = str(exc).lower()
    return isinstance(exc, OSError | pa.ArrowException) and any(
        marker in text for marker in ("terminat", "connection", "server closed", "eof", "broken pipe", "socket")
    )


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
        uri = connection_uri(self.source.connection_secret, self.secrets(self.source.connection_secret))
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
        state = _sqlstate(exc)
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
        order = list(key)
        lower = upper = None
        if self.source.load == "incremental":
            column = self.source.cursor_column
            assert column is not None
            if column not in types:
                raise PostgresSourceError(
                    f"{self.label}: cursor column '{column}' does not exist (columns: {', '.join(types)})"
                )
            pg_type = types[column]
            if pg_type in TIME_TYPES:
                cur.execute(
                    f"SELECT ((now() - make_interval(secs => {int(self.source.lag_seconds)}))::{pg_type})::text"
                )
            else:
                cur.execute(f"SELECT max({quote_ident(column)})::text FROM {self.relation}")
            upper = cur.fetchone()[0]
            lower = job.previous_watermark or self.source.initial_value
            order = [column, *[k for k in key if k != column]]
        return {
            "types": types,
            "decimals": self._decimals(schema),
            "order": order,
            "lower": lower,
            "upper": upper,
        }

    def _decimals(self, schema: pa.Schema) -> dict[str, list[int]]:
        """(precision, scale) of every numeric column: its typmod, else the contract's decimal, else (38, 10)."""
        declared = {c.source_name: c.type for c in self.contract.columns}
        out: dict[str, list[int]] = {}
        for f in schema:
            meta = f.metadata or {}
            if meta.get(b"POSTGRESQL:type") != b"numeric":
                continue
            typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
            if typmod >= 4:
                out[f.name] = [(typmod - 4) >> 16, (typmod - 4) & 0xFFFF]
            elif (m := DECIMAL_TYPE.match(declared.get(f.name, ""))) is not None:
                out[f.name] = [int(m.group(1)), int(m.group(2))]
            else:
                out[f.name] = [38, 10]  # unconstrained numeric without a contract type
        return out

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
        # numeric travels as text: ADBC's binary numeric decoding costs about as much client CPU as all other
        # columns together (bench/ingest_postgres.py), while Arrow's string -> decimal128 cast is cheap.
        select = ", ".join(
            f"{quote_ident(c)}::text AS {quote_ident(c)}" if c in plan["decimals"] else quote_ident(c) for c in types
        )
        sql = f"SELECT {select} FROM {self.relation}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql + " ORDER BY " + ", ".join(quote_ident(c) for c in order)

    # ------------------------------------------------------------------ types
    @staticmethod
    def _target_schema(schema: pa.Schema, decimals: dict[str, list[int]]) -> pa.Schema:
        """Arrow types to store: numeric -> decimal128(p, s), other opaque Postgres types -> string."""
        fields = []
        for f in schema:
            if f.name in decimals:
                typ: pa.DataType = pa.decimal128(*decimals[f.name])
            elif isinstance(f.type, pa.BaseExtensionType):
                typ = pa.string()
            else:
                typ = f.type
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
        target = self._target_schema(reader.schema, pos["plan"]["decimals"])
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

        batches = _prefetch(reader)
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
                "order": plan["order"],
            },
        )


def _prefetch(reader: pa.RecordBatchReader, depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read the next batches in a thread while the caller converts and writes the current one.

    Arrow's reader and the Parquet writer release the GIL, so decoding COPY data and encoding Parquet overlap.
    Memory stays bounded by `depth` batches. On exit the thread is joined before the caller can close the
    connection the reader streams from.
    """
    batches: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def pump() -> None:
        try:
            for batch in reader:
                while not stop.is_set():
                    try:
                        batches.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = done
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            item = exc
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=pump, name="pg-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = batches.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
