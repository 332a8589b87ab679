"""Where the local Athena engine finds table definitions and their data.

Two catalogs with the same small interface:
- `GlueCatalog`: the Glue Data Catalog through boto3 (moto, LocalStack or AWS), data from S3. Objects under a
  table's location (Hive tables), or the single objects an Iceberg table's metadata names, are copied into a local
  cache in the lake layout before DuckDB reads them, because DuckDB cannot reach moto's in-process S3 and its httpfs
  extension cannot be downloaded here.
- `LakeDirCatalog`: a persisted local lake that a fresh process opens with no AWS API running:
      <lake_dir>/s3/<bucket>/<key>              exact object bytes
      <lake_dir>/glue/<database>/<table>.json   the Glue `Table` dict as returned by get_table (dates as strings)
  `s3://bucket/key` maps to `<lake_dir>/s3/bucket/key`.

Views are stored the way Athena stores them: Glue tables of type VIRTUAL_VIEW whose ViewOriginalText holds
`/* Presto View: <base64 JSON with originalSql and columns> */`, so they persist in either catalog.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from dataplatform.layout import split_s3_uri

PRESTO_VIEW_PREFIX = "/* Presto View: "
PRESTO_VIEW_SUFFIX = " */"


class Catalog(Protocol):
    def databases(self) -> list[str]: ...

    def tables(self, database: str) -> list[dict[str, Any]]:
        """Glue `Table` dicts (Name, TableType, StorageDescriptor, PartitionKeys, Parameters, View*Text)."""
        ...

    def get_table(self, database: str, name: str) -> dict[str, Any] | None: ...

    def put_table(self, database: str, table_input: dict[str, Any]) -> None:
        """Create or replace a table from a Glue `TableInput`; creates the database if needed."""
        ...

    def delete_table(self, database: str, name: str) -> bool:
        """Remove a table or view definition (never its data); False if there was none."""
        ...

    def local_files(self, location: str) -> list[Path]:
        """Data files under an s3:// location, as local paths (hidden `_`/`.` files excluded), sorted."""
        ...

    def local_object(self, uri: str) -> Path:
        """The local path of one object (`s3://`, `s3a://` or `s3n://`), fetched into the lake layout if needed."""
        ...


def _data_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    files = []
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        # Spark and Hive write _SUCCESS, _temporary/ and .crc files next to the data: never data.
        if path.is_file() and not any(part.startswith(("_", ".")) for part in relative):
            files.append(path)
    return sorted(files)


