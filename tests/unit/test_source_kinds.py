"""The source-kind registry is the one place a kind is declared: everything that differs per kind reads it."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from dataplatform.config import SOURCE_KINDS, ConfigError, CsvSource, PostgresSource, RestSource, parse_config
from dataplatform.config.models import Dataset
from dataplatform.config.sources import SourceAccess, source_kind
from dataplatform.ingest.landing_files import landing_location
from dataplatform.layout import Lake

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", list(SOURCE_KINDS))
def test_every_kind_has_its_model_extractor_and_lambda_folder(kind: str) -> None:
    entry = SOURCE_KINDS[kind]
    assert typing.get_args(entry.model.model_fields["kind"].annotation) == (kind,)
    assert callable(entry.load_extractor().for_dataset)
    folder = ROOT / "lambdas" / entry.lambda_folder
    assert (folder / "handler.py").is_file() and (folder / "requirements.txt").is_file()
    assert f'kind="{kind}"' in (folder / "handler.py").read_text()
    assert entry.memory_mb >= 128 and entry.ephemeral_storage_mb >= 512


def test_the_dataset_model_accepts_exactly_the_registered_kinds() -> None:
    annotation = Dataset.model_fields["source"].annotation
    assert set(typing.get_args(annotation)) == {k.model for k in SOURCE_KINDS.values()}


def test_an_unknown_kind_is_named_with_the_registered_ones() -> None:
    text = (ROOT / "pipeline.yaml").read_text().replace("kind: csv", "kind: ftp")
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert f"unknown source kind 'ftp'; expected one of: {', '.join(SOURCE_KINDS)}" in str(info.value)
    with pytest.raises(ValueError, match="unknown source kind 'ftp'; expected one of: csv, rest, postgres"):
        source_kind("ftp")


def test_each_source_says_what_it_reads() -> None:
    landing = CsvSource(kind="csv", location="landing/sales")
    assert landing.access() == SourceAccess(landing_prefix="landing/sales/")
    external = CsvSource(kind="csv", location="s3://partner/drop/")
    assert external.access() == SourceAccess(external_s3=("partner", "drop/"))
    assert CsvSource(kind="csv", location="https://example.com/a.csv").access() == SourceAccess()
    rest = RestSource(kind="rest", base_url="https://api.example.com", auth={"type": "bearer", "secret": "s/api"})
    assert rest.access() == SourceAccess(secrets=("s/api",))
    assert RestSource(kind="rest", base_url="https://api.example.com").access() == SourceAccess()
    postgres = PostgresSource(kind="postgres", connection_secret="s/db", table="t", vpc=True)
    assert postgres.access() == SourceAccess(secrets=("s/db",), vpc=True)


def test_csv_lists_the_same_landing_prefix_its_role_is_granted() -> None:
    """Listing `landing/sales` (no '/') would also match `landing/sales-old/` and is not what IAM allows."""
    lake = Lake(raw_bucket="raw", curated_bucket="curated")
    assert landing_location(CsvSource(kind="csv", location="landing/sales"), lake) == ("raw", "landing/sales/")
    assert landing_location(CsvSource(kind="csv", location="s3://b/p/"), lake) == ("b", "p/")
