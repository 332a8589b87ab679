"""The local Athena engine over Iceberg tables written by pyiceberg: the current snapshot, time travel, metadata
tables, staged views with FOR VERSION AS OF, in a persisted lake dir and through Glue in moto."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer
from pyiceberg.table import Table
from pyiceberg.types import ListType, NestedField, StringType, StructType

from dataplatform.config import load_config
from dataplatform.local.athena.engine import AthenaNotSupportedError, AthenaQueryError, LocalAthena
from dataplatform.local.athena.table_catalogs import LakeDirCatalog, export_lake_dir
from tests.component.iceberg_support import (
    add_position_deletes,
    append_rows,
    create_table,
    data_files,
    lake_catalog,
    server_catalog,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml")
DB = "retail_curated"
BUCKET = "lake-curated"
COLUMNS = [("order_id", "bigint"), ("amount", "decimal(12,2)"), ("updated_at", "timestamptz"), ("order_date", "date")]


def order(order_id: int, amount: str, day: int, micros: int = 0) -> dict[str, Any]:
    updated = datetime(2024, 1, day, 9, 30, 0, micros, tzinfo=UTC)
    return {"order_id": order_id, "amount": Decimal(amount), "updated_at": updated, "order_date": date(2024, 1, day)}


def rows_of(table: Table, snapshot_id: int | None = None) -> list[tuple[Any, ...]]:
    """pyiceberg's own reading of the table (deletes applied, snapshot schema): the oracle for the engine."""
    scan = table.scan() if snapshot_id is None else table.scan(snapshot_id=snapshot_id)
    arrow = scan.to_arrow()
    return sorted(tuple(row.values()) for row in arrow.to_pylist())


class History:
    """An `orders` table with every kind of change a curated table sees, and what each snapshot held."""

    def __init__(self, table: Table) -> None:
        self.first = append_rows(table, [order(1, "10.00", 5, 123456), order(2, "20.50", 5), order(3, "7.25", 6)])
        time.sleep(0.01)  # distinct commit milliseconds, so FOR TIMESTAMP AS OF can tell snapshots apart
        table.delete("order_id = 2")  # copy-on-write: pyiceberg rewrites the file
        self.deleted = table.current_snapshot().snapshot_id  # type: ignore[union-attr]
        time.sleep(0.01)
        with table.update_schema() as update:  # schema evolution: a new column, a renamed one
            update.add_column("channel", StringType())
            update.rename_column("amount", "total_amount")
        append_rows(table, [{**order(4, "99.99", 7), "total_amount": Decimal("99.99"), "channel": "web"}])
        time.sleep(0.01)
        file_of_day_6 = next(f for f in data_files(table) if "order_date_day=2024-01-06" in f.file_path)
        self.merged = add_position_deletes(table, file_of_day_6, [0])  # merge-on-read, as Spark's MERGE
        table.manage_snapshots().create_branch(self.merged, "run_r2").commit()
        self.staged = append_rows(table, [{**order(5, "1.00", 8), "total_amount": Decimal("1.00")}], branch="run_r2")
        table.refresh()
        self.oracle = {sid: rows_of(table, sid) for sid in (self.first, self.deleted, self.merged, self.staged)}
        self.table = table


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def lake(tmp_path: Path, aws_env: None) -> Iterator[tuple[Path, History]]:
    """A persisted lake dir (Glue tables as JSON, objects under s3/) holding the `orders` history."""
    with mock_aws():
        glue = boto3.client("glue")
        catalog = lake_catalog(glue, tmp_path)
        history = History(
            create_table(catalog, DB, "orders", COLUMNS, f"s3://{BUCKET}/curated/orders", partition_day="order_date")
        )
        export_lake_dir(tmp_path, databases=[DB], buckets=[], glue=glue, s3=boto3.client("s3"))
    yield tmp_path, history


def sorted_rows(engine: LocalAthena, sql: str) -> list[tuple[Any, ...]]:
    return sorted(engine.execute(sql).rows)


