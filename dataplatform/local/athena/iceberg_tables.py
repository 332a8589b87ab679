"""Iceberg tables of the catalog as DuckDB relations: a snapshot's rows, and the metadata tables Athena shows.

How a table is read (the design):
- A catalog table is Iceberg when `Parameters.table_type` is `ICEBERG`; `Parameters.metadata_location` names its
  current metadata.json. That is what Iceberg's GlueCatalog commits (Spark's and pyiceberg's alike), in Glue and
  therefore in the persisted lake dir (`<lake>/glue/<db>/<table>.json` is the Glue Table dict).
- pyiceberg 0.12 parses the metadata (schemas, snapshots, refs, snapshot log) and plans a snapshot's files: the data
  files and the delete files that apply to them. The table format's rules stay in the library; this module never
  reads a manifest itself.
- Every byte comes through one FileIO, `LakeFileIO`: `s3://bucket/key` is `<lake>/s3/bucket/key`, the lake-dir
  layout. For `dataplatform query` over a persisted lake (no AWS API running) that is all there is: a StaticTable
  read from the table's metadata_location. During a local run the catalog is Glue in moto, and the catalog fetches
  an object the lake dir lacks through its boto3 S3 client (the clients the runner built, so a role's credentials
  apply); Iceberg never rewrites a file, so a local copy is never stale. pyiceberg's own GlueCatalog and S3 FileIO
  would read the same objects, but would need the moto endpoint and credentials passed a second way, and could not
  read the in-process moto that the component tests use.
- DuckDB reads the data files itself, lazily, like the Hive tables: a view over `read_parquet` with columns matched
  by Iceberg field id (renamed and added columns are right; older files give NULL for new columns), and Iceberg's
  position deletes (merge-on-read, what Spark's MERGE writes) applied by an anti-join on (data file, row position),
  the spec's rule. pyiceberg's `to_arrow()` would do the same eagerly, materializing every table in memory whenever
  the engine maps the catalog; a view costs nothing until a query reads it.
- What DuckDB cannot read like Athena is refused with the reason (the engine lists it as not queryable): equality
  deletes, ORC or Avro data files, an empty struct, files without field ids (a name mapping), format v3. Nested
  columns (the quarantine's `_reasons`, array<struct<...>>) are read with their fields matched by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.io import InputFile, OutputFile
    from pyiceberg.schema import Schema
    from pyiceberg.table import StaticTable

ICEBERG = "ICEBERG"
METADATA_TABLES = ("snapshots", "history", "refs")
"""Metadata tables served, with Trino's (Athena engine v3's) column names and types."""
OTHER_METADATA_TABLES = ("files", "manifests", "partitions", "properties", "entries", "metadata_log_entries")
NAME_MAPPING = "schema.name-mapping.default"


class IcebergUnsupported(ValueError):
    """A table or snapshot the local engine cannot read exactly like Athena; the message says why."""


class IcebergVersionError(LookupError):
    """No such snapshot, or no snapshot at or before the given time (Athena fails the query too)."""


def is_iceberg(table: dict[str, Any]) -> bool:
    return str((table.get("Parameters") or {}).get("table_type", "")).upper() == ICEBERG


def metadata_location(table: dict[str, Any]) -> str:
    location = (table.get("Parameters") or {}).get("metadata_location")
    if not location:
        raise IcebergUnsupported("an Iceberg table without Parameters.metadata_location")
    return str(location)


def _lake_file_io(local_object: Callable[[str], Path]) -> Any:
    from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

    class LakeFileIO(PyArrowFileIO):
        """Read-only FileIO over the lake-dir layout: `s3://bucket/key` -> `<lake>/s3/bucket/key`."""

        def new_input(self, location: str) -> InputFile:
            local = local_object(location).as_posix()
            return PyArrowFile(location=location, path=local, fs=self.fs_by_scheme("file", None))

        def new_output(self, location: str) -> OutputFile:
            raise IcebergUnsupported(f"the local engine never writes Iceberg files ({location})")

        def delete(self, location: str | InputFile | OutputFile) -> None:
            raise IcebergUnsupported(f"the local engine never deletes Iceberg files ({location})")

    return LakeFileIO()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_type(field_type: Any) -> str:
    """DuckDB type of an Iceberg primitive type (Athena engine v3 reads them as Trino's Iceberg connector does)."""
    from pyiceberg import types as t

    simple = {
        t.BooleanType: "BOOLEAN",
        t.IntegerType: "INTEGER",
        t.LongType: "BIGINT",
        t.FloatType: "FLOAT",
        t.DoubleType: "DOUBLE",
        t.DateType: "DATE",
        t.TimeType: "TIME",  # Athena cannot read it either: a time result is refused by the engine
        t.TimestampType: "TIMESTAMP",  # microseconds: Athena's timestamp(6)
        t.TimestamptzType: "TIMESTAMPTZ",  # microseconds: Athena's timestamp(6) with time zone
        t.StringType: "VARCHAR",
        t.UUIDType: "UUID",  # refused when selected: Athena has no uuid for Iceberg
        t.BinaryType: "BLOB",
    }
    if isinstance(field_type, t.DecimalType):
        return f"DECIMAL({field_type.precision},{field_type.scale})"
    # Nested types: DuckDB matches the fields inside by name (the quarantine's `_reasons` is array<struct<...>>).
    if isinstance(field_type, t.ListType):
        return f"{duckdb_type(field_type.element_type)}[]"
    if isinstance(field_type, t.MapType):
        return f"MAP({duckdb_type(field_type.key_type)}, {duckdb_type(field_type.value_type)})"
    if isinstance(field_type, t.StructType):
        members = ", ".join(f"{_quote(f.name)} {duckdb_type(f.field_type)}" for f in field_type.fields)
        return f"STRUCT({members})"
    for kind, name in simple.items():
        if isinstance(field_type, kind):
            return name
    raise IcebergUnsupported(f"Iceberg type {field_type} is not supported by the local engine")


def columns_of(schema: Schema) -> list[tuple[int, str, str]]:
    """(field id, name, DuckDB type) of every top-level column."""
    from pyiceberg import types as t

    columns = []
    for field in schema.fields:
        if isinstance(field.field_type, t.StructType) and not field.field_type.fields:
            raise IcebergUnsupported(f"nested column {field.name} ({field.field_type}) is not supported locally")
        columns.append((field.field_id, field.name, duckdb_type(field.field_type)))
    return columns


class IcebergTables:
    """Loads the catalog's Iceberg tables (cached by metadata location) and renders their snapshots for DuckDB."""

    def __init__(self, local_object: Callable[[str], Path]) -> None:
        self._local_object = local_object
        self._io = _lake_file_io(local_object)
        self._tables: dict[str, StaticTable] = {}

    def load(self, database: str, table: dict[str, Any]) -> StaticTable:
        from pyiceberg.catalog.noop import NoopCatalog
        from pyiceberg.serializers import FromInputFile
        from pyiceberg.table import StaticTable

        location = metadata_location(table)
        if location not in self._tables:
            metadata = FromInputFile.table_metadata(self._io.new_input(location))
            if metadata.format_version > 2:
                raise IcebergUnsupported(f"format version {metadata.format_version} (Athena reads v1 and v2)")
            if NAME_MAPPING in metadata.properties:
                raise IcebergUnsupported("a table with a name mapping (data files without Iceberg field ids)")
            self._tables[location] = StaticTable(
                identifier=(database, table["Name"]),
                metadata=metadata,
                metadata_location=location,
                io=self._io,
                catalog=NoopCatalog("local-athena"),
            )
        return self._tables[location]

    # ------------------------------------------------------------ snapshots
    @staticmethod
    def snapshot_by_id(table: StaticTable, snapshot_id: int) -> int:
        if table.snapshot_by_id(snapshot_id) is None:
            raise IcebergVersionError(f"Iceberg snapshot ID does not exists: {snapshot_id}")  # Trino's words
        return snapshot_id

    @staticmethod
    def snapshot_as_of(table: StaticTable, epoch_millis: int, shown: str) -> int:
        """The snapshot current on main at the time (the snapshot log), as Trino's `FOR TIMESTAMP AS OF`."""
        snapshot = table.snapshot_as_of_timestamp(epoch_millis, inclusive=True)
        if snapshot is None:
            name = ".".join(table.name())
            raise IcebergVersionError(f"No version history table {name} at or before {shown}")  # Trino's words
        return snapshot.snapshot_id

    # ------------------------------------------------------------ rows
    def select_sql(self, table: StaticTable, snapshot_id: int | None = None) -> str:
        """A DuckDB SELECT of the table's rows at a snapshot (None: the current one), with the snapshot's schema."""
        from pyiceberg.manifest import DataFileContent, FileFormat

        scan = table.scan() if snapshot_id is None else table.scan(snapshot_id=snapshot_id)
        columns = columns_of(scan.projection())
        tasks = list(scan.plan_files())
        if not tasks:
            empty = ", ".join(f"CAST(NULL AS {kind}) AS {_quote(name)}" for _, name, kind in columns)
            return f"SELECT {empty} WHERE false"
        deletes: dict[str, Any] = {}
        for task in tasks:
            if task.file.file_format != FileFormat.PARQUET:
                raise IcebergUnsupported(f"{task.file.file_format} data files (the local engine reads Parquet)")
            for delete in task.delete_files:
                if delete.content != DataFileContent.POSITION_DELETES:
                    raise IcebergUnsupported("equality deletes (the local engine applies position deletes only)")
                deletes[delete.file_path] = delete
        files = self._file_list(task.file.file_path for task in tasks)
        field_map = ", ".join(
            f"{field_id}: {{name: {_literal(name)}, type: {_literal(kind)}, default_value: NULL}}"
            for field_id, name, kind in columns
        )
        projection = ", ".join(f"d.{_quote(name)}" for _, name, _ in columns)
        source = f"read_parquet({files}, schema = MAP {{{field_map}}}"
        if not deletes:
            return f"SELECT {projection} FROM {source}) AS d"
        # Position deletes name the data file by its URI; the local copy is <lake>/s3/<bucket>/<key>.
        prefix = self._lake_prefix(next(iter(tasks)).file.file_path)
        return (
            f"SELECT {projection} FROM {source}, filename = true, file_row_number = true) AS d "
            f"ANTI JOIN (SELECT file_path, pos FROM read_parquet({self._file_list(deletes)})) AS x "
            f"ON regexp_replace(x.file_path, '^[a-z0-9]+://', '') = substr(d.filename, {len(prefix) + 1}) "
            "AND x.pos = d.file_row_number"
        )

    def _file_list(self, uris: Iterable[str]) -> str:
        return "[" + ", ".join(_literal(self._local_object(uri).as_posix()) for uri in uris) + "]"

    def _lake_prefix(self, uri: str) -> str:
        """The local path prefix that stands for `s3://` (the path of `s3://b/k` minus `b/k`)."""
        path = self._local_object(uri).as_posix()
        bucket_and_key = uri.split("://", 1)[1]
        if not path.endswith(bucket_and_key):
            raise IcebergUnsupported(f"{uri} is not stored under <lake>/s3/<bucket>/<key> ({path})")
        return path[: -len(bucket_and_key)]

    # ------------------------------------------------------------ metadata tables
    @staticmethod
    def metadata_table(table: StaticTable, kind: str) -> pa.Table:
        """`$snapshots`, `$history` or `$refs` with Trino's columns (pyiceberg's inspect, whose names are Trino's);
        commit times are `timestamp(3) with time zone` and ref types BRANCH/TAG, as Trino shows them."""
        import pyarrow as pa

        inspected = {"snapshots": table.inspect.snapshots, "history": table.inspect.history, "refs": table.inspect.refs}
        result = inspected[kind]()
        fields = []
        for field in result.schema:
            if pa.types.is_timestamp(field.type):
                fields.append(pa.field(field.name, pa.timestamp("ms", tz="UTC")))  # UTC instants, naive in pyiceberg
            elif pa.types.is_dictionary(field.type):
                fields.append(pa.field(field.name, field.type.value_type))
            else:
                fields.append(field)
        return result.cast(pa.schema(fields))
