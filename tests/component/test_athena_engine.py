"""The local Athena engine: catalog tables as DuckDB views (moto Glue or a lake dir), persisted views, DDL, errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.athena.ddl import AUDIT_RUNS_DDL
from dataplatform.athena.sqlfiles import parse_sql_file
from dataplatform.config import load_config
from dataplatform.local.athena.engine import AthenaQueryError, LocalAthena
from dataplatform.local.athena.table_catalogs import LakeDirCatalog, decode_presto_view, export_lake_dir
from tests.component.athena_support import (
    BUCKET,
    clean_data,
    glue_table,
    parquet_objects,
    write_lake_dir,
    write_moto,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml")
AUDIT_DDL = parse_sql_file(AUDIT_RUNS_DDL, "ddl")  # the platform's audit table, as a user DDL file


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    write_lake_dir(tmp_path, CONFIG, clean_data())
    return tmp_path


def test_lake_dir_tables_have_typed_columns_and_partitions(lake: Path) -> None:
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        assert engine.skipped == {}
        described = engine.execute("DESCRIBE curated.transactions").rows
        types = {row[0]: row[1] for row in described}  # Hive type names, as Athena's DESCRIBE shows them
        assert types["transaction_id"] == "bigint"
        assert types["total_amount"] == "decimal(12,2)"
        assert types["transaction_date"] == "date"  # the partition column, last
        assert types["updated_at"] == "timestamp"
        assert described[-1][0] == "transaction_date"
        mapped = engine.execute(
            "SELECT transaction_id, total_amount, transaction_date, updated_at FROM curated.transactions"
        )
        assert mapped.types == ["bigint", "decimal(12,2)", "date", "timestamp"]  # the files, cast to the catalog
        by_day = engine.execute("SELECT transaction_date, count(*) FROM curated.sales GROUP BY 1 ORDER BY 1").rows
    expected: dict[date, int] = {}
    for sale in clean_data()["sales"]:
        expected[sale["transaction_date"]] = expected.get(sale["transaction_date"], 0) + 1
    assert by_day == sorted(expected.items())


def test_hidden_files_and_foreign_key_value_dirs_are_ignored(lake: Path) -> None:
    partition = lake / "s3" / BUCKET / "curated" / "sales" / "transaction_date=2024-01-05"
    (partition / "_SUCCESS").write_bytes(b"")
    (partition / ".part-00000.crc").write_bytes(b"junk")
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        assert engine.execute("SELECT count(*) FROM curated.sales").rows == [(len(clean_data()["sales"]),)]


def test_empty_table_is_queryable_with_its_columns(tmp_path: Path) -> None:
    write_lake_dir(tmp_path, CONFIG, {"products": []})
    with LocalAthena.from_lake_dir(tmp_path, CONFIG) as engine:
        result = engine.execute("SELECT * FROM curated.products")
    assert result.rows == []
    assert result.columns[-1] == "snapshot_date" and "price" in result.columns


def test_views_persist_in_the_lake_dir_as_athena_views(lake: Path) -> None:
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        engine.execute("CREATE OR REPLACE VIEW marts.big_sales AS SELECT * FROM curated.sales WHERE quantity > 3")
        engine.execute("CREATE OR REPLACE VIEW marts.big_sales_count AS SELECT count(*) AS n FROM marts.big_sales")
    stored = LakeDirCatalog(lake).get_table("retail_marts", "big_sales")
    assert stored is not None and stored["TableType"] == "VIRTUAL_VIEW"
    assert "retail_curated.sales" in decode_presto_view(stored["ViewOriginalText"])
    assert {"Name": "quantity", "Type": "int"} in stored["StorageDescriptor"]["Columns"]
    # a fresh engine (as in a new process) recreates both, dependencies in any order
    with LocalAthena.from_lake_dir(lake, CONFIG) as fresh:
        assert fresh.skipped == {}
        big = sum(1 for s in clean_data()["sales"] if s["quantity"] > 3)
        assert fresh.execute("SELECT n FROM marts.big_sales_count").rows == [(big,)]


def test_broken_view_is_skipped_and_reported(lake: Path) -> None:
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        engine.execute("CREATE OR REPLACE VIEW marts.v AS SELECT customer_name FROM curated.customers")
    (lake / "glue" / "retail_curated" / "customers.json").unlink()
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        assert "retail_marts.v" in engine.skipped
        assert engine.execute("SELECT count(*) FROM curated.sales").rows[0][0] > 0


def test_glue_catalog_in_moto(tmp_path: Path, aws_env: None) -> None:
    with mock_aws():
        glue, s3 = boto3.client("glue"), boto3.client("s3")
        write_moto(glue, s3, CONFIG, clean_data())
        with LocalAthena.from_glue(tmp_path / "cache", CONFIG, curated_bucket=BUCKET) as engine:
            for sql_file in load_sql_files(SAMPLE_SQL_DIR):
                engine.run_file(sql_file)
            total = engine.execute("SELECT count(*) FROM marts.sales_reporting").rows[0][0]
        data = clean_data()
        assert total == len(data["sales"]) + len(data["transactions"])
        view = glue.get_table(DatabaseName="retail_marts", Name="daily_revenue")["Table"]
        assert view["TableType"] == "VIRTUAL_VIEW"
        assert "retail_marts.sales_reporting" in decode_presto_view(view["ViewOriginalText"])
        # a second engine over the same catalog sees the views created by the first
        with LocalAthena.from_glue(tmp_path / "cache2", CONFIG) as again:
            assert again.skipped == {}
            assert again.execute("SELECT sum(orders) FROM marts.daily_revenue").rows == [(total,)]


def test_audit_table_reads_json_lines_with_run_date(lake: Path) -> None:
    records = [
        {"run_id": "r1", "dataset": "sales", "status": "SUCCEEDED", "window_start": "2024-01-05",
         "window_end": "2024-01-06", "raw_rows": 10, "curated_rows": 9, "quarantined_rows": 1, "duplicate_rows": 0,
         "duration_s": 3.5, "error": None},
        {"run_id": "r2", "dataset": "sales", "status": "FAILED", "window_start": "2024-01-06",
         "window_end": "2024-01-07", "raw_rows": 0, "error_step": "standardize", "error": "boom"},
    ]  # fmt: skip
    for run_date, record in zip(("2024-01-06", "2024-01-07"), records, strict=True):
        path = lake / "s3" / BUCKET / "audit" / f"run_date={run_date}" / f"run_id={record['run_id']}" / "sales.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record) + "\n")
    with LocalAthena.from_lake_dir(lake, CONFIG, curated_bucket=BUCKET) as engine:
        engine.run_file(AUDIT_DDL)
        engine.run_file(AUDIT_DDL)  # IF NOT EXISTS: idempotent
        rows = engine.execute(
            "SELECT run_id, status, run_date, window_start, curated_rows, error_step FROM audit.runs ORDER BY run_id"
        ).rows
    assert rows == [
        ("r1", "SUCCEEDED", date(2024, 1, 6), date(2024, 1, 5), 9, None),
        ("r2", "FAILED", date(2024, 1, 7), date(2024, 1, 6), None, "standardize"),
    ]
    stored = LakeDirCatalog(lake).get_table("retail_audit", "runs")
    assert stored is not None and stored["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("JsonSerDe")


def test_parse_error_reports_sql_and_position(lake: Path) -> None:
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine, pytest.raises(AthenaQueryError) as caught:
        engine.execute("SELECT customer_id,\n  product_id quantity price\nFROM curated.sales")
    error = caught.value
    assert error.stage == "parse" and (error.line, error.column) == (2, 27)  # the end of `price`
    assert "Unexpected token" in error.engine_message
    assert "query: parse failed at line 2, column 27 of the SQL" in str(error)
    assert "FROM retail_curated.sales" in str(error)


def test_engine_error_reports_both_sqls_line_and_duckdb_message(lake: Path) -> None:
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine, pytest.raises(AthenaQueryError) as caught:
        engine.execute("SELECT transaction_id,\n  no_such_column\nFROM curated.sales", source="adhoc.sql")
    error = caught.value
    assert error.stage == "execute"
    assert 'Referenced column "no_such_column" not found' in error.engine_message
    assert error.line == 3  # line of the pretty-printed DuckDB SQL, which the message shows numbered
    message = str(error)
    assert message.startswith("adhoc.sql: execute failed at line 3 of the DuckDB SQL")
    assert "--- SQL:" in message and "--- DuckDB SQL:" in message and "no_such_column" in message


def test_unknown_parameter_is_a_render_error(lake: Path) -> None:
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine, pytest.raises(AthenaQueryError, match="curated_bucket"):
        engine.run_file(AUDIT_DDL)  # no curated bucket given


def test_unsupported_table_format_is_skipped(tmp_path: Path) -> None:
    table = glue_table(CONFIG, "sales")
    table["Parameters"]["classification"] = "csv"
    table["StorageDescriptor"]["InputFormat"] = "org.apache.hadoop.mapred.TextInputFormat"
    table["StorageDescriptor"]["SerdeInfo"] = {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde"}
    LakeDirCatalog(tmp_path).put_table("retail_curated", table)
    with LocalAthena.from_lake_dir(tmp_path, CONFIG) as engine:
        assert "unsupported format" in engine.skipped["retail_curated.sales"]


def test_glue_mirror_follows_rewritten_partitions_and_exports_a_lake_dir(tmp_path: Path, aws_env: None) -> None:
    with mock_aws():
        glue, s3 = boto3.client("glue"), boto3.client("s3")
        data = clean_data()
        write_moto(glue, s3, CONFIG, data)
        cache = tmp_path / "cache"
        with LocalAthena.from_glue(cache, CONFIG, curated_bucket=BUCKET) as engine:
            engine.run_file(next(f for f in load_sql_files(SAMPLE_SQL_DIR) if f.name == "sales_reporting"))
        # a merge rewrites a partition under a new file name: the old local copy must not be read again
        old_key = "curated/sales/transaction_date=2024-01-05/part-00000.zstd.parquet"
        body = s3.get_object(Bucket=BUCKET, Key=old_key)["Body"].read()
        s3.delete_object(Bucket=BUCKET, Key=old_key)
        s3.put_object(Bucket=BUCKET, Key=old_key.replace("part-00000", "part-00001"), Body=body)
        with LocalAthena.from_glue(cache, CONFIG) as engine:
            assert engine.execute("SELECT count(*) FROM curated.sales").rows == [(len(data["sales"]),)]
        lake = tmp_path / "lake"
        export_lake_dir(lake, databases=["retail_curated", "retail_marts"], buckets=[BUCKET], glue=glue, s3=s3)
    # offline: no moto any more
    assert (lake / "s3" / BUCKET / old_key.replace("part-00000", "part-00001")).is_file()
    with LocalAthena.from_lake_dir(lake, CONFIG) as offline:
        assert offline.skipped == {}
        total = offline.execute("SELECT count(*) FROM marts.sales_reporting").rows[0][0]
    assert total == len(data["sales"]) + len(data["transactions"])


def test_drop_view_removes_it_from_the_catalog_but_keeps_data(lake: Path) -> None:
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        engine.execute("CREATE OR REPLACE VIEW marts.tmp AS SELECT 1 AS one")
        engine.execute("DROP VIEW marts.tmp")
        engine.execute("DROP VIEW IF EXISTS marts.tmp")
        with pytest.raises(AthenaQueryError, match="does not exist"):
            engine.execute("DROP VIEW marts.tmp")
        engine.execute("DROP TABLE curated.customers")
    assert LakeDirCatalog(lake).get_table("retail_marts", "tmp") is None
    assert (lake / "s3" / BUCKET / "curated" / "customers").is_dir()  # like Athena: the data stays
    with LocalAthena.from_lake_dir(lake, CONFIG) as fresh, pytest.raises(AthenaQueryError, match="customers"):
        fresh.execute("SELECT * FROM curated.customers")


def test_refresh_picks_up_new_partitions(lake: Path) -> None:
    data = clean_data()
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        before = engine.execute("SELECT count(*) FROM curated.sales").rows[0][0]
        new_sale = {**data["sales"][0], "transaction_id": "S99", "transaction_date": date(2024, 1, 9)}
        write_lake_dir(lake, CONFIG, {"sales": [*data["sales"], new_sale]})
        engine.refresh()
        after = engine.execute("SELECT count(*), max(transaction_date) FROM curated.sales").rows[0]
    assert before == len(data["sales"])
    assert after == (len(data["sales"]) + 1, date(2024, 1, 9))


def test_hive_escaped_and_null_partition_values(tmp_path: Path) -> None:
    table = glue_table(CONFIG, "exchange_rates")
    table["PartitionKeys"].append({"Name": "source_tag", "Type": "string"})
    LakeDirCatalog(tmp_path).put_table("retail_curated", table)
    rows = [r for r in clean_data()["exchange_rates"] if r["rate_date"] == date(2024, 1, 5)]
    body = next(iter(parquet_objects(CONFIG, "exchange_rates", rows).values()))
    base = tmp_path / "s3" / BUCKET / "curated" / "exchange_rates" / "rate_date=2024-01-05"
    for tag in ("ecb%3Adaily", "__HIVE_DEFAULT_PARTITION__"):
        (base / f"source_tag={tag}").mkdir(parents=True)
        (base / f"source_tag={tag}" / "part-00000.parquet").write_bytes(body)
    with LocalAthena.from_lake_dir(tmp_path, CONFIG) as engine:
        got = engine.execute(
            "SELECT source_tag, rate_date, count(*) FROM curated.exchange_rates GROUP BY 1, 2 ORDER BY 1 NULLS LAST"
        ).rows
    assert got == [("ecb:daily", date(2024, 1, 5), len(rows)), (None, date(2024, 1, 5), len(rows))]
