"""The local lake on disk: restored into moto when a local run starts, dumped back when it ends.

Layout (shared with `dataplatform query` and the local Athena engine's LakeDirCatalog):
  <lake_dir>/s3/<bucket>/<key>                 exact object bytes
  <lake_dir>/glue/<database>/<table>.json      the Glue Table dict (dates as strings)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dataplatform.athena.catalog import table_input_of

LAKE_DIR_ENV = "DATAPLATFORM_LAKE_DIR"
# Glue's GetTable output has read-only fields that CreateTable/UpdateTable's TableInput rejects.


DEFAULT_LAKE_DIR = ".local-lake"


def resolve_lake_dir(explicit: Path | str | None = None) -> Path:
    """The lake every local command uses: `--lake-dir`, else $DATAPLATFORM_LAKE_DIR, else ./.local-lake."""
    return Path(explicit or os.environ.get(LAKE_DIR_ENV) or DEFAULT_LAKE_DIR).resolve()


def resources_file(lake_dir: Path, project: str) -> Path:
    """Names a local run gave the project's resources (buckets), so `land` needs no synth to find them."""
    return lake_dir / "resources" / f"{project}.json"


def write_resources(lake_dir: Path, project: str, names: dict[str, str]) -> None:
    path = resources_file(lake_dir, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(names, indent=1, sort_keys=True), encoding="utf-8")


def read_resources(lake_dir: Path, project: str) -> dict[str, str] | None:
    path = resources_file(lake_dir, project)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def restore(lake_dir: Path, s3: Any, glue: Any) -> dict[str, int]:
    """Put every persisted object and table into the (empty) moto backends. Returns counts."""
    objects = tables = 0
    s3_root = lake_dir / "s3"
    if s3_root.is_dir():
        for bucket_dir in sorted(p for p in s3_root.iterdir() if p.is_dir()):
            ensure_bucket(s3, bucket_dir.name)
            for path in sorted(p for p in bucket_dir.rglob("*") if p.is_file()):
                s3.put_object(
                    Bucket=bucket_dir.name, Key=path.relative_to(bucket_dir).as_posix(), Body=path.read_bytes()
                )
                objects += 1
    glue_root = lake_dir / "glue"
    if glue_root.is_dir():
        for db_dir in sorted(p for p in glue_root.iterdir() if p.is_dir()):
            ensure_database(glue, db_dir.name)
            for path in sorted(db_dir.glob("*.json")):
                put_table(glue, db_dir.name, table_input_of(json.loads(path.read_text())))
                tables += 1
    return {"objects": objects, "tables": tables}


def dump(lake_dir: Path, s3: Any, glue: Any) -> dict[str, int]:
    """Mirror moto's buckets and catalog onto disk exactly (objects deleted in moto are deleted on disk)."""
    objects = tables = 0
    s3_root = lake_dir / "s3"
    s3_root.mkdir(parents=True, exist_ok=True)
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        bucket_dir = s3_root / name
        wanted: set[Path] = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):
                    continue
                target = bucket_dir / obj["Key"]
                wanted.add(target)
                if target.is_file() and target.stat().st_size == obj["Size"] and _etag_matches(target, obj["ETag"]):
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=name, Key=obj["Key"])["Body"].read())
                objects += 1
        if bucket_dir.is_dir():
            for path in bucket_dir.rglob("*"):
                if path.is_file() and path not in wanted:
                    path.unlink()
    glue_root = lake_dir / "glue"
    if glue_root.exists():
        shutil.rmtree(glue_root)
    for page in glue.get_paginator("get_databases").paginate():
        for db in page["DatabaseList"]:
            for tpage in glue.get_paginator("get_tables").paginate(DatabaseName=db["Name"]):
                for table in tpage["TableList"]:
                    path = glue_root / db["Name"] / f"{table['Name']}.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(table, default=_jsonable, indent=1, sort_keys=True))
                    tables += 1
            (glue_root / db["Name"]).mkdir(parents=True, exist_ok=True)
    return {"objects_written": objects, "tables": tables}


def _etag_matches(path: Path, etag: str) -> bool:
    import hashlib

    etag = etag.strip('"')
    if "-" in etag:  # multipart: size check only
        return True
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() == etag


def ensure_bucket(s3: Any, name: str) -> None:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name)


def ensure_database(glue: Any, name: str) -> None:
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": name})


def put_table(glue: Any, database: str, table: dict[str, Any]) -> None:
    try:
        glue.create_table(DatabaseName=database, TableInput=table)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=database, TableInput=table)
