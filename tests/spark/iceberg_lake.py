"""A curated zone for Spark tests: its own Glue databases (a project name per test lake) in the moto server of the
test module, the raw and curated buckets, and helpers that run and read it the way the workflow does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.naming import quarantine_table, run_branch
from dataplatform.transform.curated_tables import refs
from dataplatform.transform.iceberg import table_identifier
from dataplatform.transform.publish import publish_run
from dataplatform.transform.raw_input import RawInput
from dataplatform.transform.standardize_dataset import StandardizeRequest, StandardizeResult, standardize
from tests.spark.rawdata import CURATED_BUCKET, RAW_BUCKET, write_raw

CREATED = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class AwsClients:
    endpoint: str
    s3: Any
    glue: Any


class IcebergLake:
    def __init__(self, spark: SparkSession, aws: AwsClients, config: PipelineConfig, name: str) -> None:
        self.spark, self.aws = spark, aws
        self.config = config.model_copy(update={"project": name})  # own databases: `<name>_curated`
        self.database = self.config.glue_database("curated")
        self.curated_root = f"s3://{CURATED_BUCKET}/{name}/curated/"
        self.quarantine_root = f"{self.curated_root}_quarantine/"
        for bucket in (RAW_BUCKET, CURATED_BUCKET):
            if bucket not in {b["Name"] for b in aws.s3.list_buckets()["Buckets"]}:
                aws.s3.create_bucket(Bucket=bucket)
        aws.glue.create_database(DatabaseInput={"Name": self.database})  # what the stack declares

    def raw(
        self,
        dataset: str,
        run_id: str,
        fmt: str,
        parts: list[Any],
        *,
        ingest_date: date = date(2024, 3, 1),
        created_at: datetime = CREATED,
        source: dict[str, Any] | None = None,
    ) -> RawInput:
        item, _ = write_raw(
            self.aws.s3, dataset, run_id, fmt, parts, ingest_date=ingest_date, created_at=created_at, source=source
        )
        return item

    def request(self, dataset: str, run_id: str, inputs: tuple[RawInput, ...]) -> StandardizeRequest:
        return StandardizeRequest(
            dataset, run_id, self.config, inputs, curated_root=self.curated_root, quarantine_root=self.quarantine_root
        )

    def stage(self, dataset: str, run_id: str, inputs: tuple[RawInput, ...]) -> StandardizeResult:
        return standardize(self.spark, self.request(dataset, run_id, inputs))

    def publish(self, run_id: str, *results: StandardizeResult) -> dict[str, dict[str, Any]]:
        records = {r.dataset: r.record() for r in results}
        return publish_run(
            self.spark,
            self.config,
            run_id,
            records,
            curated_root=self.curated_root,
            quarantine_root=self.quarantine_root,
        )

    def run(self, dataset: str, run_id: str, inputs: tuple[RawInput, ...]) -> StandardizeResult:
        """Stage and publish, as a run whose assertions pass."""
        result = self.stage(dataset, run_id, inputs)
        self.publish(run_id, result)
        return result

    def ident(self, table: str) -> str:
        return table_identifier(self.database, table)

    def rows(self, table: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
        """Published rows (main), or the rows `run_id` staged on its branch."""
        reader = self.spark.read
        if run_id is not None:
            reader = reader.option("branch", run_branch(run_id))
        return [r.asDict(recursive=True) for r in reader.table(self.ident(table)).collect()]

    def quarantine_rows(self, dataset: str, run_id: str | None = None) -> list[dict[str, Any]]:
        rows = self.rows(quarantine_table(dataset))
        return [r for r in rows if run_id is None or r["run_id"] == run_id]

    def refs(self, table: str) -> dict[str, int]:
        from dataplatform.transform.curated_tables import IcebergTable

        return refs(self.spark, IcebergTable(self.database, table, ""))
