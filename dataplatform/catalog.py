"""Glue Data Catalog tables for curated datasets and their quarantine, so Athena sees new data with no crawler.

Curated table `<project>_curated.<dataset>`: Parquet at `curated/<dataset>/`, partitioned by the contract's date
partition column with partition projection (type date, format yyyy-MM-dd, storage.location.template), and the
touched partitions are also registered, for engines that do not read projection properties.
Quarantine table `<project>_curated.<dataset>_quarantine`: partitioned by run_id, registered per run.
Columns are only ever added (schema_drift: evolve); a column is never dropped from a table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date
from typing import Any

from dataplatform.config import PipelineConfig
from dataplatform.transform.standardize import StandardizeResult, dataset_path

PARQUET_IN = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def curated_database(config: PipelineConfig) -> str:
    return config.glue_database("curated")


def quarantine_table(dataset: str) -> str:
    return f"{dataset}_quarantine"


def _storage(columns: Iterable[tuple[str, str]], location: str) -> dict[str, Any]:
    return {
        "Columns": [{"Name": n, "Type": t} for n, t in columns],
        "Location": location,
        "InputFormat": PARQUET_IN,
        "OutputFormat": PARQUET_OUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        "Compressed": True,
    }


def _ensure_database(glue: Any, name: str) -> None:
    try:
        glue.get_database(Name=name)
    except glue.exceptions.EntityNotFoundException:
        # AlreadyExists: created concurrently by another dataset's job.
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_database(DatabaseInput={"Name": name, "Description": "Curated zone (standardized data)"})


def _existing_table(glue: Any, database: str, name: str) -> dict[str, Any] | None:
    try:
        return glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None


def _union_columns(current: dict[str, Any] | None, columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Keep the table's columns (and order), take new types from this run, append new columns."""
    if current is None:
        return columns
    new_types = dict(columns)
    old = [(c["Name"], new_types.get(c["Name"], c["Type"])) for c in current["StorageDescriptor"].get("Columns", [])]
    names = {n for n, _ in old}
    return [*old, *[(n, t) for n, t in columns if n not in names]]


def _put_table(glue: Any, database: str, table_input: dict[str, Any], exists: bool) -> None:
    if exists:
        glue.update_table(DatabaseName=database, TableInput=table_input)
    else:
        try:
            glue.create_table(DatabaseName=database, TableInput=table_input)
        except glue.exceptions.AlreadyExistsException:
            glue.update_table(DatabaseName=database, TableInput=table_input)


def _register_partitions(
    glue: Any, database: str, table: str, storage: dict[str, Any], values: list[str], locations: list[str]
) -> None:
    for start in range(0, len(values), 100):  # BatchCreatePartition takes at most 100 entries
        entries = [
            {"Values": [v], "StorageDescriptor": {**storage, "Location": loc}}
            for v, loc in zip(values[start : start + 100], locations[start : start + 100], strict=True)
        ]
        response = glue.batch_create_partition(DatabaseName=database, TableName=table, PartitionInputList=entries)
        errors = [
            e for e in response.get("Errors", []) if e["ErrorDetail"].get("ErrorCode") != "AlreadyExistsException"
        ]
        if errors:
            raise RuntimeError(f"registering partitions of {database}.{table} failed: {errors}")


def projection_start(current: dict[str, Any] | None, partition: str, floor: date, days: list[str]) -> str:
    """The projection range starts at the earliest of: quality.min_date, the current range, the new partitions."""
    candidates = [floor.isoformat(), *days]
    if current:
        old = current.get("Parameters", {}).get(f"projection.{partition}.range", "")
        if old:
            candidates.append(old.split(",")[0])
    return min(candidates)


def update_catalog(
    glue: Any,
    *,
    config: PipelineConfig,
    dataset: str,
    result: StandardizeResult,
    curated_location: str,
    quarantine_location: str,
) -> None:
    """Create or update the dataset's curated and quarantine tables and register this run's partitions.

    `curated_location` / `quarantine_location` are the s3:// roots (`--curated_root`, `--quarantine_root`).
    """
    contract = config.datasets[dataset].contract
    partition = contract.partition_column
    database = curated_database(config)
    _ensure_database(glue, database)

    location = dataset_path(curated_location, dataset)
    current = _existing_table(glue, database, dataset)
    storage = _storage(_union_columns(current, result.curated_columns), location)
    start = projection_start(current, partition, config.quality.min_date, result.partitions)
    parameters = {
        "classification": "parquet",
        "parquet.compression": "ZSTD",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        f"projection.{partition}.type": "date",
        f"projection.{partition}.format": "yyyy-MM-dd",
        f"projection.{partition}.range": f"{start},NOW+{config.quality.max_future_days}DAYS",
        f"projection.{partition}.interval": "1",
        f"projection.{partition}.interval.unit": "DAYS",
        "storage.location.template": f"{location}{partition}=${{{partition}}}/",
    }
    table_input = {
        "Name": dataset,
        "Description": config.datasets[dataset].description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": partition, "Type": "date"}],
        "StorageDescriptor": storage,
    }
    _put_table(glue, database, table_input, current is not None)
    if result.partitions:
        _register_partitions(
            glue,
            database,
            dataset,
            storage,
            result.partitions,
            [f"{location}{partition}={d}/" for d in result.partitions],
        )

    q_name = quarantine_table(dataset)
    q_location = dataset_path(quarantine_location, dataset)
    q_current = _existing_table(glue, database, q_name)
    q_storage = _storage(_union_columns(q_current, result.quarantine_columns), q_location)
    q_input = {
        "Name": q_name,
        "Description": f"Rows of {dataset} rejected by its contract, with reasons",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": "run_id", "Type": "string"}],
        "StorageDescriptor": q_storage,
    }
    _put_table(glue, database, q_input, q_current is not None)
    if result.quarantined_rows:
        _register_partitions(
            glue, database, q_name, q_storage, [result.run_id], [f"{q_location}run_id={result.run_id}/"]
        )
