"""Local-only inputs of a user's pipeline: CSV files in a directory on this machine, and secrets from the
environment or the local secrets file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dataplatform.config import ConfigError, load_config
from dataplatform.ingest.csv_source import list_landing, open_landing
from dataplatform.layout import Lake
from dataplatform.local.local_secrets import LocalSecretError, resolve_secrets, secret_env_var

PIPELINE = textwrap.dedent(
    """\
    project: my-shop
    schedule: {cron: "0 4 * * ? *"}
    datasets:
      orders:
        source: {kind: csv, location: ./exports/, pattern: "orders-*.csv"}
        contract:
          key: [order_id]
          partition_column: order_date
          columns:
            - {name: order_id, type: string, nullable: false}
            - {name: order_date, type: date, nullable: false}
      crm:
        source: {kind: rest, base_url: "https://crm.example.com", auth: {type: bearer, secret: shop/crm-api}}
        contract:
          key: [id]
          partition_column: day
          columns:
            - {name: id, type: string, nullable: false}
            - {name: day, type: date, nullable: false}
    """
)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    folder = tmp_path / "my-shop"
    (folder / "exports").mkdir(parents=True)
    (folder / "exports" / "orders-1.csv").write_text("order_id,order_date\nO1,2024-01-01\n")
    (folder / "exports" / "notes.txt").write_text("not an export")
    path = folder / "pipeline.yaml"
    path.write_text(PIPELINE)
    return path


def test_local_directory_is_relative_to_the_config_file_and_listed_by_pattern(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # anywhere but the config's folder
    source = load_config(config_file).datasets["orders"].source
    assert source.location == f"{config_file.parent / 'exports'}/"
    (landing,) = list_landing(None, source, Lake("raw", "curated"), None)  # type: ignore[arg-type]
    assert landing.source.endswith("/exports/orders-1.csv") and landing.source.startswith("file://")
    chunks, close = open_landing(None, landing, None)  # type: ignore[arg-type]
    assert b"".join(chunks) == b"order_id,order_date\nO1,2024-01-01\n"
    close()


def test_cdk_synth_refuses_a_local_directory(config_file: Path) -> None:
    from infra.app_builder import build_app

    with pytest.raises(ConfigError, match=r"datasets\.orders\.source\.location: .* local directory"):
        build_app({"aws:cdk:bundling-stacks": []}, validation=False, config_file=config_file)


def test_secret_from_the_environment_wins_over_the_file(config_file: Path) -> None:
    config = load_config(config_file)
    secrets_file = config_file.parent / ".local-secrets.yaml"
    secrets_file.write_text("shop/crm-api: {token: from-file}\n")
    assert json.loads(resolve_secrets(config, secrets_file, env={})["shop/crm-api"]) == {"token": "from-file"}
    env = {secret_env_var("shop/crm-api"): '{"token": "from-env"}'}
    assert json.loads(resolve_secrets(config, secrets_file, env=env)["shop/crm-api"]) == {"token": "from-env"}


def test_malformed_local_secret_names_the_secret(config_file: Path) -> None:
    config = load_config(config_file)
    with pytest.raises(LocalSecretError, match=r"DATAPLATFORM_SECRET_SHOP_CRM_API.*shop/crm-api"):
        resolve_secrets(config, config_file.parent / "none.yaml", env={"DATAPLATFORM_SECRET_SHOP_CRM_API": "{oops"})
    (config_file.parent / "s.yaml").write_text("shop/crm-api: just-a-string\n")
    with pytest.raises(LocalSecretError, match=r"shop/crm-api.*mapping"):
        resolve_secrets(config, config_file.parent / "s.yaml", env={})
