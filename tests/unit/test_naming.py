"""Each naming rule in one function, and its inverse: what infra builds, the local tooling maps back."""

from __future__ import annotations

from datetime import date

import pytest

from dataplatform import naming
from dataplatform.layout import Lake, LakeKeys, landing_prefix


@pytest.mark.parametrize("folder", ["resolve_run", "ingest_csv", "write_audit"])
def test_function_names_map_back_to_their_folder(folder: str) -> None:
    name = naming.function_name("my-shop", folder)
    assert name == f"my-shop-{folder.replace('_', '-')}"
    assert naming.function_folder("my-shop", name) == folder


def test_names_of_other_projects_and_helpers_map_to_nothing() -> None:
    assert naming.function_folder("shop", "other-resolve-run") is None
    assert naming.function_folder("shop", "shop-") is None
    assert naming.function_folder("shop", "BucketNotificationsHandler") is None
    assert naming.job_dataset("shop", "shop-standardize-") is None
    assert naming.job_dataset("shop", "shop-ingest-sales") is None


def test_job_names_map_back_to_their_dataset() -> None:
    assert naming.standardize_job_name("my-shop", "exchange_rates") == "my-shop-standardize-exchange_rates"
    assert naming.job_dataset("my-shop", "my-shop-standardize-exchange_rates") == "exchange_rates"
    # The same rule makes the IAM pattern and the Step Functions format string.
    assert naming.standardize_job_name("my-shop", "*") == "my-shop-standardize-*"


def test_ingest_folders_map_to_their_kind() -> None:
    assert naming.ingest_folder("postgres") == "ingest_postgres"
    assert naming.ingest_kind("ingest_postgres") == "postgres"
    assert naming.ingest_kind("commit_state") is None


def test_database_names_replace_hyphens() -> None:
    assert naming.database_names("my-shop") == {
        "curated": "my_shop_curated",
        "marts": "my_shop_marts",
        "audit": "my_shop_audit",
    }


def test_iceberg_names_of_a_run_and_its_audit() -> None:
    assert naming.publish_job_name("my-shop") == "my-shop-publish"
    assert naming.job_dataset("my-shop", naming.publish_job_name("my-shop")) is None  # never a dataset's job
    assert naming.quarantine_table("sales") == "sales_quarantine"
    assert naming.run_branch("20240101-20240131-ab12cd34ef") == "run_20240101_20240131_ab12cd34ef"
    assert naming.run_branch("Backfill.2024:Q1") == "run_backfill_2024_q1"  # a plain SQL identifier
    assert naming.staged_database_names("my-shop") == {
        "curated": "my_shop_staged_curated",
        "marts": "my_shop_staged_marts",
        "audit": "my_shop_audit",
    }
    assert naming.maintenance_state_machine_name("my-shop") == "my-shop-maintenance"


def test_lake_prefixes_and_keys_share_one_builder() -> None:
    lake = Lake(raw_bucket="raw-b", curated_bucket="cur-b")
    day = date(2024, 3, 1)
    assert isinstance(lake, LakeKeys)
    assert lake.manifest_key("sales", day, "r1").startswith(lake.raw_prefix("sales"))
    assert lake.raw_prefix("sales").startswith(lake.raw_prefix())
    assert lake.quarantine_prefix("sales").startswith(lake.quarantine_prefix())
    assert lake.quarantine_prefix().startswith(lake.curated_prefix())
    assert lake.curated_uri() == "s3://cur-b/curated/"
    assert lake.quarantine_uri() == "s3://cur-b/curated/_quarantine/"
    assert lake.quarantine_uri("sales") == "s3://cur-b/curated/_quarantine/sales/"
    assert lake.run_step_key("r1", "sales", "ingest").startswith(lake.run_dataset_prefix("r1", "sales"))
    assert lake.any_run_prefix("sales") == "runs/*/sales/"
    assert lake.processed_prefix("sales").startswith(lake.state_prefix())
    assert lake.audit_key(day, "r1", "sales").startswith(lake.audit_prefix())
    with pytest.raises(ValueError, match="run_id"):
        lake.run_dataset_prefix("*", "sales")  # the IAM wildcard is never a run id


def test_landing_locations_are_prefixes_ending_in_a_slash() -> None:
    assert landing_prefix("landing/sales") == "landing/sales/"
    assert landing_prefix("landing/sales/") == "landing/sales/"
    assert landing_prefix("s3://bucket/landing/sales/") is None
    assert landing_prefix("https://example.com/landing/x.csv") is None