def object_key(uri: str) -> tuple[str, str]:
    """(bucket, key) of an S3 object URI; Hadoop's s3a:// and s3n:// name the same object as s3://."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in ("s3", "s3a", "s3n"):
        raise ValueError(f"expected an s3:// URI, got {uri!r}")
    return split_s3_uri(f"s3://{rest}")


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "ViewOriginalText",
    "ViewExpandedText",
    "TableType",
    "Parameters",
)


def table_input_of(table: dict[str, Any]) -> dict[str, Any]:
    """A Glue `TableInput` from a `Table` dict (get_table returns read-only fields that create_table rejects)."""
    return {k: table[k] for k in TABLE_INPUT_KEYS if k in table}


class LakeDirCatalog:
    """The persisted local lake directory (see module docstring)."""

    def __init__(self, lake_dir: Path | str) -> None:
        self.lake_dir = Path(lake_dir)

    @property
    def glue_dir(self) -> Path:
        return self.lake_dir / "glue"

    def databases(self) -> list[str]:
        if not self.glue_dir.is_dir():
            return []
        return sorted(p.name for p in self.glue_dir.iterdir() if p.is_dir())

    def tables(self, database: str) -> list[dict[str, Any]]:
        folder = self.glue_dir / database
        if not folder.is_dir():
            return []
        tables = []
        for path in sorted(folder.glob("*.json")):
            try:
                table = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not a JSON Glue table definition: {exc}") from exc
            table.setdefault("Name", path.stem)
            table.setdefault("DatabaseName", database)
            tables.append(table)
        return tables

    def get_table(self, database: str, name: str) -> dict[str, Any] | None:
        path = self.glue_dir / database / f"{name}.json"
        if not path.is_file():
            return None
        table = json.loads(path.read_text(encoding="utf-8"))
        table.setdefault("DatabaseName", database)
        return table

    def put_table(self, database: str, table_input: dict[str, Any]) -> None:
        folder = self.glue_dir / database
        folder.mkdir(parents=True, exist_ok=True)
        table = {**table_input, "DatabaseName": database, "UpdateTime": datetime.now().astimezone()}
        path = folder / f"{table_input['Name']}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(table, indent=2, default=_json_default), encoding="utf-8")
        tmp.replace(path)  # atomic, so a concurrent reader never sees half a definition

    def delete_table(self, database: str, name: str) -> bool:
        path = self.glue_dir / database / f"{name}.json"
        if not path.is_file():
            return False
        path.unlink()
        return True

    def path_of(self, location: str) -> Path:
        bucket, key = split_s3_uri(location)
        return self.lake_dir / "s3" / bucket / key

    def local_files(self, location: str) -> list[Path]:
        return _data_files(self.path_of(location))

    def local_object(self, uri: str) -> Path:
        bucket, key = object_key(uri)
        path = self.lake_dir / "s3" / bucket / key
        if not path.is_file():
            raise FileNotFoundError(f"{uri}: not in the lake dir (expected {path})")
        return path


class GlueCatalog:
    """The Glue Data Catalog and S3 through boto3; data mirrored into `cache_dir` in the lake layout."""

    def __init__(self, cache_dir: Path | str, *, glue: Any = None, s3: Any = None) -> None:
        import boto3  # local import: the LakeDirCatalog path (the CLI) must not need AWS at all

        self.glue = glue or boto3.client("glue")
        self.s3 = s3 or boto3.client("s3")
        self.cache = LakeDirCatalog(cache_dir)

    def databases(self) -> list[str]:
        names: list[str] = []
        for page in self.glue.get_paginator("get_databases").paginate():
            names.extend(db["Name"] for db in page["DatabaseList"])
        return sorted(names)

    def tables(self, database: str) -> list[dict[str, Any]]:
        tables: list[dict[str, Any]] = []
        for page in self.glue.get_paginator("get_tables").paginate(DatabaseName=database):
            tables.extend(page["TableList"])
        return sorted(tables, key=lambda t: t["Name"])

    def get_table(self, database: str, name: str) -> dict[str, Any] | None:
        try:
            return self.glue.get_table(DatabaseName=database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def put_table(self, database: str, table_input: dict[str, Any]) -> None:
        with contextlib.suppress(self.glue.exceptions.AlreadyExistsException):
            self.glue.create_database(DatabaseInput={"Name": database})
        try:
            self.glue.create_table(DatabaseName=database, TableInput=table_input)
        except self.glue.exceptions.AlreadyExistsException:
            self.glue.update_table(DatabaseName=database, TableInput=table_input)

    def delete_table(self, database: str, name: str) -> bool:
        try:
            self.glue.delete_table(DatabaseName=database, Name=name)
        except self.glue.exceptions.EntityNotFoundException:
            return False
        return True

    def local_files(self, location: str) -> list[Path]:
        """Mirror the objects under `location` into the cache (exact bytes), then list them locally.

        Local files whose object is gone are deleted, so a partition that a merge rewrote is not read twice.
        """
        bucket, prefix = split_s3_uri(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        root = self.cache.path_of(f"s3://{bucket}/{prefix}")
        wanted: set[Path] = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):
                    continue
                target = self.cache.lake_dir / "s3" / bucket / obj["Key"]
                wanted.add(target)
                modified = obj["LastModified"].timestamp()
                if target.is_file() and target.stat().st_size == obj["Size"] and target.stat().st_mtime == modified:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, obj["Key"], str(target))
                os.utime(target, (modified, modified))
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and path not in wanted:
                    path.unlink()
        return _data_files(root)

    def local_object(self, uri: str) -> Path:
        """Objects an Iceberg table names never change once written: a local copy is fetched once."""
        bucket, key = object_key(uri)
        target = self.cache.lake_dir / "s3" / bucket / key
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
            try:
                self.s3.download_file(bucket, key, str(partial))
            except self.s3.exceptions.ClientError as exc:
                partial.unlink(missing_ok=True)
                raise FileNotFoundError(f"{uri}: {exc}") from exc
            partial.replace(target)  # atomic: a concurrent reader never sees half an object
        return target


def export_lake_dir(
    lake_dir: Path | str, *, databases: list[str], buckets: list[str], glue: Any = None, s3: Any = None
) -> None:
    """Persist a lake for later offline use (`dataplatform query`): every object of `buckets` and every Glue
    table of `databases` (views included), in the lake-dir layout."""
    source = GlueCatalog(lake_dir, glue=glue, s3=s3)
    for bucket in buckets:
        source.local_files(f"s3://{bucket}/")
    target = source.cache
    for database in databases:
        folder = target.glue_dir / database
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.json"):
            stale.unlink()
        for table in source.tables(database):
            (folder / f"{table['Name']}.json").write_text(
                json.dumps(table, indent=2, default=_json_default), encoding="utf-8"
            )


def encode_presto_view(original_sql: str, database: str, columns: list[dict[str, str]]) -> str:
    """ViewOriginalText as Athena writes it: `/* Presto View: base64(JSON) */`."""
    payload = {
        "originalSql": original_sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": columns,
        "owner": "dataplatform",
        "runAsInvoker": False,
        "properties": {},
    }
    encoded = base64.b64encode(json.dumps(payload).encode("utf-8")).decode("ascii")
    return f"{PRESTO_VIEW_PREFIX}{encoded}{PRESTO_VIEW_SUFFIX}"


def decode_presto_view(view_original_text: str) -> str:
    """The original SQL of a view stored by Athena (or by the local engine)."""
    text = view_original_text.strip()
    if not (text.startswith(PRESTO_VIEW_PREFIX) and text.endswith(PRESTO_VIEW_SUFFIX)):
        raise ValueError("ViewOriginalText is not a '/* Presto View: ... */' definition")
    encoded = text[len(PRESTO_VIEW_PREFIX) : -len(PRESTO_VIEW_SUFFIX)].strip()
    return json.loads(base64.b64decode(encoded))["originalSql"]
