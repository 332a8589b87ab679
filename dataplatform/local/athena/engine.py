"""The local Athena engine: DuckDB over the lake, Athena (Trino) SQL transpiled with sqlglot.

Every catalog table becomes a DuckDB view `"<database>"."<table>"` over its files, read lazily:
- Iceberg tables (`Parameters.table_type = ICEBERG`, the curated zone): the current snapshot through pyiceberg's
  metadata, columns by field id, position deletes applied (`iceberg_tables.py`). `FOR VERSION AS OF`,
  `FOR TIMESTAMP AS OF` and the `"t$snapshots"`, `"t$history"`, `"t$refs"` metadata tables are resolved to
  further relations before a statement is transpiled (`table_versions.py`).
- Hive tables: Parquet or JSON lines with the partition columns of the path, cast to the catalog types
  (`hive_tables.py`).
The mapping is cached per engine instance; `refresh()` maps the catalog again (the runner calls it after Glue jobs).

Statements:
- SELECT (and anything else DuckDB understands after transpiling) runs and returns rows, through the dialect layer
  (`dialect.py`): Athena semantics where DuckDB differs, a one-line refusal where the local engine cannot answer
  like Athena, and Athena's type names in `QueryResult.types`.
- SHOW and DESCRIBE are answered from the catalog (`metadata.py`), with the logical database names.
- CREATE [OR REPLACE] VIEW runs in DuckDB and is recorded in the catalog as an Athena-style VIRTUAL_VIEW, so a
  later process (e.g. `dataplatform query` after the demo) sees it; a view may read a table `FOR VERSION AS OF`.
- CREATE EXTERNAL TABLE registers the table in the catalog (like Athena's DDL) and maps it to its files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from dataplatform.athena.ddl import external_table_input
from dataplatform.athena.sqlfiles import (
    SqlFile,
    SqlFileError,
    database_names,
    parameters_from_config,
    render_sql,
)
from dataplatform.config import PipelineConfig
from dataplatform.local.athena import dialect, hive_tables, macros, metadata
from dataplatform.local.athena.iceberg_tables import IcebergTables, IcebergUnsupported, IcebergVersionError, is_iceberg
from dataplatform.local.athena.parameters import ParameterError
from dataplatform.local.athena.parameters import bind as bind_parameters
from dataplatform.local.athena.results import AthenaNotSupportedError, AthenaQueryError, QueryResult
from dataplatform.local.athena.table_catalogs import (
    Catalog,
    GlueCatalog,
    LakeDirCatalog,
    decode_presto_view,
    encode_presto_view,
)
from dataplatform.local.athena.table_versions import TableVersionError, TableVersions
from dataplatform.local.athena.types import WIDENED, UnsupportedType, athena_type, duckdb_type_to_glue
from dataplatform.naming import STAGED_ZONES, staged_database

__all__ = ["AthenaNotSupportedError", "AthenaQueryError", "LocalAthena", "QueryResult"]

READ_DIALECT = dialect.AthenaV3
DUCKDB_LINE = re.compile(r"LINE (\d+):")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def logical_database_names(project: str) -> dict[str, str]:
    """The database names `dataplatform query` accepts: the zones (`curated`, ...), and their staged twins as
    `staged_curated`, `staged_marts` (the audit step's databases), each mapped to its Glue name."""
    staged = {f"staged_{zone}": staged_database(project, zone) for zone in STAGED_ZONES}
    return {**database_names(project), **staged}


class LocalAthena:
    """DuckDB with the catalog's tables and views; `execute` takes Athena SQL."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        databases: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> None:
        self.catalog = catalog
        self.databases = dict(databases or {})
        """Logical database name -> catalog database name, applied to every statement (see sqlfiles)."""
        self.params = dict(params or {})
        self._current_db: str | None = None
        self.skipped: dict[str, str] = {}
        """`db.table` -> reason, for catalog entries that could not be mapped (unknown format, broken view)."""
        self._versions = self._table_versions()
        self.con = self._connect()
        self._map_catalog()

    def _table_versions(self) -> TableVersions:
        """Iceberg tables are loaded (and cached) per mapping of the catalog."""
        return TableVersions(self.catalog, IcebergTables(self.catalog.local_object))

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        macros.install(con, self.databases)  # Athena's session time zone and the dialect layer's macros
        self._versions.attach(con)
        return con

    # ------------------------------------------------------------ construction
    @classmethod
    def for_config(
        cls, catalog: Catalog, config: PipelineConfig | None, *, curated_bucket: str | None = None
    ) -> LocalAthena:
        if config is None:
            return cls(catalog, params={"curated_bucket": curated_bucket} if curated_bucket else {})
        return cls(
            catalog,
            databases=logical_database_names(config.project),
            params=parameters_from_config(config, curated_bucket),
        )

    @classmethod
    def from_lake_dir(
        cls, lake_dir: Path | str, config: PipelineConfig | None = None, *, curated_bucket: str | None = None
    ) -> LocalAthena:
        return cls.for_config(LakeDirCatalog(lake_dir), config, curated_bucket=curated_bucket)

    @classmethod
    def from_glue(
        cls,
        cache_dir: Path | str,
        config: PipelineConfig | None = None,
        *,
        curated_bucket: str | None = None,
        glue: Any = None,
        s3: Any = None,
    ) -> LocalAthena:
        return cls.for_config(GlueCatalog(cache_dir, glue=glue, s3=s3), config, curated_bucket=curated_bucket)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> LocalAthena:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------ catalog -> DuckDB
    def refresh(self) -> None:
        """Map the catalog again in a new DuckDB connection: picks up new files, tables, snapshots and dropped
        entries (Iceberg metadata is re-read: every commit has a new metadata location)."""
        self.con.close()
        self._versions = self._table_versions()
        self.con = self._connect()
        self._map_catalog()

    def _map_catalog(self) -> None:
        """Map every catalog table, then every view (views may read views: retried until no progress)."""
        self.skipped.clear()
        views: list[tuple[str, dict[str, Any]]] = []
        for database in self.catalog.databases():
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(database)}")
            for table in self.catalog.tables(database):
                if table.get("TableType") == "VIRTUAL_VIEW":
                    views.append((database, table))
                else:
                    self._map_table(database, table)
        pending = views
        while pending:
            failed: list[tuple[str, dict[str, Any]]] = []
            for database, table in pending:
                try:
                    self._map_view(database, table)
                    self.skipped.pop(f"{database}.{table['Name']}", None)
                except (
                    duckdb.Error,
                    ValueError,
                    LookupError,
                    FileNotFoundError,
                    sqlglot.errors.SqlglotError,
                    dialect.NotSupported,
                ) as exc:
                    self.skipped[f"{database}.{table['Name']}"] = f"view cannot be created: {exc}"
                    failed.append((database, table))
            if len(failed) == len(pending):
                break
            pending = failed

    def _map_table(self, database: str, table: dict[str, Any]) -> None:
        name = f"{database}.{table['Name']}"
        if is_iceberg(table):
            try:
                body = self._versions.iceberg.select_sql(self._versions.iceberg.load(database, table))
            except (ValueError, OSError) as exc:  # IcebergUnsupported, a missing or unreadable metadata file
                self.skipped[name] = f"Iceberg table not readable locally: {exc}"
                return
        else:
            location = (table.get("StorageDescriptor") or {}).get("Location")
            fmt = hive_tables.table_format(table)
            if not location or fmt is None:
                self.skipped[name] = f"no location or unsupported format (location={location!r}, format={fmt!r})"
                return
            body = hive_tables.select_sql(table, fmt, self.catalog.local_files(location))
        self.con.execute(f"CREATE OR REPLACE VIEW {_quote(database)}.{_quote(table['Name'])} AS {body}")

    def _map_view(self, database: str, table: dict[str, Any]) -> None:
        original = decode_presto_view(table.get("ViewOriginalText") or "")
        query = sqlglot.parse_one(original, read=READ_DIALECT)
        create = exp.Create(
            this=exp.Table(this=exp.to_identifier(table["Name"]), db=exp.to_identifier(database)),
            kind="VIEW",
            replace=True,
            expression=query,
        )
        self.con.execute(self._to_duckdb(create))

    # ------------------------------------------------------------ statements
    def render(self, sql: str, *, source: str = "<sql>") -> str:
        try:
            return render_sql(sql, self.params, self.databases, source=source)
        except SqlFileError as exc:
            raise AthenaQueryError(str(exc), sql=sql, stage="render", source=source) from exc

    def execute(
        self,
        sql: str,
        *,
        source: str | None = None,
        database: str | None = None,
        parameters: Sequence[str] | None = None,
    ) -> QueryResult:
        """Run one Athena SQL statement (logical or real database names, `{{ param }}` placeholders allowed).

        `database` is Athena's QueryExecutionContext.Database: where unqualified table names are looked up.
        `parameters` are Athena's ExecutionParameters: one SQL literal's text per `?` (`parameters.py`).
        """
        rendered = self.render(sql, source=source or "<sql>")
        self._use(database, rendered, source)
        try:
            statements = dialect.parse(rendered)
        except sqlglot.errors.ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            raise AthenaQueryError(
                first.get("description") or str(exc),
                sql=rendered,
                line=first.get("line"),
                column=first.get("col"),
                stage="parse",
                source=source,
            ) from exc
        if len(statements) != 1:
            raise AthenaQueryError(
                f"expected exactly one statement, found {len(statements)}", sql=rendered, stage="parse", source=source
            )
        statement = statements[0]
        if parameters is not None:
            try:
                statement = bind_parameters(statement, parameters, READ_DIALECT)
            except ParameterError as exc:
                raise AthenaQueryError(str(exc), sql=rendered, stage="parse", source=source) from exc
        try:
            shown = metadata.answer(statement, self.catalog, self.databases, self._current_db)
        except dialect.NotSupported as exc:
            raise AthenaNotSupportedError(str(exc), sql=rendered, stage="refuse", source=source) from exc
        except LookupError as exc:
            raise AthenaQueryError(str(exc), sql=rendered, stage="execute", source=source) from exc
        if shown is not None:
            return QueryResult(shown.columns, shown.types, shown.rows)
        if isinstance(statement, exp.Create):
            kind = (statement.kind or "").upper()
            if kind == "VIEW":
                return self._create_view(statement, rendered, source)
            if kind == "TABLE" and statement.find(exp.ExternalProperty) is not None:
                return self._create_external_table(statement, rendered, source)
        if isinstance(statement, exp.Drop) and (statement.kind or "").upper() in ("VIEW", "TABLE"):
            return self._drop(statement, rendered, source)
        return self._run(statement, rendered, source)

    def _use(self, database: str | None, rendered: str, source: str | None) -> None:
        if database is None:
            self.con.execute("USE memory.main")
            self._current_db: str | None = None
            return
        name = self.databases.get(database, database)
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", [name]
        ).fetchone()
        if not exists or not exists[0]:
            raise AthenaQueryError(
                f"database {name!r} does not exist in the catalog", sql=rendered, stage="execute", source=source
            )
        self.con.execute(f"USE {_quote(name)}")
        self._current_db = name

    def run_file(self, sql_file: SqlFile) -> QueryResult:
        return self.execute(sql_file.statement_text, source=str(sql_file.path))

    def _schema(self) -> dict[str, dict[str, dict[str, str]]]:
        """Column types of every mapped table and view, for sqlglot's type annotation."""
        schema: dict[str, dict[str, dict[str, str]]] = {}
        for db, table, column, data_type in self.con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema <> 'main'"
        ).fetchall():
            schema.setdefault(db, {}).setdefault(table, {})[column] = data_type
        return schema

    def _annotate(self, tree: exp.Expression) -> exp.Expression:
        """A statement qualified and type-annotated against the catalog's columns (for the dialect layer)."""
        schema = MappingSchema(self._schema(), dialect="duckdb")
        qualified = qualify(tree, db=self._current_db, schema=schema, dialect=READ_DIALECT)
        return annotate_types(qualified, schema=schema)

    def _to_duckdb(self, statement: exp.Expression) -> str:
        """DuckDB SQL of a statement: versioned and metadata table references resolved, then the dialect layer."""
        resolved = self._versions.resolve(statement, self._current_db, self._evaluate)
        return dialect.to_duckdb(resolved, annotate=self._annotate)

    def _evaluate(self, expression: exp.Expression) -> tuple[Any, str]:
        """The value and DuckDB type of a constant expression (a FOR ... AS OF pointer), with Athena's semantics."""
        cursor = self.con.execute(dialect.to_duckdb(exp.select(expression.copy()), annotate=self._annotate))
        row = cursor.fetchone()
        assert cursor.description is not None and row is not None
        return row[0], cursor.description[0][1].id

    def _transpile(self, statement: exp.Expression, rendered: str, source: str | None) -> str:
        try:
            return self._to_duckdb(statement)
        except dialect.NotSupported as exc:
            raise AthenaNotSupportedError(str(exc), sql=rendered, stage="refuse", source=source) from exc
        except sqlglot.errors.SqlglotError as exc:
            raise AthenaQueryError(str(exc), sql=rendered, stage="transpile", source=source) from exc
        except (TableVersionError, IcebergVersionError, IcebergUnsupported, FileNotFoundError) as exc:
            raise AthenaQueryError(str(exc), sql=rendered, stage="execute", source=source) from exc
        except duckdb.Error as exc:  # evaluating a FOR TIMESTAMP AS OF pointer
            raise AthenaQueryError(str(exc), sql=rendered, stage="execute", source=source) from exc

    def _duckdb(self, transpiled: str, rendered: str, source: str | None) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(transpiled)
        except duckdb.Error as exc:
            message = str(exc)
            if macros.REFUSAL in message:  # a macro refused a type it cannot handle like Athena
                refusal = macros.REFUSAL + message.split(macros.REFUSAL, 1)[1].splitlines()[0]
                raise AthenaNotSupportedError(refusal, sql=rendered, stage="refuse", source=source) from exc
            match = DUCKDB_LINE.search(message)
            raise AthenaQueryError(
                message,
                sql=rendered,
                transpiled=transpiled,
                line=int(match.group(1)) if match else None,
                stage="execute",
                source=source,
            ) from exc

    def _run(self, statement: exp.Expression, rendered: str, source: str | None) -> QueryResult:
        transpiled = self._transpile(statement, rendered, source)
        if metadata.uses_information_schema(statement):
            metadata.refresh_information_schema(self.con, self.catalog, self.databases)
        cursor = self._duckdb(transpiled, rendered, source)
        if cursor.description is None:
            return QueryResult([], [])
        columns = [d[0] for d in cursor.description]
        try:
            types = [athena_type(d[1]) for d in cursor.description]
        except UnsupportedType as exc:
            message = macros.REFUSAL + str(exc)
            raise AthenaNotSupportedError(message, sql=rendered, stage="refuse", source=source) from exc
        rows = cursor.fetchall()
        for i, d in enumerate(cursor.description):  # a hugeint sum is Trino's bigint: same range, same overflow
            values = (row[i] for row in rows if row[i] is not None)
            if d[1].id in WIDENED and any(not BIGINT_MIN <= v <= BIGINT_MAX for v in values):
                message = f"bigint overflow in column {d[0]}"
                raise AthenaQueryError(message, sql=rendered, stage="execute", source=source)
        return QueryResult(columns, types, rows)

    def _create_view(self, statement: exp.Create, rendered: str, source: str | None) -> QueryResult:
        table = statement.find(exp.Table)
        if table is None or not table.db:
            raise AthenaQueryError(
                "CREATE VIEW needs a database-qualified name (e.g. marts.my_view)",
                sql=rendered,
                stage="parse",
                source=source,
            )
        database, name = table.db, table.name
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(database)}")
        self._run(statement, rendered, source)
        described = self.con.execute(f"DESCRIBE {_quote(database)}.{_quote(name)}").fetchall()
        glue_columns, presto_columns = [], []
        for column_name, column_type, *_ in described:
            glue_type, presto_type = duckdb_type_to_glue(str(column_type))
            glue_columns.append({"Name": column_name, "Type": glue_type})
            presto_columns.append({"name": column_name, "type": presto_type})
        original_sql = statement.expression.sql(dialect="trino")
        self.catalog.put_table(
            database,
            {
                "Name": name,
                "TableType": "VIRTUAL_VIEW",
                "Parameters": {"presto_view": "true", "comment": "Presto View"},
                "ViewOriginalText": encode_presto_view(original_sql, database, presto_columns),
                "ViewExpandedText": "/* Presto View */",
                "PartitionKeys": [],
                "StorageDescriptor": {"Columns": glue_columns, "SerdeInfo": {}},
            },
        )
        return QueryResult([], [])

    def _drop(self, statement: exp.Drop, rendered: str, source: str | None) -> QueryResult:
        """DROP VIEW / DROP TABLE: the catalog entry goes (never the data, as in Athena), then the DuckDB view."""
        table = statement.find(exp.Table)
        if table is None or not table.db:
            raise AthenaQueryError("DROP needs a database-qualified name", sql=rendered, stage="parse", source=source)
        existed = self.catalog.delete_table(table.db, table.name)
        if not existed and not statement.args.get("exists"):
            raise AthenaQueryError(
                f"{table.db}.{table.name} does not exist", sql=rendered, stage="execute", source=source
            )
        self.con.execute(f"DROP VIEW IF EXISTS {_quote(table.db)}.{_quote(table.name)}")
        return QueryResult([], [])

    def _create_external_table(self, statement: exp.Create, rendered: str, source: str | None) -> QueryResult:
        table = statement.find(exp.Table)
        if table is None or not table.db:
            raise AthenaQueryError(
                "CREATE EXTERNAL TABLE needs a database-qualified name", sql=rendered, stage="parse", source=source
            )
        database, name = table.db, table.name
        existing = self.catalog.get_table(database, name)
        if existing is not None and statement.args.get("exists"):
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(database)}")
            self._map_table(database, existing)
            return QueryResult([], [])
        table_input = external_table_input(statement, name)
        fmt = hive_tables.table_format(table_input)
        if fmt is None:
            raise AthenaQueryError(
                "the local engine reads Parquet and JSON tables only (ROW FORMAT SERDE / STORED AS)",
                sql=rendered,
                stage="execute",
                source=source,
            )
        self.catalog.put_table(database, table_input)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(database)}")
        self._map_table(database, table_input)
        return QueryResult([], [])
