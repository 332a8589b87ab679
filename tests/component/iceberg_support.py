"""Iceberg tables written with pyiceberg 0.12 for the local Athena tests, the way the curated zone holds them.

pyiceberg's GlueCatalog commits to a Glue Data Catalog (moto, in-process or a server) exactly as Iceberg's
GlueCatalog does for Spark: a Glue table with `Parameters.table_type = ICEBERG` and `metadata_location`. The files go
either through pyiceberg's S3 FileIO (a moto server) or, with `LakeWriteFileIO`, straight into a lake dir's
`<lake>/s3/<bucket>/<key>` layout, so a persisted lake needs no S3 at all.

pyiceberg writes copy-on-write deletes only; `add_position_deletes` commits a merge-on-read position-delete file,
what Spark's MERGE writes, through pyiceberg's snapshot producer with a delete manifest.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat, ManifestContent, ManifestFile, ManifestWriterV2
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    TimestamptzType,
)

LAKE_DIR = "lake-dir"


class LakeWriteFileIO(PyArrowFileIO):
    """pyiceberg FileIO (`py-io-impl`): `s3://bucket/key` in the metadata, the bytes in <lake>/s3/bucket/key."""

    def _file(self, location: str) -> PyArrowFile:
        scheme, _, bucket_and_key = location.partition("://")
        assert scheme == "s3", location
        local = Path(self.properties[LAKE_DIR]) / "s3" / bucket_and_key
        local.parent.mkdir(parents=True, exist_ok=True)
        return PyArrowFile(location=location, path=local.as_posix(), fs=self.fs_by_scheme("file", None))

    def new_input(self, location: str) -> PyArrowFile:
        return self._file(location)

    def new_output(self, location: str) -> PyArrowFile:
        return self._file(location)

    def delete(self, location: Any) -> None:
        Path(self._file(location if isinstance(location, str) else location.location)._path).unlink()


def lake_catalog(glue: Any, lake_dir: Path) -> GlueCatalog:
    """pyiceberg's GlueCatalog on a boto3 Glue client, files in the lake dir."""
    io_impl = f"{LakeWriteFileIO.__module__}.{LakeWriteFileIO.__qualname__}"
    return GlueCatalog("curated", client=glue, **{"py-io-impl": io_impl, LAKE_DIR: str(lake_dir)})


def server_catalog(endpoint: str) -> GlueCatalog:
    """pyiceberg's GlueCatalog and S3 FileIO against a moto server: the spike's recipe for a local run."""
    return GlueCatalog(
        "curated",
        **{
            "glue.endpoint": endpoint,
            "glue.region": "us-east-1",
            "s3.endpoint": endpoint,
            "s3.region": "us-east-1",
            "s3.path-style-access": "true",
            "s3.access-key-id": "testing",
            "s3.secret-access-key": "testing",
        },
    )


def iceberg_type(glue_type: str) -> IcebergType:
    if glue_type.startswith("decimal("):
        precision, scale = glue_type[8:-1].split(",")
        return DecimalType(int(precision), int(scale))
    return {
        "string": StringType(),
        "bigint": LongType(),
        "int": IntegerType(),
        "integer": IntegerType(),
        "double": DoubleType(),
        "boolean": BooleanType(),
        "date": DateType(),
        "timestamp": TimestampType(),
        "timestamptz": TimestamptzType(),
    }[glue_type]


def create_table(
    catalog: GlueCatalog,
    database: str,
    name: str,
    columns: list[tuple[str, str]],
    location: str,
    *,
    partition_day: str | None = None,
) -> Table:
    """A format-v2 table; `partition_day` partitions it by day(column), the curated zone's hidden partitioning."""
    fields = [
        NestedField(i + 1, column, iceberg_type(kind), required=False) for i, (column, kind) in enumerate(columns)
    ]
    schema = Schema(*fields)
    spec = PartitionSpec()
    if partition_day:
        source = next(f.field_id for f in fields if f.name == partition_day)
        spec = PartitionSpec(PartitionField(source, 1000, DayTransform(), f"{partition_day}_day"))
    catalog.create_namespace_if_not_exists(database)
    return catalog.create_table(
        f"{database}.{name}", schema, location=location, partition_spec=spec, properties={"format-version": "2"}
    )


def append_rows(table: Table, rows: list[dict[str, Any]], *, branch: str | None = None) -> int:
    """Append rows (dicts by column name) as one snapshot; returns its id."""
    data = pa.Table.from_pylist(rows, schema=table.schema().as_arrow())
    if branch is None:
        table.append(data)
        return table.current_snapshot().snapshot_id  # type: ignore[union-attr]
    table.append(data, branch=branch)
    return table.snapshot_by_name(branch).snapshot_id  # type: ignore[union-attr]


class _DeleteManifestWriter(ManifestWriterV2):
    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


def add_position_deletes(table: Table, data_file: DataFile, positions: list[int]) -> int:
    """Commit a position-delete file for rows of one data file (merge-on-read, as Spark's MERGE); returns the
    snapshot id."""
    body = pa.table({"file_path": [data_file.file_path] * len(positions), "pos": pa.array(positions, pa.int64())})
    buffer = io.BytesIO()
    pq.write_table(body, buffer)
    location = table.location_provider().new_data_location(f"delete-{data_file.file_path.rsplit('/', 1)[-1]}")
    with table.io.new_output(location).create(overwrite=True) as out:
        out.write(buffer.getvalue())
    delete_file = DataFile.from_args(
        content=DataFileContent.POSITION_DELETES,
        file_path=location,
        file_format=FileFormat.PARQUET,
        partition=data_file.partition,
        record_count=len(positions),
        file_size_in_bytes=len(buffer.getvalue()),
    )
    delete_file.spec_id = data_file.spec_id
    with table.transaction() as tx, tx.update_snapshot().fast_append() as append:
        added: list[ManifestFile] = []

        def with_delete_manifest(manifests: list[ManifestFile]) -> list[ManifestFile]:
            from pyiceberg.manifest import ManifestEntry, ManifestEntryStatus

            writer = _DeleteManifestWriter(
                table.specs()[data_file.spec_id],
                table.schema(),
                append.new_manifest_output(),
                append._snapshot_id,
                "deflate",
            )
            with writer:
                writer.add(
                    ManifestEntry.from_args(
                        status=ManifestEntryStatus.ADDED,
                        snapshot_id=append._snapshot_id,
                        sequence_number=None,
                        file_sequence_number=None,
                        data_file=delete_file,
                    )
                )
            added.append(writer.to_manifest_file())
            return manifests + added

        append._process_manifests = with_delete_manifest  # type: ignore[method-assign]
    table.refresh()
    return table.current_snapshot().snapshot_id  # type: ignore[union-attr]


def data_files(table: Table) -> Iterator[DataFile]:
    for task in table.scan().plan_files():
        yield task.file
