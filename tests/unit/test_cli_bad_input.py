"""Bad input to the local commands: one clear line naming the file, dataset or secret, a non-zero exit, and
nothing written to the lake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataplatform.cli import app

CSV_PIPELINE = textwrap.dedent(
    """\
    project: my-shop
    schedule: {cron: "0 4 * * ? *"}
    datasets:
      orders:
        source: {kind: csv, location: landing/orders/}
        contract:
          key: [order_id]
          partition_column: order_date
          columns:
            - {name: order_id, type: string, nullable: false}
            - {name: order_date, type: date, nullable: false}
      rates:
        source:
          kind: rest
          base_url: https://rates.example.com
          auth: {type: bearer, secret: shop/rates-api}
        contract:
          key: [code]
          partition_column: day
          columns:
            - {name: code, type: string, nullable: false}
            - {name: day, type: date, nullable: false}
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pipeline.yaml").write_text(CSV_PIPELINE)
    (tmp_path / "orders.csv").write_text("order_id,order_date\nO1,2024-01-01\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATAPLATFORM_LAKE_DIR", raising=False)
    for name in [k for k in __import__("os").environ if k.startswith("DATAPLATFORM_SECRET_")]:
        monkeypatch.delenv(name)
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def assert_one_line_and_no_lake(project: Path, code: int, output: str, *expected: str) -> None:
    assert code != 0
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in output
    assert not (project / ".local-lake").exists()


def test_config_path_that_does_not_exist(project: Path) -> None:
    code, output = invoke("run", "--local", "--config", "nowhere/pipeline.yaml")
    assert_one_line_and_no_lake(project, code, output, "nowhere/pipeline.yaml", "not found")


def test_secret_not_set_locally_names_it_and_where_to_put_it(project: Path) -> None:
    code, output = invoke("run", "--local")
    assert_one_line_and_no_lake(
        project, code, output, "shop/rates-api", ".local-secrets.yaml", "DATAPLATFORM_SECRET_SHOP_RATES_API"
    )


def test_land_into_an_unknown_dataset(project: Path) -> None:
    code, output = invoke("land", "customers", "orders.csv")
    assert_one_line_and_no_lake(project, code, output, "customers", "orders")


def test_land_into_a_dataset_that_is_not_csv(project: Path) -> None:
    code, output = invoke("land", "rates", "orders.csv")
    assert_one_line_and_no_lake(project, code, output, "rates", "rest")


def test_land_a_missing_file(project: Path) -> None:
    code, output = invoke("land", "orders", "missing.csv")
    assert_one_line_and_no_lake(project, code, output, "missing.csv", "no such file")


def test_land_a_directory(project: Path) -> None:
    (project / "exports").mkdir()
    code, output = invoke("land", "orders", "exports")
    assert_one_line_and_no_lake(project, code, output, "exports", "directory")


def test_unknown_dataset_in_the_selection(project: Path) -> None:
    code, output = invoke("run", "--local", "--datasets", "orders,refunds")
    assert_one_line_and_no_lake(project, code, output, "refunds")


def test_window_whose_end_precedes_its_start(project: Path) -> None:
    code, output = invoke("run", "--local", "--window", "2024-02-01:2024-01-01")
    assert_one_line_and_no_lake(project, code, output, "2024-02-01", "after its end")


def test_validate_names_the_sql_file_reading_an_undefined_dataset(project: Path) -> None:
    marts = project / "sql" / "marts"
    marts.mkdir(parents=True)
    (marts / "refunds_daily.sql").write_text(
        "CREATE OR REPLACE VIEW marts.refunds_daily AS SELECT day, count(*) AS n FROM curated.refunds GROUP BY day\n"
    )
    code, output = invoke("validate")
    assert code != 0
    assert "refunds_daily.sql" in output and "curated.refunds" in output


def test_validate_accepts_a_pipeline_without_marts(project: Path) -> None:
    code, output = invoke("validate")
    assert code == 0, output
    assert "0 SQL files" in output
