"""The API's data access over a local lake directory: what `dataplatform serve` and `dataplatform report` read
(the local Athena engine for the audit table, marts and quarantine; the lake dir for the run records)."""

from __future__ import annotations

from pathlib import Path

from dataplatform.api.data_access import LakeData, defined_marts, served_marts
from dataplatform.api.run_records import LakeDirRecordStore, RunRecords
from dataplatform.athena import load_sql_files
from dataplatform.config import PipelineConfig, sql_dir_of
from dataplatform.local import lake_store
from dataplatform.local.serve_engine import LocalQueryEngine


def local_lake_data(config: PipelineConfig, config_file: Path, lake_dir: Path) -> tuple[LakeData, LocalQueryEngine]:
    """The data access and its engine (close the engine when done)."""
    known = lake_store.read_resources(lake_dir, config.project) or {}
    engine = LocalQueryEngine(lake_dir, config, known.get("curated_bucket"))
    marts = served_marts(config, defined_marts(load_sql_files(sql_dir_of(config, config_file))))
    records = RunRecords(LakeDirRecordStore(lake_dir, known.get("curated_bucket", "")))
    return LakeData(engine, config, marts, records), engine