def test_current_snapshot_matches_pyiceberg_after_deletes_and_schema_evolution(lake: tuple[Path, History]) -> None:
    lake_dir, history = lake
    with LocalAthena.from_lake_dir(lake_dir, CONFIG) as engine:
        assert engine.skipped == {}
        result = engine.execute("SELECT * FROM curated.orders")
        assert result.columns == ["order_id", "total_amount", "updated_at", "order_date", "channel"]
        assert result.types == ["bigint", "decimal(12,2)", "timestamp with time zone", "date", "varchar"]
        assert sorted(result.rows) == rows_of(history.table)
        ids = [r[0] for r in sorted(result.rows)]
    assert ids == [1, 4]  # 2 deleted (copy-on-write), 3 deleted (position delete), 5 only on the branch
    assert sorted(result.rows)[0][2] == datetime(2024, 1, 5, 9, 30, 0, 123456, tzinfo=UTC)  # microseconds kept


def test_version_as_of_reads_each_snapshot_with_its_schema(lake: tuple[Path, History]) -> None:
    lake_dir, history = lake
    with LocalAthena.from_lake_dir(lake_dir, CONFIG) as engine:
        first = engine.execute(f"SELECT * FROM curated.orders FOR VERSION AS OF {history.first}")
        assert first.columns == ["order_id", "amount", "updated_at", "order_date"]  # before the rename and the add
        assert sorted(first.rows) == history.oracle[history.first]
        for snapshot in (history.deleted, history.merged, history.staged):
            got = sorted_rows(engine, f"SELECT * FROM curated.orders FOR VERSION AS OF {snapshot}")
            assert got == history.oracle[snapshot], snapshot
        aliased = engine.execute(
            f"SELECT o.order_id FROM curated.orders FOR VERSION AS OF {history.first} AS o "
            f"JOIN curated.orders FOR VERSION AS OF {history.staged} AS n ON o.order_id = n.order_id ORDER BY 1"
        )
    assert aliased.rows == [(1,)]  # in both; 2 and 3 were deleted by then


