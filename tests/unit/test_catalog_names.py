"""The Glue job must write to the database the stack creates, whatever the project name."""

from __future__ import annotations

from pathlib import Path

from dataplatform.catalog import curated_database
from dataplatform.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_curated_database_matches_the_stack_for_a_hyphenated_project() -> None:
    config = load_config(ROOT / "pipeline.yaml", env={}).model_copy(update={"project": "my-shop"})
    assert curated_database(config) == config.glue_database("curated") == "my_shop_curated"