def test_timestamp_as_of_picks_the_snapshot_current_on_main_then(lake: tuple[Path, History]) -> None:
    lake_dir, history = lake
    log = {entry.snapshot_id: entry.timestamp_ms for entry in history.table.history()}
    deleted_at = datetime.fromtimestamp(log[history.deleted] / 1000, UTC)
    with LocalAthena.from_lake_dir(lake_dir, CONFIG) as engine:
        just_before = (deleted_at - timedelta(milliseconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        at = deleted_at.strftime("%Y-%m-%d %H:%M:%S.%f")
        zoned = engine.execute(f"SELECT * FROM curated.orders FOR TIMESTAMP AS OF TIMESTAMP '{just_before} UTC'")
        plain = engine.execute(f"SELECT * FROM curated.orders FOR TIMESTAMP AS OF TIMESTAMP '{at}'")  # UTC
        now = sorted_rows(engine, "SELECT * FROM curated.orders FOR TIMESTAMP AS OF current_timestamp")
        with pytest.raises(AthenaQueryError, match=r"No version history table retail_curated\.orders at or before"):
            engine.execute("SELECT * FROM curated.orders FOR TIMESTAMP AS OF DATE '2024-01-01'")
    assert sorted(zoned.rows) == history.oracle[history.first]
    assert sorted(plain.rows) == history.oracle[history.deleted]
    assert now == history.oracle[history.merged]  # main's head: the branch's snapshot was never current on main


def test_metadata_tables_have_trinos_columns_and_the_tables_history(lake: tuple[Path, History]) -> None:
    lake_dir, history = lake
    with LocalAthena.from_lake_dir(lake_dir, CONFIG) as engine:
        snapshots = engine.execute('SELECT * FROM curated."orders$snapshots" ORDER BY committed_at')
        log = engine.execute('SELECT snapshot_id, parent_id, is_current_ancestor FROM curated."orders$history"')
        refs = engine.execute('SELECT name, type, snapshot_id FROM "retail_curated"."orders$refs" ORDER BY name')
        with pytest.raises(AthenaNotSupportedError, match=r"not supported by the local engine: the \$files"):
            engine.execute('SELECT * FROM curated."orders$files"')
    assert snapshots.columns == ["committed_at", "snapshot_id", "parent_id", "operation", "manifest_list", "summary"]
    assert snapshots.types[0] == "timestamp with time zone" and snapshots.types[-1] == "map(varchar, varchar)"
    snapshot_ids = [row[1] for row in snapshots.rows]
    assert set(snapshot_ids) >= {history.first, history.deleted, history.merged, history.staged}
    assert [row[0] for row in log.rows][-1] == history.merged and history.staged not in [r[0] for r in log.rows]
    assert all(row[2] for row in log.rows)
    assert refs.rows == [("main", "BRANCH", history.merged), ("run_r2", "BRANCH", history.staged)]


def test_staged_view_with_version_as_of_survives_a_new_engine(lake: tuple[Path, History]) -> None:
    """The audit step's view (ICEBERG-PLAN decision 5), created through the engine, read by a later process."""
    lake_dir, history = lake
    statement = (  # as the workflow's prepare step writes it (quoted names)
        'CREATE OR REPLACE VIEW "retail_staged_curated"."orders" AS '
        f'SELECT * FROM "retail_curated"."orders" FOR VERSION AS OF {history.staged}'
    )
    with LocalAthena.from_lake_dir(lake_dir, CONFIG) as engine:
        engine.execute(statement)
        engine.execute(
            "CREATE OR REPLACE VIEW staged_marts.order_count AS SELECT count(*) AS n FROM staged_curated.orders"
        )
        assert sorted_rows(engine, "SELECT * FROM staged_curated.orders") == history.oracle[history.staged]
    with LocalAthena.from_lake_dir(lake_dir, CONFIG) as fresh:
        assert fresh.skipped == {}
        assert sorted_rows(fresh, "SELECT * FROM staged_curated.orders") == history.oracle[history.staged]
        assert fresh.execute("SELECT n FROM staged_marts.order_count").rows == [(len(history.oracle[history.staged]),)]
        databases = fresh.execute("SHOW DATABASES").rows
        schemata = fresh.execute("SELECT schema_name FROM information_schema.schemata ORDER BY 1").rows
        tables = fresh.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2").rows
    assert databases == [("curated",), ("staged_curated",), ("staged_marts",)]
    assert schemata == [("curated",), ("information_schema",), ("staged_curated",), ("staged_marts",)]
    assert tables == [("curated", "orders"), ("staged_curated", "orders"), ("staged_marts", "order_count")]
    stored = LakeDirCatalog(lake_dir).get_table("retail_staged_curated", "orders")
    assert stored is not None and stored["TableType"] == "VIRTUAL_VIEW"


def test_branch_names_and_unreadable_tables_are_refused(lake: tuple[Path, History]) -> None:
    lake_dir, _ = lake
    with mock_aws():
        glue = boto3.client("glue")
        glue.create_database(DatabaseInput={"Name": DB})
        nested = create_table(lake_catalog(glue, lake_dir), DB, "nested", [], f"s3://{BUCKET}/curated/nested")
        with nested.update_schema() as update:
            update.add_column("address", StructType())
        LakeDirCatalog(lake_dir).put_table(DB, glue.get_table(DatabaseName=DB, Name="nested")["Table"])
    with LocalAthena.from_lake_dir(lake_dir, CONFIG) as engine:
        with pytest.raises(AthenaNotSupportedError, match="FOR VERSION AS OF a branch or tag name"):
            engine.execute("SELECT * FROM curated.orders FOR VERSION AS OF 'run_r2'")
        assert "nested column address" in engine.skipped["retail_curated.nested"]


def test_a_quarantine_tables_reasons_array_of_structs_is_read(tmp_path: Path) -> None:
    """The quarantine table's `_reasons` is array<struct<rule, column, ...>>: its fields are matched by name."""
    reason = StructType(NestedField(11, "rule", StringType()), NestedField(12, "column", StringType()))
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_database(DatabaseInput={"Name": DB})
        table = create_table(lake_catalog(glue, tmp_path), DB, "sales_quarantine", [("run_id", "string")], "s3://b/q")
        with table.update_schema() as update:
            update.add_column("_reasons", ListType(10, reason))
        append_rows(table, [{"run_id": "r1", "_reasons": [{"rule": "cast", "column": "price"}, {"rule": "positive"}]}])
        LakeDirCatalog(tmp_path).put_table(DB, glue.get_table(DatabaseName=DB, Name="sales_quarantine")["Table"])
    with LocalAthena.from_lake_dir(tmp_path, CONFIG) as engine:
        result = engine.execute(
            'SELECT run_id, cardinality("_reasons") AS n, "_reasons"[1].rule AS first_rule, '
            '"_reasons"[2]."column" AS second_column FROM curated.sales_quarantine'
        )
        assert result.rows == [("r1", 2, "cast", None)]


def test_glue_catalog_in_moto_reads_new_snapshots_after_refresh(tmp_path: Path, aws_env: None) -> None:
    with mock_aws():
        glue, s3 = boto3.client("glue"), boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        writer = tmp_path / "writer"  # pyiceberg writes here; the objects are then put into moto's S3
        table = create_table(lake_catalog(glue, writer), DB, "orders", COLUMNS, f"s3://{BUCKET}/curated/orders")
        first = append_rows(table, [order(1, "10.00", 5)])

        def upload() -> None:
            for path in (p for p in (writer / "s3" / BUCKET).rglob("*") if p.is_file()):
                s3.put_object(
                    Bucket=BUCKET, Key=path.relative_to(writer / "s3" / BUCKET).as_posix(), Body=path.read_bytes()
                )

        upload()
        cache = tmp_path / "cache"
        with LocalAthena.from_glue(cache, CONFIG, glue=glue, s3=s3) as engine:
            assert engine.execute("SELECT order_id FROM curated.orders").rows == [(1,)]
            append_rows(table, [order(2, "5.00", 6)])
            upload()
            assert engine.execute("SELECT count(*) FROM curated.orders").rows == [(1,)]  # cached until refresh
            engine.refresh()
            assert engine.execute("SELECT count(*) FROM curated.orders").rows == [(2,)]
            assert engine.execute(f"SELECT count(*) FROM curated.orders FOR VERSION AS OF {first}").rows == [(1,)]
    metadata = table.metadata_location.removeprefix("s3://")
    assert (cache / "s3" / metadata).is_file()  # fetched once into the lake layout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_moto_server_run_then_offline_query(tmp_path: Path, aws_env: None) -> None:
    """A local run's shape: pyiceberg's GlueCatalog and S3 FileIO against the moto server (as Spark's Iceberg does),
    the engine on boto3 clients of that server, then `dataplatform query`'s view of the dumped lake dir."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        glue = boto3.client("glue", endpoint_url=endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET)
        table = create_table(server_catalog(endpoint), DB, "orders", COLUMNS, f"s3://{BUCKET}/curated/orders")
        first = append_rows(table, [order(1, "10.00", 5), order(2, "3.50", 6)])
        table.manage_snapshots().create_branch(first, "run_r1").commit()
        staged = append_rows(table, [order(3, "8.00", 7)], branch="run_r1")
        with LocalAthena.from_glue(tmp_path / "run-cache", CONFIG, glue=glue, s3=s3) as engine:
            staged_view = "CREATE OR REPLACE VIEW staged_curated.orders AS SELECT * FROM curated.orders"
            engine.execute(f"{staged_view} FOR VERSION AS OF {staged}")
            assert engine.execute("SELECT count(*) FROM staged_curated.orders").rows == [(3,)]
            assert engine.execute("SELECT count(*) FROM curated.orders").rows == [(2,)]
        lake = tmp_path / "lake"
        export_lake_dir(lake, databases=[DB, "retail_staged_curated"], buckets=[BUCKET], glue=glue, s3=s3)
    finally:
        server.stop()
    with LocalAthena.from_lake_dir(lake, CONFIG) as offline:
        assert offline.skipped == {}
        assert offline.execute("SELECT count(*) FROM staged_curated.orders").rows == [(3,)]
        refs = offline.execute("SELECT snapshot_id FROM curated.\"orders$refs\" WHERE name = 'run_r1'").rows
    assert refs == [(staged,)]
